//go:build probe

package probe

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestForeignChannels: nobody acts on a channel they are not part of.
func TestForeignChannels(t *testing.T) {
	sp := startServe(t, "")
	at := sp.createUser("alice", "")
	bt := sp.createUser("bob", "")
	ct := sp.createUser("carol", "")

	ctrl := map[string]any{"audioMuted": true}
	probeCase(t, "C01", "a third party cannot cancel/accept/reject/hangup/switch/relay a ringing channel", func(t *testing.T) {
		a, b, c := login(t, sp, "alice", at), login(t, sp, "bob", bt), login(t, sp, "carol", ct)
		ch := a.call(t, "bob", nil)
		b.waitEvent("INVITED", 5*time.Second)
		for _, typ := range []string{"cancel", "accept", "reject", "hangup"} {
			if r := c.req(typ, map[string]any{"channelId": ch}); r.Code == 0 {
				t.Errorf("carol %s: accepted", typ)
			}
		}
		if r := c.req("switch", map[string]any{"channelId": ch, "callType": 2}); r.Code == 0 {
			t.Errorf("carol switch accepted")
		}
		if r := c.req("relay", map[string]any{"channelId": ch, "token": "x", "kind": "control", "payload": ctrl}); r.Code == 0 {
			t.Errorf("carol relay accepted")
		}
		// The call is untouched: bob can still accept.
		if r := b.req("accept", map[string]any{"channelId": ch}); r.Code != 0 {
			t.Errorf("bob's accept after carol's attempts: %d %s", r.Code, r.Error)
		}
		a.req("hangup", map[string]any{"channelId": ch})
	})
	probeCase(t, "C02", "a third party cannot act on an active channel or read its record", func(t *testing.T) {
		a, b, c := login(t, sp, "alice", at), login(t, sp, "bob", bt), login(t, sp, "carol", ct)
		ch, atok, btok := connect(t, a, b)
		for _, typ := range []string{"cancel", "accept", "reject", "hangup"} {
			if r := c.req(typ, map[string]any{"channelId": ch}); r.Code == 0 {
				t.Errorf("carol %s on active: accepted", typ)
			}
		}
		for _, tok := range []string{atok, btok, ""} {
			if r := c.req("relay", map[string]any{"channelId": ch, "token": tok, "kind": "control", "payload": ctrl}); r.Code == 0 {
				t.Errorf("carol relay with a party's token accepted")
			}
		}
		if r := c.req("switch", map[string]any{"channelId": ch, "callType": 2}); r.Code == 0 {
			t.Errorf("carol switch accepted")
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(b.eventsNamed("RELAY")) + len(a.eventsNamed("RELAY")); n != 0 {
			t.Errorf("a party received %d RELAY from carol", n)
		}
		a.req("hangup", map[string]any{"channelId": ch})
		b.waitEvent("MESSAGE_SENT", 5*time.Second)
		if r := c.req("records", map[string]any{"channelId": ch}); strings.Contains(string(r.Data), ch) {
			t.Errorf("carol reads the record: %s", r.Raw)
		}
	})
	probeCase(t, "C03", "a party's token is bound to its account and channel", func(t *testing.T) {
		a, b := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		ch, atok, btok := connect(t, a, b)
		if r := a.req("relay", map[string]any{"channelId": ch, "token": btok, "kind": "control", "payload": ctrl}); r.Code != 401 {
			t.Errorf("alice with bob's token: %d", r.Code)
		}
		if r := a.req("relay", map[string]any{"channelId": ch, "token": atok, "kind": "control", "payload": ctrl}); r.Code != 0 {
			t.Errorf("alice with her token: %d %s", r.Code, r.Error)
		}
		for _, bad := range []string{"", "v1.1.AAAA", atok[:len(atok)-2], atok + "A", strings.Replace(atok, "v1.", "v2.", 1),
			forgeExpiry(atok)} {
			if r := a.req("relay", map[string]any{"channelId": ch, "token": bad, "kind": "control", "payload": ctrl}); r.Code != 401 {
				t.Errorf("token %q: %d %s", bad, r.Code, r.Error)
			} else if bad != "" && strings.Contains(r.Error, bad) {
				t.Errorf("the error echoes the token")
			}
		}
		a.req("hangup", map[string]any{"channelId": ch})
		// The token of an ended call no longer relays, and does not fit another call.
		a2, b2 := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		ch2, _, _ := connect(t, a2, b2)
		if r := a2.req("relay", map[string]any{"channelId": ch2, "token": atok, "kind": "control", "payload": ctrl}); r.Code != 401 {
			t.Errorf("an old channel's token on a new channel: %d", r.Code)
		}
		a2.req("hangup", map[string]any{"channelId": ch2})
	})
	probeCase(t, "C04", "the callee's other device and the caller's other device cannot act on the call", func(t *testing.T) {
		a, b := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		a2, b2 := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		ch := a.call(t, "bob", nil)
		b.waitEvent("INVITED", 5*time.Second)
		if r := a2.req("cancel", map[string]any{"channelId": ch}); r.Code == 0 {
			t.Errorf("alice's other device cancelled")
		}
		b.req("accept", map[string]any{"channelId": ch})
		a.waitEvent("USER_ACCEPT", 5*time.Second)
		for _, w := range []*wsc{a2, b2} {
			if r := w.req("hangup", map[string]any{"channelId": ch}); r.Code == 0 {
				t.Errorf("%s's other device hung up", w.account)
			}
			if r := w.req("relay", map[string]any{"channelId": ch, "token": "x", "kind": "control", "payload": ctrl}); r.Code == 0 {
				t.Errorf("%s's other device relayed", w.account)
			}
			if r := w.req("switch", map[string]any{"channelId": ch, "callType": 2}); r.Code == 0 {
				t.Errorf("%s's other device switched", w.account)
			}
		}
		a.req("hangup", map[string]any{"channelId": ch})
	})
	probeCase(t, "C05", "guessed channel ids: 10404, nothing leaks, rate limited", func(t *testing.T) {
		c := login(t, sp, "carol", ct)
		codes := map[int]int{}
		for i := 0; i < 150; i++ {
			var b [18]byte
			_, _ = rand.Read(b[:])
			id := base64.RawURLEncoding.EncodeToString(b[:])
			r := c.req("accept", map[string]any{"channelId": id})
			codes[r.Code]++
		}
		t.Logf("codes for 150 guesses: %v", codes)
		if codes[0] > 0 {
			t.Errorf("a guessed channel id was accepted")
		}
		if codes[429] == 0 {
			t.Logf("INFO: 150 guesses in a burst were not rate limited")
		}
	})
	probeCase(t, "C06", "a party cannot answer its own outgoing call or act after it ended", func(t *testing.T) {
		a, b := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		ch := a.call(t, "bob", nil)
		if r := a.req("accept", map[string]any{"channelId": ch}); r.Code == 0 {
			t.Errorf("caller accepted its own call")
		}
		b.waitEvent("INVITED", 5*time.Second)
		a.req("cancel", map[string]any{"channelId": ch})
		if r := b.req("accept", map[string]any{"channelId": ch}); r.Code == 0 {
			t.Errorf("accept after cancel")
		}
	})
	probeCase(t, "C07", "a session ended by logout/new login no longer gets the old identity's events", func(t *testing.T) {
		w := login(t, sp, "carol", ct)
		w.req("logout", nil)
		r := w.req("login", map[string]any{"account": "alice", "token": at, "device": newDevice(), "checkSum": true})
		if r.Code != 0 {
			t.Fatal(r.Error)
		}
		b := login(t, sp, "bob", bt)
		ch := b.call(t, "carol", nil)
		time.Sleep(500 * time.Millisecond)
		for _, ev := range w.eventsNamed("INVITED") {
			if ev.str("channelId") == ch {
				t.Errorf("the connection now logged in as alice got carol's invite")
			}
		}
		b.req("cancel", map[string]any{"channelId": ch})
	})
	_ = fmt.Sprint
}

// forgeExpiry moves a channel token's expiry forward, keeping its MAC.
func forgeExpiry(tok string) string {
	parts := strings.SplitN(tok, ".", 3)
	if len(parts) != 3 {
		return tok + "x"
	}
	return parts[0] + ".9999999999." + parts[2]
}
