package server_test

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/natstest"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/store"
)

// waitUntil polls cond until it holds or waitFor passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailedSetupLeavesNoDebris puts into the store what a call setup
// leaves when it fails and cannot undo itself (its node lost NATS): a
// channel never confirmed and busy locks naming it. Past their lease the
// locks no longer make anyone busy, and a sweeper removes the channel
// without an event or a record: nobody was ever invited to it. A lock
// whose lease still runs does count, as a setup in progress.
func TestFailedSetupLeavesNoDebris(t *testing.T) {
	ns := externalNATS(t)
	n1 := startServer(t, clusterNode(ns, "n1"))
	st, _ := storeOn(t, ns)
	ctx := context.Background()
	a, b, _, _ := aliceAndBob(t, n1)
	tc, td := mustUser(t, n1, "carol"), mustUser(t, n1, "dave")
	c, d := dial(t, n1), dial(t, n1)
	c.login("carol", tc, "c1")
	d.login("dave", td, "d1")
	for _, cl := range []*wsClient{a, b, c, d} {
		drainPresence(cl)
	}

	now := time.Now()
	debris := func(id, from, to string, lease time.Time, withChannel bool) {
		t.Helper()
		for _, acct := range []string{from, to} {
			if err := st.LockBusy(ctx, acct, id, lease); err != nil {
				t.Fatal(err)
			}
		}
		if !withChannel {
			return
		}
		ch := &store.Channel{ID: id, RequestID: "r" + id, Name: id, State: protocol.ChannelRinging,
			From: from, FromDevice: "x", To: to, CallType: protocol.CallAudio, Node: "dead-node",
			CreatedAt: lease.Add(-20 * time.Second).UnixMilli(), ExpiresAt: lease.Add(10 * time.Second).UnixMilli(),
			SetupUntil: lease.UnixMilli()}
		if _, err := st.CreateChannel(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	// alice and bob: locks and channel of a setup whose lease ran out.
	debris("failedSetupA", "alice", "bob", now.Add(-time.Second), true)
	// carol and dave: the same, no one calls them; the sweeper cleans up.
	debris("failedSetupC", "carol", "dave", now.Add(-time.Second), true)

	// alice is not in a call: she can call bob at once.
	cr := a.call("bob", protocol.CallAudio, 0)
	if inv := b.invite(); inv.ChannelID != cr.ChannelID {
		t.Fatalf("bob invited to %s, want %s", inv.ChannelID, cr.ChannelID)
	}
	a.mustDo(protocol.ReqCancel, ref(cr.ChannelID), nil)
	b.peerEvent(protocol.EvUserCancel)
	a.record()
	b.record()

	waitUntil(t, "failed setup removed", func() bool {
		_, _, err := st.GetChannel(ctx, "failedSetupC")
		return store.IsNotFound(err)
	})
	for _, acct := range []string{"carol", "dave"} {
		waitUntil(t, acct+" unlocked", func() bool {
			_, _, err := st.BusyHolder(ctx, acct)
			return store.IsNotFound(err)
		})
	}
	for _, cl := range []*wsClient{c, d} {
		quietButPresence(t, cl)
	}

	// A lock whose channel is not stored yet counts while its lease runs.
	debris("settingUp", "carol", "erin", time.Now().Add(time.Second), false)
	c.wantCode(protocol.CodeCallBusy, protocol.ReqCall, protocol.Call{To: "dave", CallType: protocol.CallAudio})
	waitUntil(t, "lease over", func() bool {
		_, err := c.do(protocol.ReqCall, protocol.Call{To: "dave", CallType: protocol.CallAudio}, nil)
		return err == nil
	})
	d.invite()
}

// connected places a call from a to b and has b accept it.
func connected(a, b *wsClient) *protocol.CallReply {
	a.t.Helper()
	cr := a.call(b.account, protocol.CallAudio, 0)
	b.invite()
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
	a.peerEvent(protocol.EvUserAccept)
	return cr
}

// drainPresence drops the PRESENCE events queued so far.
func drainPresence(c *wsClient) {
	c.mustDo(protocol.ReqPing, nil, nil)
	for {
		select {
		case m := <-c.events:
			if m.Event != protocol.EvPresence {
				c.t.Fatalf("unexpected event %s %s", m.Event, m.Data)
			}
		default:
			return
		}
	}
}

// quietButPresence is quiet, tolerating PRESENCE events.
func quietButPresence(t *testing.T, c *wsClient) {
	t.Helper()
	drainPresence(c)
}

// TestRecordReplayAndDedupe: a device asks for the record of a call it
// missed (records by channelId); a record announced a second time — a
// recovering node cannot know whether the crashed one announced it — reaches
// no connection twice, but does reach a connection opened since.
func TestRecordReplayAndDedupe(t *testing.T) {
	ns := externalNATS(t)
	n1 := startServer(t, clusterNode(ns, "n1"))
	n2 := startServer(t, clusterNode(ns, "n2"))
	st, _ := storeOn(t, ns)
	ctx := context.Background()
	ta, tb := mustUser(t, n1, "alice"), mustUser(t, n1, "bob")
	a, b := dial(t, n1), dial(t, n2)
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	cr := connected(a, b)
	a.mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
	b.peerEvent(protocol.EvCallEnd)
	rec := a.record()
	b.record()

	// Asked by channel id: the record, on any device of a party, and
	// nothing for someone else's call or a call that runs.
	var rr protocol.RecordsReply
	b2 := dial(t, n1)
	b2.login("bob", tb, "b2")
	b2.mustDo(protocol.ReqRecords, protocol.RecordsQuery{ChannelID: cr.ChannelID}, &rr)
	if len(rr.Records) != 1 || !reflect.DeepEqual(rr.Records[0], *rec) {
		t.Fatalf("record by channel: %+v, want %+v", rr.Records, rec)
	}
	tc := mustUser(t, n1, "carol")
	c := dial(t, n2)
	c.login("carol", tc, "c1")
	c.mustDo(protocol.ReqRecords, protocol.RecordsQuery{ChannelID: cr.ChannelID}, &rr)
	if len(rr.Records) != 0 {
		t.Fatalf("carol got alice's record: %+v", rr.Records)
	}

	// The record announced again: the flag a crashed finisher could not
	// clear is set back, and a sweeper recovers the record.
	ch, rev, err := st.GetChannel(ctx, cr.ChannelID)
	if err != nil {
		t.Fatal(err)
	}
	ch.RecordPending = true
	if _, err := st.UpdateChannel(ctx, ch, rev); err != nil {
		t.Fatal(err)
	}
	b3 := dial(t, n2)
	b3.login("bob", tb, "b3")
	if again := b3.record(); again.ChannelID != cr.ChannelID {
		t.Fatalf("new device got %+v", again)
	}
	waitUntil(t, "record flag cleared", func() bool {
		ch, _, err := st.GetChannel(ctx, cr.ChannelID)
		return err == nil && !ch.RecordPending
	})
	for _, cl := range []*wsClient{a, b, b2} {
		quietButPresence(t, cl)
	}
	// Exactly one copy per party in the history.
	for _, cl := range []*wsClient{a, b} {
		var page protocol.RecordsReply
		cl.mustDo(protocol.ReqRecords, protocol.RecordsQuery{}, &page)
		if len(page.Records) != 1 {
			t.Fatalf("%d records, want 1: %+v", len(page.Records), page.Records)
		}
	}
}

// TestVanishedPartyBilledUntilLastSeen: when a party's node stops, its call
// is billed up to the node's last heartbeat, not up to when another node's
// sweeper noticed.
func TestVanishedPartyBilledUntilLastSeen(t *testing.T) {
	ns := externalNATS(t)
	n1 := startServer(t, func(c *server.Config) {
		clusterNode(ns, "n1")(c)
		c.ReconnectGrace = time.Second
	})
	st, js := storeOn(t, ns)
	ctx := context.Background()
	a, b, _, _ := aliceAndBob(t, n1)
	cr := connected(a, b)
	ch, _, err := st.GetChannel(ctx, cr.ChannelID)
	if err != nil {
		t.Fatal(err)
	}

	// bob's device now appears to sit on a node last heard of two seconds
	// into the call, which then stopped.
	lastSeen := ch.AcceptedAt + 2000
	nodes, err := js.KeyValue(ctx, store.BucketNodes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Put(ctx, "vanished", []byte(strconv.FormatInt(lastSeen, 10)+":down")); err != nil {
		t.Fatal(err)
	}
	p, err := st.DevicePresence(ctx, "bob", "b1")
	if err != nil {
		t.Fatal(err)
	}
	p.Node = "vanished"
	if _, err := st.SetPresence(ctx, "bob", "b1", *p); err != nil {
		t.Fatal(err)
	}

	if pe := a.peerEvent(protocol.EvCallEnd); pe.Reason != "peerGone" {
		t.Fatalf("CALL_END %+v", pe)
	}
	rec := a.record()
	if rec.EndedAt != lastSeen || rec.Durations[0].Duration != 2 {
		t.Fatalf("billed until %d (%ds), want %d (2s)", rec.EndedAt, rec.Durations[0].Duration, lastSeen)
	}
}

// TestNATSReconnectResyncsDevices: when a node's NATS connection comes back
// after a loss, its devices are made to log in again (events meant for them
// meanwhile are lost), and find their call as the server has it.
func TestNATSReconnectResyncsDevices(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := t.TempDir()
	opts := func() *natsserver.Options {
		return &natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir}
	}
	ns := natstest.Run(t, opts())
	n1 := startServer(t, clusterNode(ns, "n1"))
	a, b, ta, tb := aliceAndBob(t, n1)
	cr := connected(a, b)

	ns.Shutdown()
	ns.WaitForShutdown()
	natstest.Run(t, opts())
	// The server goes first: its NATS must outlive it.
	t.Cleanup(func() { _ = n1.Close() })
	for _, cl := range []*wsClient{a, b} {
		select {
		case <-cl.done:
		case <-time.After(waitFor):
			t.Fatal("device not asked to reconnect after the NATS connection came back")
		}
	}

	a2, b2 := dial(t, n1), dial(t, n1)
	for _, lr := range []*protocol.LoginReply{a2.login("alice", ta, "a1"), b2.login("bob", tb, "b1")} {
		if len(lr.Calls) != 1 || lr.Calls[0].ChannelID != cr.ChannelID || lr.Calls[0].State != protocol.ChannelActive {
			t.Fatalf("%s after the resync: calls %+v", lr.Account, lr.Calls)
		}
	}
	a2.mustDo(protocol.ReqHangup, ref(cr.ChannelID), nil)
	b2.peerEvent(protocol.EvCallEnd)
	b2.record()
	a2.record()
}

// TestStartWaitsForSlowCluster: a serve started before its NATS server is
// up retries until it is (within the start deadline) instead of exiting,
// and one whose NATS never comes gives up at the deadline with a clear
// error.
func TestStartWaitsForSlowCluster(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	node := func(timeout time.Duration) *server.Server {
		srv, err := server.New(server.Config{Listen: "127.0.0.1:0", NATSURL: url, NodeID: "n1", Replicas: 1,
			AppKey: "key", AppSecret: "secret", StartTimeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return srv
	}

	err = node(time.Second).Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "gave up at the start deadline") {
		t.Fatalf("start without NATS: %v", err)
	}

	started := make(chan error, 1)
	srv := node(waitFor)
	go func() { started <- srv.Start(context.Background()) }()
	time.Sleep(500 * time.Millisecond) // serve is retrying by now
	natstest.Run(t, &natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir()})
	t.Cleanup(func() { _ = srv.Close() }) // before its NATS stops
	if err := <-started; err != nil {
		t.Fatalf("start once NATS came: %v", err)
	}
	c := dial(t, srv)
	c.wantCode(protocol.CodeNotLoggedIn, protocol.ReqPing, nil)
}
