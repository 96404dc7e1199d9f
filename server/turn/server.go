// Package turn is the TURN relay embedded in `softphone serve` (pion/turn
// over UDP) and the TURN REST credentials the gateway hands each device at
// login.
package turn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/turn/v5"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/pionslog"
)

// Realm is the TURN realm of the embedded relay.
const Realm = "softphone"

// Config configures the relay.
type Config struct {
	// Listen is the UDP host:port of the relay; port 0 picks one.
	Listen string
	// PublicIP is the address clients reach the relay at and the relayed
	// addresses it hands out; default the Listen IP, required when Listen
	// is an unspecified address (0.0.0.0, ::).
	PublicIP string
	// Credentials check the clients' TURN REST credentials (required).
	Credentials *Credentials
	// Logger gets pion's lines (one level down); default discard.
	Logger *slog.Logger
}

// Server is a running relay.
type Server struct {
	srv   *turn.Server
	addr  *net.UDPAddr // as advertised: PublicIP and the bound port
	creds *Credentials
}

// Disabled reports whether a listen setting turns the relay off.
func Disabled(listen string) bool {
	return listen == "" || strings.EqualFold(listen, "off")
}

// Start binds the UDP listener and starts relaying.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("turn: no credentials")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("turn: listen %q: %w", cfg.Listen, err)
	}
	bindIP := net.ParseIP(host)
	if bindIP == nil {
		return nil, fmt.Errorf("turn: listen %q: the host must be an IP address", cfg.Listen)
	}
	publicIP := bindIP
	if cfg.PublicIP != "" {
		if publicIP = net.ParseIP(cfg.PublicIP); publicIP == nil || publicIP.IsUnspecified() {
			return nil, fmt.Errorf("turn: public IP %q is not a usable IP address", cfg.PublicIP)
		}
	} else if bindIP.IsUnspecified() {
		return nil, fmt.Errorf("turn: listening on %s needs a public IP to hand out as the relay address", cfg.Listen)
	}
	network := "udp4"
	if bindIP.To4() == nil {
		network = "udp6"
	}
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, network, cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         Realm,
		AuthHandler:   cfg.Credentials.authHandler(),
		LoggerFactory: pionslog.Factory{Log: cfg.Logger, ErrorLevel: slog.LevelDebug},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: publicIP,
				Address:      bindIP.String(),
			},
			PermissionHandler: peerPermission(publicIP),
		}},
	})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("turn: %w", err)
	}
	return &Server{srv: srv, addr: &net.UDPAddr{IP: publicIP, Port: port}, creds: cfg.Credentials}, nil
}

// Addr is the relay's advertised UDP address.
func (s *Server) Addr() *net.UDPAddr { return s.addr }

// URL is the relay's TURN URI.
func (s *Server) URL() string {
	return "turn:" + net.JoinHostPort(s.addr.IP.String(), strconv.Itoa(s.addr.Port)) + "?transport=udp"
}

// ICEServers issues account fresh credentials for this relay. It is what
// the gateway puts in a login reply.
func (s *Server) ICEServers(account string) ([]protocol.ICEServer, time.Time) {
	user, pass, exp := s.creds.Issue(account)
	return []protocol.ICEServer{{URLs: []string{s.URL()}, Username: user, Credential: pass}}, exp
}

// Allocations is the number of live allocations.
func (s *Server) Allocations() int { return s.srv.AllocationCount() }

// Close stops the relay: every allocation and the listener.
func (s *Server) Close() error {
	return s.srv.Close()
}
