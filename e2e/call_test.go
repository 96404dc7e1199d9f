package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/admin"
)

// quad is alice and bob with two devices each, one per language, so every
// record is checked in zh and en on both sides. alice and bob are the
// acting devices; aliceEn only ever sees records, bobZh rings along.
type quad struct {
	srv                        *server.Server
	toks                       map[string]string
	alice, aliceEn, bob, bobZh *device
}

func newQuad(t *testing.T, mod func(*server.Config)) *quad {
	checkNoEngineGoroutines(t)
	srv := startServer(t, mod)
	toks := users(t, srv, "alice", "bob", "carol")
	q := &quad{srv: srv, toks: toks}
	q.alice = newDevice(t, srv, "alice", toks["alice"], devOpts{lang: "zh"})
	q.aliceEn = newDevice(t, srv, "alice", toks["alice"], devOpts{lang: "en"})
	q.bob = newDevice(t, srv, "bob", toks["bob"], devOpts{lang: "en"})
	q.bobZh = newDevice(t, srv, "bob", toks["bob"], devOpts{lang: "zh"})
	return q
}

// records checks MESSAGE_SENT on all four devices.
func (q *quad) records(t *testing.T, ch string, status int) {
	t.Helper()
	expectRecord(t, q.alice.wait(protocol.EvMessageSent, ch), ch, status, "alice", "bob", false, "zh")
	expectRecord(t, q.aliceEn.wait(protocol.EvMessageSent, ch), ch, status, "alice", "bob", false, "en")
	expectRecord(t, q.bob.wait(protocol.EvMessageSent, ch), ch, status, "alice", "bob", true, "en")
	expectRecord(t, q.bobZh.wait(protocol.EvMessageSent, ch), ch, status, "alice", "bob", true, "zh")
}

// ring places alice's call and waits until both bob devices ring.
func (q *quad) ring(t *testing.T, ct protocol.CallType) (string, protocol.Invite) {
	t.Helper()
	cr, err := q.alice.Call(ctxT(t), "bob", ct, json.RawMessage(`{"note":"hi"}`))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if !cr.CalleeOnline || cr.ChannelID == "" {
		t.Fatalf("call reply %+v", cr)
	}
	q.alice.state(protocol.StateCalling)
	inv := q.bob.wait(protocol.EvInvited, cr.ChannelID).Data.(protocol.Invite)
	if inv.From != "alice" || inv.To != "bob" || inv.CallType != ct || string(inv.Attachment) != `{"note":"hi"}` || inv.Offline {
		t.Fatalf("invite %+v", inv)
	}
	q.bobZh.wait(protocol.EvInvited, cr.ChannelID)
	q.bob.state(protocol.StateCalled)
	q.bobZh.state(protocol.StateCalled)
	return cr.ChannelID, inv
}

