package server_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
)

func TestLogin(t *testing.T) {
	srv := startServer(t, nil)
	ta := mustUser(t, srv, "alice")
	tb := mustUser(t, srv, "bob")
	cases := []struct {
		name  string
		login protocol.Login
		code  protocol.Code
		msg   string
	}{
		{"good", protocol.Login{Account: "alice", Token: ta, Device: "d", CheckSum: true}, 0, ""},
		{"wrong token", protocol.Login{Account: "alice", Token: "nope", Device: "d", CheckSum: true}, protocol.CodeUnauthorized, ""},
		{"other account's token", protocol.Login{Account: "alice", Token: tb, Device: "d", CheckSum: true}, protocol.CodeUnauthorized, ""},
		{"empty token", protocol.Login{Account: "alice", Device: "d", CheckSum: true}, protocol.CodeUnauthorized, ""},
		{"unknown account", protocol.Login{Account: "zed", Token: ta, Device: "d", CheckSum: true}, protocol.CodeUnauthorized, ""},
		{"debug login on secure server", protocol.Login{Account: "alice", Device: "d"}, protocol.CodeForbidden, "secure mode"},
		{"bad device id", protocol.Login{Account: "alice", Token: ta, Device: "a.b", CheckSum: true}, protocol.CodeBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv)
			m, err := c.do(protocol.ReqLogin, tc.login, nil)
			if protocol.CodeOf(err) != tc.code || !strings.Contains(m.Error, tc.msg) {
				t.Fatalf("got %v, want code %d containing %q", err, tc.code, tc.msg)
			}
			if tc.code != 0 {
				// Still usable, still logged out.
				c.wantCode(protocol.CodeNotLoggedIn, protocol.ReqContacts, nil)
			}
		})
	}
	t.Run("before login", func(t *testing.T) {
		c := dial(t, srv)
		c.wantCode(protocol.CodeNotLoggedIn, protocol.ReqCall, protocol.Call{To: "bob", CallType: 1})
		c.login("alice", ta, "d2")
		c.wantCode(protocol.CodeBadRequest, protocol.ReqLogin, protocol.Login{Account: "bob", Token: tb, Device: "x", CheckSum: true})
	})
	t.Run("reset token", func(t *testing.T) {
		key, secret := srv.Credentials()
		_ = key
		_ = secret
		cl := adminClient(srv)
		u, err := cl.ResetToken(context.Background(), "bob")
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, srv)
		c.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "bob", Token: tb, Device: "x", CheckSum: true})
		c.login("bob", u.Token, "x")
	})
}

func TestDebugMode(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.Debug = true })
	mustUser(t, srv, "alice")
	c := dial(t, srv)
	var r protocol.LoginReply
	c.mustDo(protocol.ReqLogin, protocol.Login{Account: "alice", Device: "d"}, &r)
	if !r.Debug {
		t.Fatal("login reply does not report debug mode")
	}
	c2 := dial(t, srv)
	c2.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "alice", Token: "bad", Device: "e", CheckSum: true})
}

