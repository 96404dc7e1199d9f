// Package servertest runs a real softphone server for the tests of other
// packages (engine, UI, scenarios, end to end) and lets a test cut an
// engine's connections like a network failure would.
package servertest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/server"
)

// Start runs a server on 127.0.0.1:0 with embedded NATS/JetStream in a
// temporary directory (no TURN relay unless mod sets one); mod may change
// the config first.
// The server closes when the test ends.
func Start(t testing.TB, mod func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		Listen:         "127.0.0.1:0",
		DataDir:        t.TempDir(),
		ReconnectGrace: 10 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("server close: %v", err)
		}
	})
	return srv
}

// Users creates the accounts (nickname = account) and returns their tokens.
func Users(t testing.TB, srv *server.Server, accounts ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	toks := make(map[string]string, len(accounts))
	for _, a := range accounts {
		tok, err := srv.CreateUser(ctx, a, a)
		if err != nil {
			t.Fatalf("create user %s: %v", a, err)
		}
		toks[a] = tok
	}
	return toks
}

// Cutter is a DialContext hook (call.Config.DialContext) that remembers the
// TCP connections an engine opened, so a test can sever them — a real
// network failure, seen by both ends — and hold back redials for a while.
type Cutter struct {
	mu      sync.Mutex
	conns   []net.Conn
	blocked bool
}

// Dial opens a TCP connection unless the cutter blocks new ones.
func (c *Cutter) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	blocked := c.blocked
	c.mu.Unlock()
	if blocked {
		return nil, fmt.Errorf("dial %s: network blocked by the test", addr)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.conns = append(c.conns, nc)
	c.mu.Unlock()
	return nc, nil
}

// Cut closes every connection; block keeps new dials failing until the
// next Cut(false).
func (c *Cutter) Cut(block bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked = block
	for _, nc := range c.conns {
		_ = nc.Close()
	}
	c.conns = nil
}

// Unblock lets new dials through again without closing anything.
func (c *Cutter) Unblock() {
	c.mu.Lock()
	c.blocked = false
	c.mu.Unlock()
}
