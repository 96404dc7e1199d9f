package turn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"

	"github.com/softphone/softphone/internal/testcert"
)

// allocateStream allocates over an established stream connection (TCP or
// TLS) with a real pion/turn client.
func allocateStream(t *testing.T, conn net.Conn, user, pass string) (net.PacketConn, error) {
	t.Helper()
	return allocateOn(t, pionturn.NewSTUNConn(conn), conn.RemoteAddr().String(), user, pass)
}

// echoThrough sends a datagram from the relayed connection to a UDP peer
// and back. The datagrams are longer than 4 bytes: pion's stream framing
// holds back a ChannelData frame of 8 bytes or less until more arrive.
func echoThrough(t *testing.T, relay net.PacketConn) {
	t.Helper()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = peer.Close() }()
	if _, err := relay.WriteTo([]byte("ping through the relay"), peer.LocalAddr()); err != nil {
		t.Fatalf("write through relay: %v", err)
	}
	buf := make([]byte, 64)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := peer.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping through the relay" {
		t.Fatalf("peer read %q (err %v), want the ping", buf[:n], err)
	}
	if _, err := peer.WriteTo([]byte("pong through the relay"), from); err != nil {
		t.Fatal(err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err = relay.ReadFrom(buf); err != nil || string(buf[:n]) != "pong through the relay" {
		t.Fatalf("relay read %q (err %v), want the pong", buf[:n], err)
	}
}

// TestRelayOverTCPAndTLS: TURN over TCP and over TLS (turns:) allocate and
// relay like UDP, are advertised in ICEServers, and the TLS listener is
// verified against its certificate.
func TestRelayOverTCPAndTLS(t *testing.T) {
	cert := testcert.New(t, "127.0.0.1", "relay.test")
	creds := NewCredentials("app-secret", 0)
	s, err := Start(context.Background(), Config{
		Listen: "127.0.0.1:0", TCPListen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", Host: "relay.test",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, Credentials: creds,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	urls := s.URLs()
	if len(urls) != 3 || !strings.HasSuffix(urls[0], "?transport=udp") ||
		!strings.HasPrefix(urls[1], "turn:127.0.0.1:") || !strings.HasSuffix(urls[1], "?transport=tcp") ||
		!strings.HasPrefix(urls[2], "turns:relay.test:") || !strings.HasSuffix(urls[2], "?transport=tcp") {
		t.Fatalf("URLs %q: want udp, tcp and turns on the configured host", urls)
	}
	servers, _ := s.ICEServers("alice", "E1")
	if len(servers) != 1 || strings.Join(servers[0].URLs, " ") != strings.Join(urls, " ") {
		t.Fatalf("ICEServers offer %v, want every URL with one credential", servers)
	}
	user, pass := servers[0].Username, servers[0].Credential
	portOf := func(u string) string { return u[strings.LastIndex(u, ":")+1 : strings.Index(u, "?")] }
	tcpAddr, tlsAddr := "127.0.0.1:"+portOf(urls[1]), "127.0.0.1:"+portOf(urls[2])

	t.Run("tcp", func(t *testing.T) {
		conn, err := net.Dial("tcp", tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		relay, err := allocateStream(t, conn, user, pass)
		if err != nil {
			t.Fatalf("allocate over TCP: %v", err)
		}
		defer func() { _ = relay.Close() }()
		echoThrough(t, relay)
	})
	t.Run("tls", func(t *testing.T) {
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: cert.Pool, ServerName: "relay.test"})
		if err != nil {
			t.Fatalf("TLS to the relay: %v", err)
		}
		relay, err := allocateStream(t, conn, user, pass)
		if err != nil {
			t.Fatalf("allocate over TLS: %v", err)
		}
		defer func() { _ = relay.Close() }()
		echoThrough(t, relay)
	})
	t.Run("tls untrusted", func(t *testing.T) {
		_, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "relay.test"})
		var unknown x509.UnknownAuthorityError
		if err == nil || !errors.As(err, &unknown) {
			t.Fatalf("TLS without the CA: %v, want an unknown-authority error", err)
		}
	})
	t.Run("tcp bad credentials", func(t *testing.T) {
		conn, err := net.Dial("tcp", tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if relay, err := allocateStream(t, conn, user, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="); err == nil {
			_ = relay.Close()
			t.Fatal("forged password allocated over TCP")
		}
	})
}

func TestStartStreamErrors(t *testing.T) {
	creds := NewCredentials("x", 0)
	for name, cfg := range map[string]Config{
		"no listener":     {Credentials: creds},
		"tls without TLS": {TLSListen: "127.0.0.1:0", Credentials: creds},
		"tcp on a name":   {TCPListen: "localhost:0", Credentials: creds},
	} {
		if s, err := Start(context.Background(), cfg); err == nil {
			_ = s.Close()
			t.Errorf("%s: Start succeeded", name)
		}
	}
	// TCP alone is a relay too.
	s, err := Start(context.Background(), Config{TCPListen: "127.0.0.1:0", Credentials: creds})
	if err != nil {
		t.Fatalf("TCP only: %v", err)
	}
	if s.Addr() != nil || !strings.HasSuffix(s.URL(), "?transport=tcp") {
		t.Errorf("TCP only: UDP addr %v, URL %q", s.Addr(), s.URL())
	}
	_ = s.Close()
}

// TestStreamListenerBounds: connections beyond the bound are closed at
// once, a failed TLS handshake is closed and frees its slot, and closing
// the listener closes what it handed out.
func TestStreamListenerBounds(t *testing.T) {
	cert := testcert.New(t, "127.0.0.1")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newStreamListener(raw, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, 1, time.Minute)
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	closedByServer := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
	}
	// A handshake that fails is closed, and its slot is free again.
	for range 3 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		if !closedByServer(c) {
			t.Fatal("a failed TLS handshake left the connection open")
		}
		_ = c.Close()
	}
	// The server frees a slot just after it closes the failed connection,
	// which the client may see first: the slot is free again soon, not at
	// the client's EOF (CI once dialled into the gap and was reset).
	var good *tls.Conn
	for deadline := time.Now().Add(2 * time.Second); ; {
		good, err = tls.Dial("tcp", raw.Addr().String(), &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("handshake within the bound: %v", err)
	}
	defer func() { _ = good.Close() }()
	server := <-accepted
	// The bound is reached: the next connection is closed on accept.
	extra, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if !closedByServer(extra) {
		t.Fatal("a connection beyond the bound stayed open")
	}
	_ = extra.Close()
	_ = server // handed to "pion"; closing the listener must close it
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if !closedByServer(good) {
		t.Fatal("closing the listener left a handed-out connection open")
	}
	if _, ok := <-accepted; ok {
		t.Fatal("Accept returned a connection after Close")
	}
}
