package gateway

import (
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/call/protocol"
)

// duringLogin installs a hook that runs fn (when set) at the moment a login
// has made its session reachable by routing but has not queued its reply:
// the window in which a dispatcher can deliver an event to the session.
func duringLogin(fn *atomic.Pointer[func(s *session)]) func(g *Gateway) {
	return func(g *Gateway) {
		g.hooks.routed = func(s *session) {
			if f := fn.Load(); f != nil {
				(*f)(s)
			}
		}
	}
}

// TestLoginReplyComesFirst delivers events to a session while its login is
// in progress, exactly as a dispatcher would, and checks that the login
// reply is still the first frame, followed by the offline invite and then
// the events, none lost and none doubled.
func TestLoginReplyComesFirst(t *testing.T) {
	var during atomic.Pointer[func(s *session)]
	tg := startGateway(t, duringLogin(&during))
	tg.user("alice")
	tg.user("bob")
	a := dialRaw(t, tg.url, nil)
	a.login("alice", "a1")
	var cr protocol.CallReply
	if err := json.Unmarshal(a.do(protocol.ReqCall, protocol.Call{To: "bob", CallType: protocol.CallAudio}).Data, &cr); err != nil {
		t.Fatal(err)
	}
	// The call's own live INVITED is published once alice's reader is done
	// with the call, which a ping round trip proves; from then on bob's
	// logins find only the offline invite.
	a.quiet()
	dispatch := func(s *session, event string, payload any) {
		b, err := protocol.EncodeEvent(event, payload)
		if err != nil {
			t.Error(err)
			return
		}
		tg.route(&nats.Msg{Subject: subjectPrefix + s.account, Data: b})
	}
	invite := func(c *rawClient) protocol.Invite {
		t.Helper()
		var inv protocol.Invite
		if err := json.Unmarshal(c.event(protocol.EvInvited).Data, &inv); err != nil {
			t.Fatal(err)
		}
		if inv.ChannelID != cr.ChannelID {
			t.Fatalf("INVITED for %s, want %s", inv.ChannelID, cr.ChannelID)
		}
		return inv
	}

	t.Run("event during login", func(t *testing.T) {
		f := func(s *session) {
			dispatch(s, protocol.EvPresence, &protocol.Presence{Account: "carol", Presence: protocol.PresenceOnline})
		}
		during.Store(&f)
		defer during.Store(nil)
		b := dialRaw(t, tg.url, nil)
		b.login("bob", "b1") // checks that the first frame is the reply
		if inv := invite(b); !inv.Offline {
			t.Fatalf("offline invite %+v", inv)
		}
		b.event(protocol.EvPresence)
		b.quiet()
	})
	t.Run("live invite during login", func(t *testing.T) {
		f := func(s *session) {
			dispatch(s, protocol.EvInvited, &protocol.Invite{ChannelID: cr.ChannelID, From: "alice", To: "bob", CallType: protocol.CallAudio})
		}
		during.Store(&f)
		defer during.Store(nil)
		b := dialRaw(t, tg.url, nil)
		b.login("bob", "b2")
		if inv := invite(b); inv.Offline {
			t.Fatalf("got the offline invite, want the live one that arrived during login: %+v", inv)
		}
		b.quiet() // and no second INVITED for the same call
	})
}

// TestFormerIdentityGetsNothing logs a connection out of one account and
// in to another, then delivers an event for the first account to it, as a
// dispatcher holding a snapshot from before the logout would.
func TestFormerIdentityGetsNothing(t *testing.T) {
	tg := startGateway(t, nil)
	tg.user("alice")
	tg.user("bob")
	c := dialRaw(t, tg.url, nil)
	c.login("alice", "d")
	s := tg.session("alice", "d")
	c.do(protocol.ReqLogout, nil)
	c.login("bob", "d")
	b, err := protocol.EncodeEvent(protocol.EvPresence, &protocol.Presence{Account: "x", Presence: protocol.PresenceOnline})
	if err != nil {
		t.Fatal(err)
	}
	s.deliver("alice", "", "", b)
	s.deliver("alice", "d", "", b)
	c.quiet()
	s.deliver("bob", "d", "", b)
	c.event(protocol.EvPresence)
}

// TestPanicGetsAReply makes a login panic: the request still gets exactly
// one reply, the connection stays open and logged out, and a later login
// works.
func TestPanicGetsAReply(t *testing.T) {
	var during atomic.Pointer[func(s *session)]
	tg := startGateway(t, duringLogin(&during))
	tg.user("alice")
	f := func(*session) { panic("test panic") }
	during.Store(&f)
	c := dialRaw(t, tg.url, nil)
	m := c.reply(c.send(protocol.ReqLogin, protocol.Login{Account: "alice", Device: "a1"}))
	if m.Code != protocol.CodeInternal {
		t.Fatalf("reply to a panicking request %+v", m)
	}
	during.Store(nil)
	if m := c.reply(c.send(protocol.ReqContacts, nil)); m.Code != protocol.CodeNotLoggedIn {
		t.Fatalf("after the failed login: %+v", m)
	}
	if n := len(tg.sessionsOf("alice")); n != 0 {
		t.Fatalf("%d sessions routed for alice after the failed login", n)
	}
	c.login("alice", "a1")
	c.quiet()
}
