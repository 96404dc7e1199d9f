// Package turn is the TURN relay embedded in `softphone serve` (pion/turn
// over UDP, TCP and TLS) and the TURN REST credentials the gateway hands
// each device at login.
package turn

import (
	"context"
	"crypto/tls"
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

// Config configures the relay. At least one of Listen, TCPListen and
// TLSListen is set.
type Config struct {
	// Listen is the UDP host:port of the relay ("" none); port 0 picks one.
	Listen string
	// TCPListen is the host:port of TURN over TCP (RFC 6062 transport to
	// the relay; relayed traffic stays UDP): for clients whose network
	// blocks UDP. "" none.
	TCPListen string
	// TLSListen is the host:port of TURN over TLS (turns:), e.g. on 443
	// where only HTTPS gets through. It needs TLS. "" none.
	TLSListen string
	// TLS holds the certificate of the TLS listener.
	TLS *tls.Config
	// PublicIP is the address clients reach the relay at and the relayed
	// addresses it hands out; default the IP of the first listener,
	// required when that is an unspecified address (0.0.0.0, ::).
	PublicIP string
	// Host is the host in turns: URLs, which the certificate must cover;
	// default PublicIP.
	Host string
	// Credentials check the clients' TURN REST credentials (required).
	Credentials *Credentials
	// Epochs, when set, revokes credentials of accounts whose token was
	// reset or that were removed (see authHandler).
	Epochs Epochs
	// Logger gets pion's lines (one level down); default discard.
	Logger *slog.Logger
}

// Limits of the stream listeners (TCP, TLS): a connection costs a goroutine
// and buffers, so their number is bounded, and one that sends nothing for
// streamIdle (longer than a client's refresh interval) is closed.
const (
	maxStreamConns = 4096
	streamIdle     = 6 * time.Minute
)

// Server is a running relay.
type Server struct {
	srv   *turn.Server
	addr  *net.UDPAddr // the UDP listener as advertised; nil without one
	urls  []string
	creds *Credentials
}

// Disabled reports whether a listen setting turns a listener off.
func Disabled(listen string) bool {
	return listen == "" || strings.EqualFold(listen, "off")
}

// listenSpec is one configured listener.
type listenSpec struct {
	scheme, transport, addr string
	ip                      net.IP
}

// Start binds the listeners and starts relaying.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Credentials == nil {
		return nil, errors.New("turn: no credentials")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var specs []listenSpec
	for _, l := range []listenSpec{
		{scheme: "turn", transport: "udp", addr: cfg.Listen},
		{scheme: "turn", transport: "tcp", addr: cfg.TCPListen},
		{scheme: "turns", transport: "tcp", addr: cfg.TLSListen},
	} {
		if Disabled(l.addr) {
			continue
		}
		host, _, err := net.SplitHostPort(l.addr)
		if err != nil {
			return nil, fmt.Errorf("turn: listen %q: %w", l.addr, err)
		}
		if l.ip = net.ParseIP(host); l.ip == nil {
			return nil, fmt.Errorf("turn: listen %q: the host must be an IP address", l.addr)
		}
		specs = append(specs, l)
	}
	if len(specs) == 0 {
		return nil, errors.New("turn: no listener configured")
	}
	if !Disabled(cfg.TLSListen) && (cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil) {
		return nil, errors.New("turn: TURN over TLS needs a certificate (serve --tls-cert and --tls-key)")
	}
	publicIP := specs[0].ip
	if cfg.PublicIP != "" {
		if publicIP = net.ParseIP(cfg.PublicIP); publicIP == nil || publicIP.IsUnspecified() {
			return nil, fmt.Errorf("turn: public IP %q is not a usable IP address", cfg.PublicIP)
		}
	} else if publicIP.IsUnspecified() {
		return nil, fmt.Errorf("turn: listening on %s needs a public IP to hand out as the relay address", specs[0].addr)
	}
	host := cfg.Host
	if host == "" {
		host = publicIP.String()
	}

	s := &Server{creds: cfg.Credentials}
	var (
		packetConfigs []turn.PacketConnConfig
		listenConfigs []turn.ListenerConfig
		closers       []func() error
	)
	defer func() {
		if err != nil {
			for _, c := range closers {
				_ = c()
			}
		}
	}()
	var lc net.ListenConfig
	for _, l := range specs {
		gen := &turn.RelayAddressGeneratorStatic{RelayAddress: publicIP, Address: l.ip.String()}
		perm := peerPermission(publicIP)
		var port int
		if l.transport == "udp" {
			conn, err := lc.ListenPacket(ctx, network("udp", l.ip), l.addr)
			if err != nil {
				return nil, fmt.Errorf("turn: %w", err)
			}
			closers = append(closers, conn.Close)
			port = conn.LocalAddr().(*net.UDPAddr).Port
			s.addr = &net.UDPAddr{IP: publicIP, Port: port}
			packetConfigs = append(packetConfigs, turn.PacketConnConfig{PacketConn: conn, RelayAddressGenerator: gen, PermissionHandler: perm})
		} else {
			raw, err := lc.Listen(ctx, network("tcp", l.ip), l.addr)
			if err != nil {
				return nil, fmt.Errorf("turn: %w", err)
			}
			port = raw.Addr().(*net.TCPAddr).Port
			var tc *tls.Config
			if l.scheme == "turns" {
				tc = cfg.TLS.Clone()
				tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
			}
			ln := newStreamListener(raw, tc, maxStreamConns, streamIdle)
			closers = append(closers, ln.Close)
			listenConfigs = append(listenConfigs, turn.ListenerConfig{Listener: ln, RelayAddressGenerator: gen, PermissionHandler: perm})
		}
		h := publicIP.String()
		if l.scheme == "turns" {
			h = host
		}
		s.urls = append(s.urls, l.scheme+":"+net.JoinHostPort(h, strconv.Itoa(port))+"?transport="+l.transport)
	}
	q := newQuota(MaxAllocationsPerAccount)
	s.srv, err = turn.NewServer(turn.ServerConfig{
		Realm:             Realm,
		AuthHandler:       cfg.Credentials.authHandler(cfg.Epochs),
		QuotaHandler:      q.admit,
		EventHandler:      q.events(),
		LoggerFactory:     pionslog.Factory{Log: cfg.Logger, ErrorLevel: slog.LevelDebug},
		PacketConnConfigs: packetConfigs,
		ListenerConfigs:   listenConfigs,
	})
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

// network is "udp4"/"tcp4" or "udp6"/"tcp6" for ip.
func network(base string, ip net.IP) string {
	if ip.To4() == nil {
		return base + "6"
	}
	return base + "4"
}

// Addr is the relay's advertised UDP address (nil without a UDP listener).
func (s *Server) Addr() *net.UDPAddr { return s.addr }

// URL is the relay's first TURN URI (UDP when it listens on UDP).
func (s *Server) URL() string { return s.urls[0] }

// URLs are the relay's TURN URIs: UDP, TCP, TLS, as configured.
func (s *Server) URLs() []string { return append([]string(nil), s.urls...) }

// ICEServers issues account (at epoch, see auth.Epoch) fresh credentials
// for this relay. It is what the gateway puts in a login reply.
func (s *Server) ICEServers(account, epoch string) ([]protocol.ICEServer, time.Time) {
	user, pass, exp := s.creds.Issue(account, epoch)
	return []protocol.ICEServer{{URLs: s.URLs(), Username: user, Credential: pass}}, exp
}

// Allocations is the number of live allocations.
func (s *Server) Allocations() int { return s.srv.AllocationCount() }

// Close stops the relay: every allocation and the listeners.
func (s *Server) Close() error {
	return s.srv.Close()
}