func TestCompletedCallWithSwitchAndRelay(t *testing.T) {
	q := newQuad(t, nil)
	ctx := ctxT(t)
	ch, inv := q.ring(t, protocol.CallVideo)

	if err := q.bob.Accept(ctx, &inv); err != nil {
		t.Fatalf("accept: %v", err)
	}
	q.bob.state(protocol.StateInCall)
	acc := q.alice.wait(protocol.EvUserAccept, ch).Data.(protocol.Peer)
	if acc.UserID != "bob" || acc.MediaToken != "" || acc.TokenExpiresAt != 0 {
		t.Fatalf("USER_ACCEPT %+v: want bob, and no channel token in the event", acc)
	}
	q.alice.state(protocol.StateInCall)
	if ci, _ := q.alice.CurrentCall(); ci.MediaToken == "" {
		t.Fatal("the caller's engine kept no channel token")
	}
	if oc := q.bobZh.wait(protocol.EvOtherClientAccept, ch).Data.(protocol.Peer); oc.UserID != "bob" {
		t.Fatalf("OTHER_CLIENT_ACCEPT %+v", oc)
	}
	q.bobZh.state(protocol.StateIdle)
	if ci, _ := q.bob.CurrentCall(); ci.MediaToken == "" || ci.Peer != "alice" || ci.Outgoing {
		t.Fatalf("callee call info %+v (token set: %v)", ci, ci.MediaToken != "")
	}

	// Media negotiation relays both ways with the channel tokens.
	if err := q.alice.Relay(ctx, protocol.RelayOffer, testOffer); err != nil {
		t.Fatalf("relay offer: %v", err)
	}
	if r := q.bob.wait(protocol.EvRelay, ch).Data.(protocol.RelayEvent); r.From != "alice" || r.Kind != protocol.RelayOffer || string(r.Payload) != string(testOffer) {
		t.Fatalf("RELAY %+v", r)
	}
	if err := q.bob.Relay(ctx, protocol.RelayAnswer, testAnswer); err != nil {
		t.Fatalf("relay answer: %v", err)
	}
	q.alice.wait(protocol.EvRelay, ch)

	change := func(d *device, ct protocol.CallType, state, by string) {
		t.Helper()
		c := d.wait(protocol.EvCallTypeChange, ch).Data.(protocol.CallTypeChange)
		if c.CallType != ct || c.State != state || c.UserID != by {
			t.Fatalf("%s: CALL_TYPE_CHANGE %+v, want %v %s by %s", d.name, c, ct, state, by)
		}
	}
	// Video → audio applies at once on both sides.
	if err := q.bob.SwitchCallType(ctx, protocol.CallAudio, ""); err != nil {
		t.Fatalf("switch to audio: %v", err)
	}
	change(q.bob, protocol.CallAudio, protocol.SwitchAgree, "bob")
	change(q.alice, protocol.CallAudio, protocol.SwitchAgree, "bob")
	// Audio → video: invite, rejected; invite again, agreed.
	if err := q.alice.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatalf("switch invite: %v", err)
	}
	change(q.bob, protocol.CallVideo, protocol.SwitchInvite, "alice")
	if err := q.bob.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchReject); err != nil {
		t.Fatalf("switch reject: %v", err)
	}
	change(q.bob, protocol.CallVideo, protocol.SwitchReject, "bob")
	change(q.alice, protocol.CallVideo, protocol.SwitchReject, "bob")
	if ci, _ := q.alice.CurrentCall(); ci.CallType != protocol.CallAudio {
		t.Fatalf("call type after rejected switch: %v", ci.CallType)
	}
	if err := q.bob.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatalf("switch invite: %v", err)
	}
	change(q.alice, protocol.CallVideo, protocol.SwitchInvite, "bob")
	if err := q.alice.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchAgree); err != nil {
		t.Fatalf("switch agree: %v", err)
	}
	change(q.alice, protocol.CallVideo, protocol.SwitchAgree, "alice")
	change(q.bob, protocol.CallVideo, protocol.SwitchAgree, "alice")
	for _, d := range []*device{q.alice, q.bob} {
		if ci, _ := d.CurrentCall(); ci.CallType != protocol.CallVideo {
			t.Fatalf("%s: call type %v after agreed switch", d.name, ci.CallType)
		}
	}

	// Hang-up: CALL_END locally for the actor, from the server for the peer.
	if err := q.alice.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if p := q.alice.wait(protocol.EvCallEnd, ch).Data.(protocol.Peer); p.UserID != "alice" || p.Reason != "hangup" {
		t.Fatalf("local CALL_END %+v", p)
	}
	if p := q.bob.wait(protocol.EvCallEnd, ch).Data.(protocol.Peer); p.UserID != "alice" {
		t.Fatalf("peer CALL_END %+v", p)
	}
	q.alice.state(protocol.StateIdle)
	q.bob.state(protocol.StateIdle)
	q.records(t, ch, protocol.StatusCompleted)

	// The same records come back from the records query, decorated per side.
	recs, err := q.alice.Records(ctx, "bob", 10)
	if err != nil || len(recs) == 0 || recs[0].ChannelID != ch || recs[0].Text != "已完成" || recs[0].Direction != call.DirectionOutgoing {
		t.Fatalf("alice records %s, %v", mustJSON(recs), err)
	}
	if len(recs[0].Durations) == 0 {
		t.Fatalf("completed record without durations: %s", mustJSON(recs[0]))
	}
	recs, err = q.bob.Records(ctx, "", 0)
	if err != nil || len(recs) == 0 || recs[0].Text != "Completed" || recs[0].Direction != call.DirectionIncoming {
		t.Fatalf("bob records %s, %v", mustJSON(recs), err)
	}
	q.aliceEn.quiet(100 * time.Millisecond)
}