func TestBadMessagesKeepConnection(t *testing.T) {
	srv := startServer(t, nil)
	ta := mustUser(t, srv, "alice")
	mustUser(t, srv, "bob")
	c := dial(t, srv)
	c.login("alice", ta, "a1")
	huge := append([]byte(`{"v":1,"type":"ping","id":"x","data":"`), bytes.Repeat([]byte("a"), protocol.MaxMessageSize+10)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name  string
		frame string
		code  protocol.Code
		id    string
	}{
		{"not json", `{nope`, protocol.CodeBadRequest, ""},
		{"trailing", `{"v":1,"type":"ping","id":"t"} {}`, protocol.CodeBadRequest, ""},
		{"wrong version", `{"v":9,"type":"ping","id":"v"}`, protocol.CodeUnsupportedVersion, "v"},
		{"unknown type", `{"v":1,"type":"fly","id":"u"}`, protocol.CodeBadRequest, "u"},
		{"reply type", `{"v":1,"type":"reply","id":"r"}`, protocol.CodeBadRequest, "r"},
		{"forged from", `{"v":1,"type":"call","id":"f","data":{"to":"bob","callType":1,"from":"bob"}}`, protocol.CodeBadRequest, "f"},
		{"unknown envelope field", `{"v":1,"type":"ping","id":"e","from":"bob"}`, protocol.CodeBadRequest, ""},
		{"bad call type", `{"v":1,"type":"call","id":"c","data":{"to":"bob","callType":7}}`, protocol.CodeCallTypeNA, "c"},
		{"subject injection", `{"v":1,"type":"call","id":"s","data":{"to":"bob.>","callType":1}}`, protocol.CodeBadRequest, "s"},
		{"oversized", string(huge), protocol.CodeTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.sendRaw([]byte(tc.frame))
			m := c.reply()
			if m.Code != tc.code || m.ID != tc.id {
				t.Fatalf("reply %+v, want code %d id %q", m, tc.code, tc.id)
			}
			c.mustDo(protocol.ReqPing, nil, nil)
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		c.wmu.Lock()
		err := c.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"v":1,"type":"ping","id":"b"}`))
		c.wmu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if m := c.reply(); m.Code != protocol.CodeBadRequest {
			t.Fatalf("reply %+v", m)
		}
	})
	c.quiet()
	// No call was created by any of it: bob is free.
	cr := c.call("bob", protocol.CallAudio, 0)
	c.mustDo(protocol.ReqCancel, ref(cr.ChannelID), nil)
}

func TestRateLimit(t *testing.T) {
	srv := startServer(t, nil)
	ta := mustUser(t, srv, "alice")
	c := dial(t, srv)
	c.login("alice", ta, "a1")
	frame, _ := protocol.EncodeRequest("p", protocol.ReqPing, nil)
	const n = 300
	for range n {
		c.sendRaw(frame)
	}
	limited := 0
	for range n {
		if c.reply().Code == protocol.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("no request was rate limited")
	}
	time.Sleep(100 * time.Millisecond) // refill a few tokens
	c.mustDo(protocol.ReqPing, nil, nil)
}

func TestForeignChannel(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb, tc := mustUser(t, srv, "alice"), mustUser(t, srv, "bob"), mustUser(t, srv, "carol")
	a, b, c := dial(t, srv), dial(t, srv), dial(t, srv)
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	c.login("carol", tc, "c1")
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	for _, typ := range []string{protocol.ReqAccept, protocol.ReqReject, protocol.ReqCancel, protocol.ReqHangup} {
		c.wantCode(protocol.CodeNotInChannel, typ, ref(cr.ChannelID))
	}
	a.wantCode(protocol.CodeNotInChannel, protocol.ReqAccept, ref(cr.ChannelID))
	b.wantCode(protocol.CodeNotInChannel, protocol.ReqCancel, ref(cr.ChannelID))
	c.wantCode(protocol.CodeChannelNotFound, protocol.ReqAccept, ref("nosuchchannel"))
	var ar protocol.AcceptReply
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), &ar)
	a.event(protocol.EvUserAccept)
	// A stolen token does not let carol relay into the call.
	c.wantCode(protocol.CodeNotInChannel, protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ar.MediaToken, Kind: "offer", Payload: testOffer})
	c.wantCode(protocol.CodeNotInChannel, protocol.ReqSwitch, protocol.Switch{ChannelID: cr.ChannelID, CallType: 2})
	c.quiet()
	// A second device of bob cannot hang up the call taken on b1.
	b2 := dial(t, srv)
	b2.login("bob", tb, "b2")
	b2.wantCode(protocol.CodeNotInChannel, protocol.ReqHangup, ref(cr.ChannelID))
	a.mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
	b.peerEvent(protocol.EvCallEnd)
}

func TestMultiDeviceAcceptRace(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	a := dial(t, srv)
	a.login("alice", ta, "a1")
	a2 := dial(t, srv)
	a2.login("alice", ta, "a2") // the caller's other device hears nothing but records
	const n = 8
	devs := make([]*wsClient, n)
	for i := range devs {
		devs[i] = dial(t, srv)
		devs[i].login("bob", tb, "b"+string(rune('0'+i)))
	}
	cr := a.call("bob", protocol.CallAudio, 0)
	for _, d := range devs {
		d.invite()
	}
	codes := make([]protocol.Code, n)
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() {
			_, err := d.do(protocol.ReqAccept, ref(cr.ChannelID), nil)
			codes[i] = protocol.CodeOf(err)
		})
	}
	wg.Wait()
	winner := -1
	for i, c := range codes {
		switch c {
		case 0:
			if winner >= 0 {
				t.Fatalf("two winners: %v", codes)
			}
			winner = i
		case protocol.CodeAlreadyAccepted:
		default:
			t.Fatalf("codes %v", codes)
		}
	}
	if winner < 0 {
		t.Fatalf("no winner: %v", codes)
	}
	ua := a.peerEvent(protocol.EvUserAccept)
	if ua.Device != devs[winner].device() {
		t.Fatalf("USER_ACCEPT names %s, winner %s", ua.Device, devs[winner].device())
	}
	for i, d := range devs {
		if i != winner {
			d.peerEvent(protocol.EvOtherClientAccept)
		}
	}
	a.quiet()
	a2.quiet()
	devs[winner].mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
	a.peerEvent(protocol.EvCallEnd)
	a.record()
	a2.record()
	for _, d := range devs {
		d.record()
		d.quiet()
	}
}

func TestMultiDeviceReject(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	a, b1, b2 := dial(t, srv), dial(t, srv), dial(t, srv)
	a.login("alice", ta, "a1")
	b1.login("bob", tb, "b1")
	b2.login("bob", tb, "b2")
	cr := a.call("bob", protocol.CallVideo, 0)
	b1.invite()
	b2.invite()
	b2.mustDo(protocol.ReqReject, ref(cr.ChannelID), nil)
	a.peerEvent(protocol.EvUserReject)
	b1.peerEvent(protocol.EvOtherClientReject)
	b1.wantCode(protocol.CodeAlreadyRejected, protocol.ReqAccept, ref(cr.ChannelID))
	for _, c := range []*wsClient{a, b1, b2} {
		c.record()
		c.quiet()
	}
}

func TestOfflineInvite(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	a := dial(t, srv)
	a.login("alice", ta, "a1")
	cr := a.call("bob", protocol.CallVideo, 0)
	if cr.CalleeOnline {
		t.Fatal("offline callee reported online")
	}
	b := dial(t, srv)
	lr := b.login("bob", tb, "b1")
	if len(lr.Calls) != 1 || lr.Calls[0].ChannelID != cr.ChannelID || lr.Calls[0].State != protocol.ChannelRinging {
		t.Fatalf("login calls %+v", lr.Calls)
	}
	inv := b.invite()
	if !inv.Offline || inv.From != "alice" {
		t.Fatalf("offline invite %+v", inv)
	}
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
	a.event(protocol.EvUserAccept)
	a.mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
	b.event(protocol.EvCallEnd)
}

func TestSwitchCallType(t *testing.T) {
	srv := startServer(t, nil)
	a, b, _, _ := aliceAndBob(t, srv)
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	var ar protocol.AcceptReply
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), &ar)
	ua := a.peerEvent(protocol.EvUserAccept)

	ctc := func(c *wsClient) protocol.CallTypeChange {
		t.Helper()
		var x protocol.CallTypeChange
		if err := jsonUnmarshal(c.event(protocol.EvCallTypeChange).Data, &x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	sw := func(state string, ct protocol.CallType) protocol.Switch {
		return protocol.Switch{ChannelID: cr.ChannelID, CallType: ct, State: state}
	}
	// audio→video: invite to the peer only, agree applies it for both.
	a.mustDo(protocol.ReqSwitch, sw(protocol.SwitchInvite, protocol.CallVideo), nil)
	if x := ctc(b); x.State != protocol.SwitchInvite || x.UserID != "alice" {
		t.Fatalf("invite %+v", x)
	}
	a.quiet()
	a.wantCode(protocol.CodeBadRequest, protocol.ReqSwitch, sw(protocol.SwitchAgree, protocol.CallVideo)) // cannot agree to own
	b.mustDo(protocol.ReqSwitch, sw(protocol.SwitchAgree, protocol.CallVideo), nil)
	for _, c := range []*wsClient{a, b} {
		if x := ctc(c); x.State != protocol.SwitchAgree || x.CallType != protocol.CallVideo {
			t.Fatalf("agree %+v", x)
		}
	}
	// video→audio at once.
	b.mustDo(protocol.ReqSwitch, sw("", protocol.CallAudio), nil)
	for _, c := range []*wsClient{a, b} {
		if x := ctc(c); x.State != protocol.SwitchAgree || x.CallType != protocol.CallAudio {
			t.Fatalf("video→audio %+v", x)
		}
	}
	// audio→video rejected: both informed, type unchanged.
	b.mustDo(protocol.ReqSwitch, sw(protocol.SwitchInvite, protocol.CallVideo), nil)
	ctc(a)
	a.mustDo(protocol.ReqSwitch, sw(protocol.SwitchReject, protocol.CallVideo), nil)
	for _, c := range []*wsClient{a, b} {
		if x := ctc(c); x.State != protocol.SwitchReject {
			t.Fatalf("reject %+v", x)
		}
	}
	// The asker withdraws: both informed, by the asker; nothing is left
	// to agree to.
	b.mustDo(protocol.ReqSwitch, sw(protocol.SwitchInvite, protocol.CallVideo), nil)
	ctc(a)
	b.mustDo(protocol.ReqSwitch, sw(protocol.SwitchReject, protocol.CallVideo), nil)
	for _, c := range []*wsClient{a, b} {
		if x := ctc(c); x.State != protocol.SwitchReject || x.UserID != "bob" {
			t.Fatalf("withdraw %+v", x)
		}
	}
	a.wantCode(protocol.CodeBadRequest, protocol.ReqSwitch, sw(protocol.SwitchAgree, protocol.CallVideo))

	// Relay needs the channel token and reaches only the peer device.
	a.wantCode(protocol.CodeUnauthorized, protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Kind: "offer", Payload: testOffer})
	a.wantCode(protocol.CodeUnauthorized, protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ar.MediaToken, Kind: "offer", Payload: testOffer}) // bob's token
	a.mustDo(protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ua.MediaToken, Kind: "offer", Payload: testOffer}, nil)
	var re protocol.RelayEvent
	if err := jsonUnmarshal(b.event(protocol.EvRelay).Data, &re); err != nil || re.From != "alice" || re.FromDevice != "a1" || string(re.Payload) != string(testOffer) {
		t.Fatalf("relay %+v %v", re, err)
	}
	a.mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
	b.event(protocol.EvCallEnd)
	if r := b.record(); r.Type != protocol.CallAudio {
		t.Fatalf("record type %d after switches", r.Type)
	}
}

func TestReconnectGrace(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.ReconnectGrace = time.Second })
	a, b, _, tb := aliceAndBob(t, srv)
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
	a.event(protocol.EvUserAccept)

	// bob's connection drops and comes back with the same device: the call
	// resumes with a fresh media token.
	_ = b.conn.Close()
	b = dial(t, srv)
	lr := b.login("bob", tb, "b1")
	if len(lr.Calls) != 1 || lr.Calls[0].State != protocol.ChannelActive || lr.Calls[0].MediaToken == "" {
		t.Fatalf("resumed calls %+v", lr.Calls)
	}
	// Now alice goes away for good: bob gets CALL_END peerGone after the grace.
	_ = a.conn.Close()
	if p := b.peerEvent(protocol.EvCallEnd); p.Reason != "peerGone" {
		t.Fatalf("CALL_END %+v", p)
	}
	if r := b.record(); r.Status != protocol.StatusCompleted {
		t.Fatalf("record %+v", r)
	}
}

func TestDuplicateDeviceKicked(t *testing.T) {
	srv := startServer(t, nil)
	ta := mustUser(t, srv, "alice")
	old := dial(t, srv)
	old.login("alice", ta, "a1")
	fresh := dial(t, srv)
	fresh.login("alice", ta, "a1")
	select {
	case <-old.done:
	case <-time.After(waitFor):
		t.Fatal("old session of the same device was not closed")
	}
	fresh.mustDo(protocol.ReqPing, nil, nil)
}

func TestContacts(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	mustUser(t, srv, "carol")
	// Presence is shared between mutual contacts (presence_test.go).
	for _, c := range []string{"bob", "carol"} {
		if err := srv.AddContact(context.Background(), c, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	a := dial(t, srv)
	a.login("alice", ta, "a1")
	a.wantCode(protocol.CodeBadRequest, protocol.ReqContactAdd, protocol.ContactRef{Account: "alice"})
	var cr protocol.ContactsReply
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "bob"}, &cr)
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "carol"}, &cr)
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "bob"}, &cr)
	presence := func() map[string]string {
		a.mustDo(protocol.ReqContacts, nil, &cr)
		m := map[string]string{}
		for _, c := range cr.Contacts {
			m[c.Account] = c.Presence
		}
		return m
	}
	if p := presence(); len(p) != 2 || p["bob"] != protocol.PresenceOffline || cr.Contacts[0].NickName != "Nick bob" {
		t.Fatalf("contacts %+v", cr)
	}
	b := dial(t, srv)
	b.login("bob", tb, "b1")
	var pe protocol.Presence
	if err := jsonUnmarshal(a.event(protocol.EvPresence).Data, &pe); err != nil || pe.Account != "bob" || pe.Presence != protocol.PresenceOnline {
		t.Fatalf("PRESENCE %+v %v", pe, err)
	}
	if p := presence(); p["bob"] != protocol.PresenceOnline || p["carol"] != protocol.PresenceOffline {
		t.Fatalf("presence %v", p)
	}
	call := a.call("bob", protocol.CallAudio, 0)
	if p := presence(); p["bob"] != protocol.PresenceInCall {
		t.Fatalf("presence %v", p)
	}
	a.mustDo(protocol.ReqCancel, ref(call.ChannelID), nil)
	a.mustDo(protocol.ReqContactRemove, protocol.ContactRef{Account: "bob"}, &cr)
	if len(cr.Contacts) != 1 || cr.Contacts[0].Account != "carol" {
		t.Fatalf("after remove %+v", cr)
	}
}

func TestLogoutEndsCall(t *testing.T) {
	srv := startServer(t, nil)
	a, b, _, _ := aliceAndBob(t, srv)
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	a.mustDo(protocol.ReqLogout, nil, nil)
	b.peerEvent(protocol.EvUserCancel)
	a.wantCode(protocol.CodeNotLoggedIn, protocol.ReqCancel, ref(cr.ChannelID))
}
