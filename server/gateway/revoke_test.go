package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// resetToken gives account a new token hash, as the admin API does.
func (tg *testGateway) resetToken(account string) *store.Account {
	tg.t.Helper()
	a, err := tg.st.UpdateAccount(context.Background(), account, func(a *store.Account) error {
		a.TokenHash = auth.HashToken(auth.NewToken())
		return nil
	})
	if err != nil {
		tg.t.Fatal(err)
	}
	return a
}

// wantSessionEnded reads the SESSION_ENDED notice and then the close frame.
func wantSessionEnded(t *testing.T, c *rawClient, reason string) {
	t.Helper()
	var se protocol.SessionEnded
	if err := json.Unmarshal(c.event(protocol.EvSessionEnded).Data, &se); err != nil || se.Reason != reason {
		t.Fatalf("SESSION_ENDED %+v (%v), want reason %s", se, err, reason)
	}
	_, err := c.tryNext()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("after SESSION_ENDED: %v, want a close frame", err)
	}
}

// TestTokenResetDuringLogin resets the token at the moment a login is
// routed but not answered: the login must not stand, and the device is
// told why, with nothing before the notice.
func TestTokenResetDuringLogin(t *testing.T) {
	var during atomic.Pointer[func(s *session)]
	tg := startGateway(t, duringLogin(&during))
	tg.user("alice")
	reset := func(*session) {
		a := tg.resetToken("alice")
		if err := tg.EndSessions(context.Background(), "alice", a); err != nil {
			t.Error(err)
		}
	}
	during.Store(&reset)
	c := dialRaw(t, tg.url, nil)
	c.send(protocol.ReqLogin, protocol.Login{Account: "alice", Device: "a1"})
	wantSessionEnded(t, c, protocol.EndTokenReset)
	during.Store(nil)
	waitUntil(t, "alice's session is gone", func() bool { return len(tg.sessionsOf("alice")) == 0 })
	d := dialRaw(t, tg.url, nil)
	d.login("alice", "a1") // debug mode: no token needed, the login works again
	d.quiet()
}

// TestEndSessionsBeatsAFullOutbox ends a session whose client stopped
// reading: the notice replaces what was queued, and the connection still
// ends (a write deadline or the close), leaving no session behind.
func TestEndSessionsBeatsAFullOutbox(t *testing.T) {
	tg := startGateway(t, func(g *Gateway) { g.queueFrames = 64 })
	tg.user("alice")
	c := dialRaw(t, tg.url, smallBufferDialer())
	c.login("alice", "a1")
	s := tg.session("alice", "a1")
	big := make([]byte, 4096)
	for i := range big {
		big[i] = 'x'
	}
	frame, _ := protocol.EncodeEvent(protocol.EvRelay, &protocol.RelayEvent{ChannelID: "c", From: "bob", Kind: "offer", Payload: json.RawMessage(`"` + string(big) + `"`)})
	for range 32 {
		s.deliver("alice", "", "", frame)
	}
	s.end(protocol.EndAccountRemoved)
	s.end(protocol.EndTokenReset) // a second end changes nothing
	for {
		m, err := c.tryNext()
		if err != nil {
			t.Fatalf("read: %v before SESSION_ENDED", err)
		}
		if m.Event == protocol.EvSessionEnded {
			var se protocol.SessionEnded
			if err := json.Unmarshal(m.Data, &se); err != nil || se.Reason != protocol.EndAccountRemoved {
				t.Fatalf("SESSION_ENDED %s, want the first reason", m.Data)
			}
			break
		}
	}
	if _, err := c.tryNext(); err == nil {
		t.Fatal("frames after SESSION_ENDED")
	}
	waitUntil(t, "the session is gone", func() bool { return len(tg.sessionsOf("alice")) == 0 })
}