func TestCancel(t *testing.T) {
	q := newQuad(t, nil)
	ch, _ := q.ring(t, protocol.CallAudio)
	// Hangup while calling is cancel.
	if err := q.alice.Hangup(ctxT(t)); err != nil {
		t.Fatalf("hangup (cancel): %v", err)
	}
	q.alice.state(protocol.StateIdle)
	if p := q.alice.wait(protocol.EvUserCancel, ch).Data.(protocol.Peer); p.UserID != "alice" {
		t.Fatalf("local USER_CANCEL %+v", p)
	}
	for _, d := range []*device{q.bob, q.bobZh} {
		if p := d.wait(protocol.EvUserCancel, ch).Data.(protocol.Peer); p.UserID != "alice" {
			t.Fatalf("%s: USER_CANCEL %+v", d.name, p)
		}
		d.state(protocol.StateIdle)
	}
	q.records(t, ch, protocol.StatusCanceled)

	// Cancel proper, a second time.
	ch, _ = q.ring(t, protocol.CallVideo)
	if err := q.alice.Cancel(ctxT(t)); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	q.alice.wait(protocol.EvUserCancel, ch)
	q.bob.wait(protocol.EvUserCancel, ch)
	q.bobZh.wait(protocol.EvUserCancel, ch)
	q.records(t, ch, protocol.StatusCanceled)
}

func TestReject(t *testing.T) {
	q := newQuad(t, nil)
	ch, inv := q.ring(t, protocol.CallAudio)
	if err := q.bobZh.Reject(ctxT(t), &inv); err != nil {
		t.Fatalf("reject: %v", err)
	}
	q.bobZh.state(protocol.StateIdle)
	if p := q.alice.wait(protocol.EvUserReject, ch).Data.(protocol.Peer); p.UserID != "bob" {
		t.Fatalf("USER_REJECT %+v", p)
	}
	q.alice.state(protocol.StateIdle)
	q.bob.wait(protocol.EvOtherClientReject, ch)
	q.bob.state(protocol.StateIdle)
	q.records(t, ch, protocol.StatusRejected)

	// Hangup while called is reject.
	ch, _ = q.ring(t, protocol.CallVideo)
	if err := q.bob.Hangup(ctxT(t)); err != nil {
		t.Fatalf("hangup (reject): %v", err)
	}
	q.alice.wait(protocol.EvUserReject, ch)
	q.bobZh.wait(protocol.EvOtherClientReject, ch)
	q.records(t, ch, protocol.StatusRejected)
}

func TestTimeout(t *testing.T) {
	q := newQuad(t, nil)
	if err := q.alice.SetCallTimeout(time.Second); err != nil {
		t.Fatal(err)
	}
	ch, _ := q.ring(t, protocol.CallVideo)
	for _, d := range []*device{q.alice, q.bob, q.bobZh} {
		d.wait(protocol.EvCallingTimeout, ch)
		d.state(protocol.StateIdle)
	}
	q.records(t, ch, protocol.StatusTimeout)
	// Too late to answer now.
	if err := q.bob.Accept(ctxT(t), nil); protocol.CodeOf(err) != 20017 {
		t.Fatalf("accept after timeout: %v", err)
	}
}

