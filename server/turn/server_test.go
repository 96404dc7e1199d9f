package turn

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
)

func startRelay(t *testing.T, creds *Credentials) *Server {
	t.Helper()
	s, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", Credentials: creds})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close relay: %v", err)
		}
	})
	return s
}

// allocate runs a real pion/turn client against the relay's UDP listener
// and returns the relayed connection, or the allocation's error.
func allocate(t *testing.T, s *Server, user, pass string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return allocateOn(t, conn, s.Addr().String(), user, pass)
}

// allocateOn allocates over conn (UDP, or a stream wrapped in a STUNConn)
// to the relay at addr; conn is closed with the test.
func allocateOn(t *testing.T, conn net.PacketConn, addr, user, pass string) (net.PacketConn, error) {
	t.Helper()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Username: user, Password: pass, Realm: Realm,
		Conn: conn, LoggerFactory: quietLogs{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c.Allocate()
}

func TestRelayAllocation(t *testing.T) {
	creds := NewCredentials("app-secret", 0)
	s := startRelay(t, creds)
	if got, want := s.URL(), "turn:127.0.0.1:"+strconv.Itoa(s.Addr().Port)+"?transport=udp"; got != want {
		t.Fatalf("URL %q, want %q", got, want)
	}
	servers, exp := s.ICEServers("alice", "E1")
	if len(servers) != 1 || servers[0].URLs[0] != s.URL() || time.Until(exp) <= 0 {
		t.Fatalf("ICEServers = %v, %v", servers, exp)
	}

	t.Run("valid", func(t *testing.T) {
		relay, err := allocate(t, s, servers[0].Username, servers[0].Credential)
		if err != nil {
			t.Fatalf("allocation with valid credentials: %v", err)
		}
		defer func() { _ = relay.Close() }()
		ra := relay.LocalAddr().(*net.UDPAddr)
		if !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Fatalf("relayed address %v, want the listener IP", ra)
		}
		// Data really flows through the relay, both ways.
		peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = peer.Close() }()
		if _, err := relay.WriteTo([]byte("ping"), peer.LocalAddr()); err != nil {
			t.Fatalf("write through relay: %v", err)
		}
		buf := make([]byte, 64)
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := peer.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" || from.String() != ra.String() {
			t.Fatalf("peer read %q from %v (err %v), want ping from %v", buf[:n], from, err, ra)
		}
		if _, err := peer.WriteTo([]byte("pong"), from); err != nil {
			t.Fatal(err)
		}
		_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err = relay.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "pong" {
			t.Fatalf("relay read %q (err %v), want pong", buf[:n], err)
		}
		if s.Allocations() != 1 {
			t.Fatalf("%d allocations, want 1", s.Allocations())
		}
	})

	expired := "1000000000:alice:E1" // 2001
	for name, cred := range map[string][2]string{
		"expired":         {expired, creds.password(expired)},
		"forged password": {servers[0].Username, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		"other account":   {"9999999999:mallory:E1", servers[0].Credential},
		"other secret":    {servers[0].Username, NewCredentials("other", 0).password(servers[0].Username)},
		"malformed":       {"alice", servers[0].Credential},
	} {
		t.Run(name, func(t *testing.T) {
			relay, err := allocate(t, s, cred[0], cred[1])
			if err == nil {
				_ = relay.Close()
				t.Fatal("allocation succeeded")
			}
			if !strings.Contains(err.Error(), "401") {
				t.Fatalf("refused for another reason than 401 Unauthorized: %v", err)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	creds := NewCredentials("x", 0)
	for _, cfg := range []Config{
		{Listen: "127.0.0.1:0"},
		{Listen: "localhost:0", Credentials: creds},
		{Listen: "0.0.0.0:0", Credentials: creds},
		{Listen: "127.0.0.1:0", PublicIP: "0.0.0.0", Credentials: creds},
		{Listen: "nonsense", Credentials: creds},
	} {
		if s, err := Start(context.Background(), cfg); err == nil {
			_ = s.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
	s, err := Start(context.Background(), Config{Listen: "0.0.0.0:0", PublicIP: "127.0.0.1", Credentials: creds})
	if err != nil {
		t.Fatalf("unspecified listener with a public IP: %v", err)
	}
	if !s.Addr().IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("advertised %v, want the public IP", s.Addr())
	}
	_ = s.Close()
}

func TestDisabled(t *testing.T) {
	for in, want := range map[string]bool{"": true, "off": true, "OFF": true, "127.0.0.1:3478": false} {
		if Disabled(in) != want {
			t.Errorf("Disabled(%q) = %v", in, !want)
		}
	}
}

// quietLogs keeps the client's expected refusals out of the test output.
type quietLogs struct{}

func (quietLogs) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, nil)
}
