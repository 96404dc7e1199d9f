package call_test

// An external test package: its tests need a real server, and package
// server imports call (for its bots).

import (
	"context"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/server"
)

// testLogin creates account on srv and logs a new engine in with cfg (its
// Server is set here); the engine closes when the test ends. It returns the
// engine and the account's token.
func testLogin(ctx context.Context, t *testing.T, srv *server.Server, account string, cfg call.Config) (*call.Engine, string) {
	t.Helper()
	tok, err := srv.CreateUser(ctx, account, account)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server = srv.URL()
	e := call.New(cfg)
	t.Cleanup(func() { _ = e.Close() })
	if err := e.Login(ctx, account, tok); err != nil {
		t.Fatal(err)
	}
	return e, tok
}

// waitEvent waits up to 10 s for the engine's next event called name,
// skipping others.
func waitEvent(t *testing.T, e *call.Engine, name string) call.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e.Events():
			if ev.Name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("%s: no %s event", e.Account(), name)
		}
	}
}