func TestBusy(t *testing.T) {
	q := newQuad(t, nil)
	ctx := ctxT(t)
	carol := newDevice(t, q.srv, "carol", q.toks["carol"], devOpts{lang: "en"})

	// bob takes carol's call on his en device.
	cr, err := carol.Call(ctx, "bob", protocol.CallAudio, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := q.bob.wait(protocol.EvInvited, cr.ChannelID).Data.(protocol.Invite)
	q.bobZh.wait(protocol.EvInvited, cr.ChannelID)
	if err := q.bob.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	carol.wait(protocol.EvUserAccept, cr.ChannelID)
	q.bobZh.wait(protocol.EvOtherClientAccept, cr.ChannelID)

	// alice calls busy bob: USER_BUSY, record 5, and bob never rings.
	busy, err := q.alice.Call(ctx, "bob", protocol.CallVideo, nil)
	if err != nil {
		t.Fatalf("call busy callee: %v", err)
	}
	if p := q.alice.wait(protocol.EvUserBusy, busy.ChannelID).Data.(protocol.Peer); p.UserID != "bob" {
		t.Fatalf("USER_BUSY %+v", p)
	}
	q.alice.state(protocol.StateIdle)
	q.records(t, busy.ChannelID, protocol.StatusBusy)
	q.bob.state(protocol.StateInCall)

	// Local state table: bob's busy device may not call; his idle device
	// may, but the server answers 116 because the account is in a call.
	if _, err := q.bob.Call(ctx, "alice", protocol.CallAudio, nil); protocol.CodeOf(err) != 20004 {
		t.Fatalf("call while in call: %v", err)
	}
	if _, err := q.bobZh.Call(ctx, "alice", protocol.CallAudio, nil); protocol.CodeOf(err) != protocol.CodeCallBusy {
		t.Fatalf("call from another device while in call: %v", err)
	}
	q.bobZh.state(protocol.StateIdle)
	// Unknown peer: the server's 404 comes back and the state resets.
	if _, err := q.alice.Call(ctx, "nobody", protocol.CallAudio, nil); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("call unknown: %v", err)
	}
	q.alice.state(protocol.StateIdle)

	if err := carol.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	q.bob.wait(protocol.EvCallEnd, cr.ChannelID)
	carol.wait(protocol.EvCallEnd, cr.ChannelID)
	expectRecord(t, carol.wait(protocol.EvMessageSent, cr.ChannelID), cr.ChannelID, protocol.StatusCompleted, "carol", "bob", false, "en")
	expectRecord(t, q.bob.wait(protocol.EvMessageSent, cr.ChannelID), cr.ChannelID, protocol.StatusCompleted, "carol", "bob", true, "en")
	q.alice.quiet(100 * time.Millisecond) // nothing of carol's call reaches alice
}

// TestMultiDeviceRace: three callee devices answer at once; exactly one
// wins, the others hear OTHER_CLIENT_*, and the caller sees one answer.
func TestMultiDeviceRace(t *testing.T) {
	q := newQuad(t, nil)
	bob3 := newDevice(t, q.srv, "bob", q.toks["bob"], devOpts{lang: "en"})
	callees := []*device{q.bob, q.bobZh, bob3}

	for _, op := range []string{"accept", "reject"} {
		t.Run(op, func(t *testing.T) {
			ch, inv := q.ring(t, protocol.CallAudio)
			bob3.wait(protocol.EvInvited, ch)
			errs := make([]error, len(callees))
			var wg sync.WaitGroup
			for i, d := range callees {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if op == "accept" {
						errs[i] = d.Accept(ctxT(t), &inv)
					} else {
						errs[i] = d.Reject(ctxT(t), &inv)
					}
				}()
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("two winners: %d and %d", winner, i)
				case err == nil:
					winner = i
				default:
					// Lost the compare-and-set, or the OTHER_CLIENT event
					// arrived first and the state table refused.
					switch protocol.CodeOf(err) {
					case protocol.CodeAlreadyAccepted, protocol.CodeAlreadyRejected, 20017, 20021:
					default:
						t.Fatalf("loser %d: %v", i, err)
					}
				}
			}
			if winner < 0 {
				t.Fatalf("no winner: %v", errs)
			}
			answer, other := protocol.EvUserAccept, protocol.EvOtherClientAccept
			if op == "reject" {
				answer, other = protocol.EvUserReject, protocol.EvOtherClientReject
			}
			q.alice.wait(answer, ch)
			for i, d := range callees {
				if i != winner {
					d.wait(other, ch)
					d.state(protocol.StateIdle)
				}
			}
			if op == "accept" {
				callees[winner].state(protocol.StateInCall)
				if err := q.alice.Hangup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				q.alice.wait(protocol.EvCallEnd, ch)
				callees[winner].wait(protocol.EvCallEnd, ch)
				q.records(t, ch, protocol.StatusCompleted)
			} else {
				q.records(t, ch, protocol.StatusRejected)
			}
			bob3.wait(protocol.EvMessageSent, ch)
			q.alice.quiet(100 * time.Millisecond) // exactly one answer
		})
	}
}

