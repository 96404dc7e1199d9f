//go:build probe

package probe

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestImpersonation: nobody acts or receives as another account or device.
func TestImpersonation(t *testing.T) {
	sp := startServe(t, "")
	at := sp.createUser("alice", "Alice")
	bt := sp.createUser("bob", "Bob")
	ct := sp.createUser("carol", "Carol")

	probeCase(t, "P01", "login with another account's token is refused", func(t *testing.T) {
		if _, r := tryLogin(t, sp, "alice", bt); r.Code != 401 {
			t.Errorf("got %d %s", r.Code, r.Error)
		}
		if _, r := tryLogin(t, sp, "alice", ""); r.Code != 401 {
			t.Errorf("empty token: %d %s", r.Code, r.Error)
		}
		if _, r := tryLogin(t, sp, "ALICE", at); r.Code == 0 {
			t.Errorf("account name case-folded: ALICE logged in with alice's token")
		}
		if _, r := tryLogin(t, sp, "alice", at+" "); r.Code == 0 {
			t.Errorf("token with a trailing space accepted")
		}
		if _, r := tryLogin(t, sp, "alice", strings.ToUpper(at)); r.Code == 0 && strings.ToUpper(at) != at {
			t.Errorf("token compared case-insensitively")
		}
	})
	probeCase(t, "P02", "checkSum:false is refused by a secure server", func(t *testing.T) {
		w := dialWS(t, sp.url)
		r := w.req("login", map[string]any{"account": "alice", "device": "d1", "checkSum": false})
		if r.Code != 403 {
			t.Errorf("got %d %s", r.Code, r.Error)
		}
		r = w.req("login", map[string]any{"account": "alice", "device": "d1"})
		if r.Code == 0 {
			t.Errorf("login without checkSum accepted")
		}
	})
	probeCase(t, "P03", "spoofed sender fields in every request are refused (400)", func(t *testing.T) {
		w := login(t, sp, "carol", ct)
		spoof := map[string]any{"from": "alice", "account": "alice", "userId": "alice", "fromNick": "Alice", "device": "x", "fromDevice": "x"}
		base := map[string]map[string]any{
			"call":           {"to": "bob", "callType": 1},
			"cancel":         {"channelId": "abc"},
			"accept":         {"channelId": "abc"},
			"reject":         {"channelId": "abc"},
			"hangup":         {"channelId": "abc"},
			"switch":         {"channelId": "abc", "callType": 2},
			"relay":          {"channelId": "abc", "token": "t", "kind": "control", "payload": map[string]any{"audioMuted": true}},
			"contact.add":    {"account": "bob"},
			"contact.remove": {"account": "bob"},
			"records":        {},
		}
		for typ, d := range base {
			for k, v := range spoof {
				if _, has := d[k]; has {
					continue
				}
				m := map[string]any{}
				for kk, vv := range d {
					m[kk] = vv
				}
				m[k] = v
				r := w.req(typ, m)
				if r.Code != 400 {
					t.Errorf("%s with %s: code %d %s", typ, k, r.Code, r.Error)
				}
			}
		}
		for _, typ := range []string{"ping", "logout", "contacts", "iceServers"} {
			if r := w.req(typ, map[string]any{"from": "alice"}); r.Code != 400 {
				t.Errorf("%s with data: %d", typ, r.Code)
			}
		}
		// envelope-level spoofing
		for _, raw := range []string{
			`{"v":1,"type":"ping","id":"e1","from":"alice"}`,
			`{"v":1,"type":"ping","id":"e2","account":"alice"}`,
			`{"v":1,"type":"event","id":"e3","event":"INVITED","data":{}}`,
			`{"v":1,"type":"reply","id":"e4","data":{}}`,
		} {
			id := raw[strings.Index(raw, `"id":"`)+6:]
			id = id[:strings.Index(id, `"`)]
			f, ok := w.rawReq([]byte(raw), id, 5*time.Second)
			if !ok {
				// An envelope that did not parse is answered without its id.
				f, ok = w.rawReq([]byte(raw), "", 5*time.Second)
			}
			if ok && f.Code == 0 {
				t.Errorf("%s accepted", raw)
			}
		}
	})
	probeCase(t, "P04", "a second login on a logged-in connection is refused", func(t *testing.T) {
		w := login(t, sp, "carol", ct)
		r := w.req("login", map[string]any{"account": "alice", "token": at, "device": "dd", "checkSum": true})
		if r.Code == 0 {
			t.Errorf("relogin as another account on the same connection: %s", r.Raw)
		}
	})
	probeCase(t, "P05", "same device id under another account: events do not cross", func(t *testing.T) {
		a := dialWS(t, sp.url)
		a.account, a.device = "alice", "shareddev"
		if r := a.req("login", map[string]any{"account": "alice", "token": at, "device": "shareddev", "checkSum": true}); r.Code != 0 {
			t.Fatal(r.Error)
		}
		c := dialWS(t, sp.url)
		c.account, c.device = "carol", "shareddev"
		if r := c.req("login", map[string]any{"account": "carol", "token": ct, "device": "shareddev", "checkSum": true}); r.Code != 0 {
			t.Fatal(r.Error)
		}
		b := login(t, sp, "bob", bt)
		ch := b.call(t, "alice", nil)
		if _, ok := a.waitEvent("INVITED", 5*time.Second); !ok {
			t.Fatal("alice not invited")
		}
		time.Sleep(300 * time.Millisecond)
		if len(c.eventsNamed("INVITED")) != 0 {
			t.Errorf("carol's device with alice's device id got alice's INVITED")
		}
		if r := c.req("accept", map[string]any{"channelId": ch}); r.Code == 0 {
			t.Errorf("carol accepted alice's call")
		}
		if a.isClosed() {
			t.Errorf("alice's device was kicked by carol's login with the same device id")
		}
		b.req("cancel", map[string]any{"channelId": ch})
	})
	probeCase(t, "P06", "a device id takeover by the same account kicks the old connection only", func(t *testing.T) {
		a1 := dialWS(t, sp.url)
		a1.req("login", map[string]any{"account": "alice", "token": at, "device": "takeover", "checkSum": true})
		a2 := dialWS(t, sp.url)
		r := a2.req("login", map[string]any{"account": "alice", "token": at, "device": "takeover", "checkSum": true})
		if r.Code != 0 {
			t.Fatal(r.Error)
		}
		if _, ok := a1.waitClosed(5 * time.Second); !ok {
			t.Logf("INFO: the older connection of the same device stays open")
		}
	})
	probeCase(t, "P07", "requests act as the logged-in account: records and contacts are its own", func(t *testing.T) {
		c := login(t, sp, "carol", ct)
		c.req("contact.add", map[string]any{"account": "zed"})
		a := login(t, sp, "alice", at)
		for _, x := range a.req("contacts", nil).data()["contacts"].([]any) {
			if x.(map[string]any)["account"] == "zed" {
				t.Errorf("carol's contact shows in alice's list")
			}
		}
	})
	probeCase(t, "P08", "a caller cannot make the callee's INVITED carry another sender", func(t *testing.T) {
		c := login(t, sp, "carol", ct)
		b := login(t, sp, "bob", bt)
		ch := c.call(t, "bob", map[string]any{"attachment": map[string]any{"from": "alice", "fromNick": "Alice"}})
		inv, ok := b.waitEventWhere("INVITED", 5*time.Second, func(f frame) bool { return f.str("channelId") == ch })
		if !ok {
			t.Fatal("no invite")
		}
		if inv.str("from") != "carol" || inv.str("fromNick") != "Carol" {
			t.Errorf("INVITED from %q nick %q", inv.str("from"), inv.str("fromNick"))
		}
		c.req("cancel", map[string]any{"channelId": ch})
	})
	_ = fmt.Sprint
}
