package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// Relay payloads as WebRTC produces them (docs/protocol.md).
var (
	testOffer  = json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`)
	testAnswer = json.RawMessage(`{"type":"answer","sdp":"v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`)
)

// noMediaWarning waits for d's MEDIA_WARNING of kind noMedia, local or
// reported by the peer (remote).
func noMediaWarning(d *device, remote bool) call.MediaWarning {
	d.t.Helper()
	return noMediaWarnings(d, remote)[remote]
}

// noMediaWarnings waits for d's noMedia warnings until it has one from
// each origin asked for (local: false, the peer's: true), whichever comes
// first: both may be delivered within a millisecond, in either order.
func noMediaWarnings(d *device, remotes ...bool) map[bool]call.MediaWarning {
	d.t.Helper()
	got := map[bool]call.MediaWarning{}
	deadline := time.Now().Add(waitTimeout)
	for len(got) < len(remotes) {
		w, ok := d.waitFor(call.EvMediaWarning, time.Until(deadline)).Data.(call.MediaWarning)
		if !ok || w.Kind != protocol.ProblemNoMedia || !slices.Contains(remotes, w.Remote) {
			continue
		}
		if _, seen := got[w.Remote]; !seen {
			got[w.Remote] = w
		}
	}
	return got
}

// TestNoMediaWarningICE: a call whose media cannot connect (one side
// relay-only on a server without TURN, so it gathers no candidate) warns on
// both ends a few seconds after accept, each naming its own cause, and each
// side also hears the other's.
func TestNoMediaWarningICE(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	mc := startMediaCall(t, srv, func(a, b *call.MediaConfig) {
		a.RelayOnly = true
		a.NoMediaAfter, b.NoMediaAfter = time.Second, time.Second
	})
	a := noMediaWarning(mc.alice, false)
	if !strings.Contains(a.Error, "ICE") || !strings.Contains(a.Error, "0 local") {
		t.Errorf("alice (relay-only, no TURN): cause %q, want ICE with 0 local candidates", a.Error)
	}
	bw := noMediaWarnings(mc.bob, false, true)
	if b := bw[false]; !strings.Contains(b.Error, "no ICE candidates from the peer") {
		t.Errorf("bob: cause %q, want no ICE candidates from the peer", b.Error)
	}
	if r := bw[true]; !strings.Contains(r.Error, "the peer receives no media") {
		t.Errorf("bob hears alice's warning as %q", r.Error)
	}
	if err := mc.alice.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestNoMediaWarningBadOffer: an offer of the right shape that cannot be
// applied (a third-party client's bug) leaves the callee without media; its
// warning names the negotiation failure and reaches the caller too.
func TestNoMediaWarningBadOffer(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	toks := users(t, srv, "carol", "bob")
	cfg := mediaConfig(call.SourceTone, "")
	cfg.NoMediaAfter = time.Second
	bob := newDevice(t, srv, "bob", toks["bob"], devOpts{media: cfg})

	// carol is a raw protocol client, as a third party's would be.
	ws, _, err := websocket.DefaultDialer.Dial(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	seq := 0
	send := func(typ string, data any) {
		seq++
		b, err := protocol.EncodeRequest(strconv.Itoa(seq), typ, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next frame that is a reply or the named event.
	next := func(event string) *protocol.Message {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			m, err := protocol.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if (event == "" && m.Type == protocol.TypeReply) || m.Event == event {
				return m
			}
		}
	}
	send(protocol.ReqLogin, protocol.Login{Account: "carol", Token: toks["carol"], Device: "c1", CheckSum: true})
	if m := next(""); m.Code != 0 {
		t.Fatalf("login: %s", m.Error)
	}
	send(protocol.ReqCall, protocol.Call{To: "bob", CallType: protocol.CallAudio})
	next("")
	inv := bob.waitFor(protocol.EvInvited, waitTimeout).Data.(protocol.Invite)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := bob.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	var ua protocol.Peer
	if err := json.Unmarshal(next(protocol.EvUserAccept).Data, &ua); err != nil {
		t.Fatal(err)
	}
	bad := protocol.SessionDescription{Type: "offer", SDP: "v=0\r\nm=audio 9 RTP/AVP 0\r\n"}
	payload, _ := json.Marshal(bad)
	send(protocol.ReqRelay, protocol.Relay{ChannelID: inv.ChannelID, Token: ua.MediaToken, Kind: protocol.RelayOffer, Payload: payload})
	if m := next(""); m.Code != 0 {
		t.Fatalf("relay of a well-shaped offer refused: %s", m.Error)
	}
	w := noMediaWarning(bob, false)
	if !strings.Contains(w.Error, "media negotiation failed: apply the peer's offer") {
		t.Errorf("bob: cause %q, want the failed offer", w.Error)
	}
	var re protocol.RelayEvent
	if err := json.Unmarshal(next(protocol.EvRelay).Data, &re); err != nil {
		t.Fatal(err)
	}
	var mc protocol.MediaControl
	if err := json.Unmarshal(re.Payload, &mc); err != nil || re.Kind != protocol.RelayControl || mc.MediaWarning == nil ||
		mc.MediaWarning.Kind != protocol.ProblemNoMedia || !strings.Contains(mc.MediaWarning.Error, "offer") {
		t.Fatalf("carol got %s %s, want the control relay with bob's warning", re.Kind, re.Payload)
	}
	if err := bob.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