func TestOfflineInviteDeliveredOnLogin(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	toks := users(t, srv, "alice", "bob")
	alice := newDevice(t, srv, "alice", toks["alice"], devOpts{})
	ctx := ctxT(t)
	cr, err := alice.Call(ctx, "bob", protocol.CallVideo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cr.CalleeOnline {
		t.Fatal("callee reported online")
	}
	// The server publishes the live invite right after the call reply; one
	// more round trip on alice's connection orders that publish before bob's
	// login, so bob can only learn of the call from the login.
	if _, err := alice.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	bob := newDevice(t, srv, "bob", toks["bob"], devOpts{lang: "en"})
	inv := bob.wait(protocol.EvInvited, cr.ChannelID).Data.(protocol.Invite)
	if !inv.Offline || inv.From != "alice" {
		t.Fatalf("offline invite %+v", inv)
	}
	bob.state(protocol.StateCalled)
	bob.quiet(200 * time.Millisecond) // delivered once, not again from the push
	if err := bob.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	alice.wait(protocol.EvUserAccept, cr.ChannelID)
	if err := bob.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	bob.wait(protocol.EvCallEnd, cr.ChannelID)
	alice.wait(protocol.EvCallEnd, cr.ChannelID)
	expectRecord(t, alice.wait(protocol.EvMessageSent, cr.ChannelID), cr.ChannelID, protocol.StatusCompleted, "alice", "bob", false, "zh")
	expectRecord(t, bob.wait(protocol.EvMessageSent, cr.ChannelID), cr.ChannelID, protocol.StatusCompleted, "alice", "bob", true, "en")
}

func TestReconnect(t *testing.T) {
	q := newQuad(t, nil)
	ctx := ctxT(t)

	reconnect := func(d *device, state protocol.CallState) {
		t.Helper()
		dis := d.wait(call.EvDisconnect, "").Data.(call.DisconnectInfo)
		if !dis.Reconnecting || dis.Error == "" {
			t.Fatalf("%s: onDisconnect %+v", d.name, dis)
		}
		ri := d.wait(call.EvReconnected, "").Data.(call.ReconnectInfo)
		if ri.Account == "" || ri.State != state.String() {
			t.Fatalf("%s: RECONNECTED %+v, want state %v", d.name, ri, state)
		}
		d.state(state)
	}

	t.Run("ringing invite survives without ringing twice", func(t *testing.T) {
		ch, inv := q.ring(t, protocol.CallAudio)
		q.bob.cut.Cut(false)
		reconnect(q.bob, protocol.StateCalled)
		q.bob.quiet(200 * time.Millisecond)
		if err := q.bob.Accept(ctx, &inv); err != nil {
			t.Fatalf("accept after reconnect: %v", err)
		}
		q.alice.wait(protocol.EvUserAccept, ch)
		q.bobZh.wait(protocol.EvOtherClientAccept, ch)

		// Mid-call: both sides drop in turn; the call survives.
		q.bob.cut.Cut(false)
		reconnect(q.bob, protocol.StateInCall)
		q.alice.cut.Cut(false)
		reconnect(q.alice, protocol.StateInCall)
		if err := q.alice.Relay(ctx, protocol.RelayCandidate, json.RawMessage(`{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0"}}`)); err != nil {
			t.Fatalf("relay after reconnect: %v", err)
		}
		q.bob.wait(protocol.EvRelay, ch)
		if err := q.bob.Hangup(ctx); err != nil {
			t.Fatalf("hangup after reconnect: %v", err)
		}
		q.bob.wait(protocol.EvCallEnd, ch)
		q.alice.wait(protocol.EvCallEnd, ch)
		q.records(t, ch, protocol.StatusCompleted)
	})

	t.Run("call ended while disconnected", func(t *testing.T) {
		ch, inv := q.ring(t, protocol.CallAudio)
		if err := q.bob.Accept(ctx, &inv); err != nil {
			t.Fatal(err)
		}
		q.alice.wait(protocol.EvUserAccept, ch)
		q.bobZh.wait(protocol.EvOtherClientAccept, ch)
		q.bob.cut.Cut(true)
		q.bob.wait(call.EvDisconnect, "")
		if err := q.bob.Hangup(ctx); protocol.CodeOf(err) != protocol.CodeUnavailable {
			t.Fatalf("hangup while disconnected: %v", err)
		}
		if err := q.alice.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		q.alice.wait(protocol.EvCallEnd, ch)
		q.bob.cut.Unblock()
		ri := q.bob.wait(call.EvReconnected, "").Data.(call.ReconnectInfo)
		if ri.State != "idle" {
			t.Fatalf("RECONNECTED %+v", ri)
		}
		if p := q.bob.wait(protocol.EvCallEnd, ch).Data.(protocol.Peer); p.UserID != "alice" {
			t.Fatalf("reconciled CALL_END %+v", p)
		}
		q.bob.state(protocol.StateIdle)
		expectRecord(t, q.alice.wait(protocol.EvMessageSent, ch), ch, protocol.StatusCompleted, "alice", "bob", false, "zh")
		// The record pushed while bob was away is fetched after his
		// reconnect, once.
		expectRecord(t, q.bob.wait(protocol.EvMessageSent, ch), ch, protocol.StatusCompleted, "alice", "bob", true, "en")
		q.bob.quiet(300 * time.Millisecond)
	})
}

func TestTokens(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, func(c *server.Config) { c.ChannelTokenTTL = time.Second })
	toks := users(t, srv, "alice", "bob")

	t.Run("wrong token", func(t *testing.T) {
		_, err := tryDevice(t, srv, "alice", "not-the-token", devOpts{})
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeUnauthorized {
			t.Fatalf("err = %v, want *protocol.Error 401", err)
		}
		_, err = tryDevice(t, srv, "nobody", "x", devOpts{})
		if protocol.CodeOf(err) != protocol.CodeUnauthorized {
			t.Fatalf("unknown account: %v", err)
		}
	})

	t.Run("expired channel token", func(t *testing.T) {
		alice := newDevice(t, srv, "alice", toks["alice"], devOpts{})
		bob := newDevice(t, srv, "bob", toks["bob"], devOpts{})
		cr, err := alice.Call(ctxT(t), "bob", protocol.CallAudio, nil)
		if err != nil {
			t.Fatal(err)
		}
		bob.wait(protocol.EvInvited, cr.ChannelID)
		if err := bob.Accept(ctxT(t), nil); err != nil {
			t.Fatal(err)
		}
		alice.wait(protocol.EvUserAccept, cr.ChannelID)
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := alice.Relay(ctxT(t), protocol.RelayOffer, testOffer)
			if protocol.CodeOf(err) == protocol.CodeUnauthorized {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("relay with an expiring token: %v", err)
			}
			bob.wait(protocol.EvRelay, cr.ChannelID)
			time.Sleep(100 * time.Millisecond)
		}
		if err := alice.Hangup(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		bob := newDevice(t, srv, "bob", toks["bob"], devOpts{})
		key, secret := srv.Credentials()
		u, err := admin.NewClient(srv.AdminURL(), key, secret, nil).ResetToken(ctxT(t), "bob")
		if err != nil || u.Token == "" || u.Token == toks["bob"] {
			t.Fatalf("reset token: %+v %v", u, err)
		}
		if _, err := tryDevice(t, srv, "bob", toks["bob"], devOpts{}); protocol.CodeOf(err) != protocol.CodeUnauthorized {
			t.Fatalf("old token: %v", err)
		}
		// The live session ends at once, says why, and does not reconnect.
		d := bob.wait(call.EvDisconnect, "").Data.(call.DisconnectInfo)
		if d.Reconnecting || d.Reason != protocol.EndTokenReset || d.Error != "token was reset" {
			t.Fatalf("onDisconnect %+v, want the end for good with \"token was reset\"", d)
		}
		bob.quiet(time.Second) // no reconnect attempt, no second onDisconnect
		if _, err := bob.Call(ctxT(t), "alice", protocol.CallAudio, nil); protocol.CodeOf(err) != protocol.CodeNotLoggedIn {
			t.Fatalf("call after the reset: %v", err)
		}
		newDevice(t, srv, "bob", u.Token, devOpts{})
	})
}

