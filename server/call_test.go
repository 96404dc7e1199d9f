package server_test

import (
	"testing"

	"github.com/softphone/softphone/call/protocol"
)

func TestCompletedCall(t *testing.T) {
	srv := startServer(t, nil)
	a, b, _, _ := aliceAndBob(t, srv)

	cr := a.call("bob", protocol.CallVideo, 0)
	if !cr.CalleeOnline || !protocol.ValidID(cr.ChannelID) || len(cr.ChannelID) < 20 {
		t.Fatalf("call reply %+v", cr)
	}
	inv := b.invite()
	if inv.From != "alice" || inv.FromNick != "Nick alice" || inv.ChannelID != cr.ChannelID || inv.CallType != protocol.CallVideo || inv.Offline {
		t.Fatalf("invite %+v", inv)
	}
	var ar protocol.AcceptReply
	b.mustDo(protocol.ReqAccept, ref(inv.ChannelID), &ar)
	if ar.MediaToken == "" {
		t.Fatal("accept reply without media token")
	}
	ua := a.peerEvent(protocol.EvUserAccept)
	if ua.UserID != "bob" || ua.MediaToken == "" || ua.Device != "b1" {
		t.Fatalf("USER_ACCEPT %+v", ua)
	}
	b.mustDo(protocol.ReqHangup, ref(inv.ChannelID), nil)
	ce := a.peerEvent(protocol.EvCallEnd)
	if ce.UserID != "bob" || ce.Reason != "hangup" {
		t.Fatalf("CALL_END %+v", ce)
	}
	for _, c := range []*wsClient{a, b} {
		r := c.record()
		if r.Status != protocol.StatusCompleted || r.From != "alice" || r.To != "bob" || r.Type != protocol.CallVideo || len(r.Durations) != 2 {
			t.Fatalf("record %+v", r)
		}
		c.quiet()
	}
	// Both are free again and the record is queryable from both sides.
	var rr protocol.RecordsReply
	b.mustDo(protocol.ReqRecords, protocol.RecordsQuery{Peer: "alice"}, &rr)
	if len(rr.Records) != 1 || rr.Records[0].ChannelID != cr.ChannelID {
		t.Fatalf("records %+v", rr)
	}
	a.wantCode(protocol.CodeChannelNotFound, protocol.ReqHangup, ref(inv.ChannelID))
}

func TestCallOutcomes(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb, tc := mustUser(t, srv, "alice"), mustUser(t, srv, "bob"), mustUser(t, srv, "carol")
	a, b, c := dial(t, srv), dial(t, srv), dial(t, srv)
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	c.login("carol", tc, "c1")

	t.Run("cancel", func(t *testing.T) {
		cr := a.call("bob", protocol.CallAudio, 0)
		b.invite()
		a.mustDo(protocol.ReqCancel, ref(cr.ChannelID), nil)
		if p := b.peerEvent(protocol.EvUserCancel); p.UserID != "alice" {
			t.Fatalf("USER_CANCEL %+v", p)
		}
		for _, x := range []*wsClient{a, b} {
			if r := x.record(); r.Status != protocol.StatusCanceled || r.Durations[0].Duration != 0 {
				t.Fatalf("record %+v", r)
			}
		}
		b.wantCode(protocol.CodeInviteExpired, protocol.ReqAccept, ref(cr.ChannelID))
	})
	t.Run("reject", func(t *testing.T) {
		cr := a.call("bob", protocol.CallAudio, 0)
		b.invite()
		b.mustDo(protocol.ReqReject, ref(cr.ChannelID), nil)
		if p := a.peerEvent(protocol.EvUserReject); p.UserID != "bob" {
			t.Fatalf("USER_REJECT %+v", p)
		}
		for _, x := range []*wsClient{a, b} {
			if r := x.record(); r.Status != protocol.StatusRejected {
				t.Fatalf("record %+v", r)
			}
		}
		b.wantCode(protocol.CodeAlreadyRejected, protocol.ReqAccept, ref(cr.ChannelID))
		a.wantCode(protocol.CodeAlreadyRejected, protocol.ReqCancel, ref(cr.ChannelID))
	})
	t.Run("timeout", func(t *testing.T) {
		cr := a.call("bob", protocol.CallVideo, 1000)
		b.invite()
		if p := a.peerEvent(protocol.EvCallingTimeout); p.UserID != "bob" || p.ChannelID != cr.ChannelID {
			t.Fatalf("CALLING_TIMEOUT %+v", p)
		}
		if p := b.peerEvent(protocol.EvCallingTimeout); p.UserID != "alice" {
			t.Fatalf("callee CALLING_TIMEOUT %+v", p)
		}
		for _, x := range []*wsClient{a, b} {
			if r := x.record(); r.Status != protocol.StatusTimeout {
				t.Fatalf("record %+v", r)
			}
		}
		b.wantCode(protocol.CodeInviteExpired, protocol.ReqAccept, ref(cr.ChannelID))
	})
	t.Run("busy", func(t *testing.T) {
		cr := a.call("bob", protocol.CallAudio, 0)
		b.invite()
		b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
		a.event(protocol.EvUserAccept)
		// carol calls bob, who is in a call: USER_BUSY, record 5, no INVITED.
		cc := c.call("bob", protocol.CallAudio, 0)
		if p := c.peerEvent(protocol.EvUserBusy); p.UserID != "bob" || p.ChannelID != cc.ChannelID {
			t.Fatalf("USER_BUSY %+v", p)
		}
		if r := c.record(); r.Status != protocol.StatusBusy {
			t.Fatalf("record %+v", r)
		}
		if r := b.record(); r.Status != protocol.StatusBusy || r.From != "carol" {
			t.Fatalf("callee busy record %+v", r)
		}
		// A caller already in a call gets 116.
		a.wantCode(protocol.CodeCallBusy, protocol.ReqCall, protocol.Call{To: "carol", CallType: protocol.CallAudio})
		a.mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
		b.peerEvent(protocol.EvCallEnd)
		a.record()
		b.record()
	})
	for _, x := range []*wsClient{a, b, c} {
		x.quiet()
	}
	var rr protocol.RecordsReply
	a.mustDo(protocol.ReqRecords, protocol.RecordsQuery{}, &rr)
	got := []int{}
	for _, r := range rr.Records {
		got = append(got, r.Status)
	}
	// Newest first: completed (busy test), timeout, rejected, canceled.
	want := []int{1, 4, 3, 2}
	if len(got) != len(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	a.mustDo(protocol.ReqRecords, protocol.RecordsQuery{Limit: 2}, &rr)
	if len(rr.Records) != 2 || rr.Records[0].Status != 1 {
		t.Fatalf("limited records %+v", rr.Records)
	}
	c.mustDo(protocol.ReqRecords, protocol.RecordsQuery{Peer: "alice"}, &rr)
	if len(rr.Records) != 0 {
		t.Fatalf("carol sees alice's records: %+v", rr.Records)
	}
}