func TestSecureAndDebugModes(t *testing.T) {
	checkNoEngineGoroutines(t)
	t.Run("secure refuses checkSum=false", func(t *testing.T) {
		srv := startServer(t, nil)
		toks := users(t, srv, "alice")
		_, err := tryDevice(t, srv, "alice", "", devOpts{checkSum: boolPtr(false)})
		if protocol.CodeOf(err) != protocol.CodeForbidden || !strings.Contains(err.Error(), "secure mode") {
			t.Fatalf("checkSum=false on a secure server: %v", err)
		}
		_, err = tryDevice(t, srv, "alice", "", devOpts{})
		if protocol.CodeOf(err) != protocol.CodeUnauthorized {
			t.Fatalf("no token: %v", err)
		}
		newDevice(t, srv, "alice", toks["alice"], devOpts{})
	})
	t.Run("debug admits checkSum=false", func(t *testing.T) {
		srv := startServer(t, func(c *server.Config) { c.Debug = true })
		toks := users(t, srv, "alice", "bob")
		alice := newDevice(t, srv, "alice", "", devOpts{checkSum: boolPtr(false)})
		if !alice.Session().Debug {
			t.Fatal("login reply does not say debug")
		}
		bob := newDevice(t, srv, "bob", toks["bob"], devOpts{})
		if _, err := tryDevice(t, srv, "bob", "wrong", devOpts{}); protocol.CodeOf(err) != protocol.CodeUnauthorized {
			t.Fatalf("checkSum=true with a wrong token on a debug server: %v", err)
		}
		cr, err := alice.Call(ctxT(t), "bob", protocol.CallAudio, nil)
		if err != nil {
			t.Fatal(err)
		}
		bob.wait(protocol.EvInvited, cr.ChannelID)
		if err := bob.Accept(ctxT(t), nil); err != nil {
			t.Fatal(err)
		}
		alice.wait(protocol.EvUserAccept, cr.ChannelID)
		if err := alice.Relay(ctxT(t), protocol.RelayOffer, testOffer); err != nil {
			t.Fatal(err)
		}
		bob.wait(protocol.EvRelay, cr.ChannelID)
		if err := bob.Hangup(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		alice.wait(protocol.EvCallEnd, cr.ChannelID)
	})
}

func TestUnreachableAndLogout(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	toks := users(t, srv, "alice", "bob")
	alice := newDevice(t, srv, "alice", toks["alice"], devOpts{})

	// Contacts with presence, which bob shares by listing alice.
	if err := srv.AddContact(ctxT(t), "bob", "alice"); err != nil {
		t.Fatal(err)
	}
	list, err := alice.AddContact(ctxT(t), "bob")
	if err != nil || len(list) != 1 || list[0].Account != "bob" || list[0].Presence != protocol.PresenceOffline {
		t.Fatalf("add contact: %+v %v", list, err)
	}
	newDevice(t, srv, "bob", toks["bob"], devOpts{})
	if list, err = alice.Contacts(ctxT(t)); err != nil || len(list) != 1 || list[0].Presence != protocol.PresenceOnline {
		t.Fatalf("contacts: %+v %v", list, err)
	}
	// An unknown account is listed like one that has not added alice back.
	if list, err = alice.AddContact(ctxT(t), "nobody"); err != nil || len(list) != 2 || list[1].Presence != protocol.PresencePending {
		t.Fatalf("add unknown contact: %+v %v", list, err)
	}
	if _, err := alice.RemoveContact(ctxT(t), "nobody"); err != nil {
		t.Fatal(err)
	}
	if list, err = alice.RemoveContact(ctxT(t), "bob"); err != nil || len(list) != 0 {
		t.Fatalf("remove contact: %+v %v", list, err)
	}

	if err := alice.Logout(ctxT(t)); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if err := alice.Logout(ctxT(t)); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	if alice.Connected() {
		t.Fatal("connected after logout")
	}
	if _, err := alice.Contacts(ctxT(t)); protocol.CodeOf(err) != protocol.CodeNotLoggedIn {
		t.Fatalf("request after logout: %v", err)
	}
	// Log in again on the same engine.
	if err := alice.Login(ctxT(t), "alice", toks["alice"]); err != nil {
		t.Fatalf("re-login: %v", err)
	}
	if _, err := alice.Ping(ctxT(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	addr := srv.URL()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	alice.wait(call.EvDisconnect, "")
	e := call.New(call.Config{Server: addr})
	defer e.Close()
	err = e.Login(ctxT(t), "alice", toks["alice"])
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("login to a stopped server: %v", err)
	}
}
