package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// storeOn opens the shared state the way a node does, so a test can put a
// channel in exactly the state a crashed node would have left.
func storeOn(t *testing.T, ns *natsserver.Server) (*store.Store, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return st, js
}

// TestRecordRecoveredAfterCrash puts ended channels whose record is still
// pending into the store, as a node that crashed between the terminal
// compare-and-set and the record write leaves them, with two live nodes
// sweeping. Each call must end up with exactly one record, announced once to
// every device of both parties, its busy locks released and its flag
// cleared.
func TestRecordRecoveredAfterCrash(t *testing.T) {
	ns := externalNATS(t)
	n1 := startServer(t, clusterNode(ns, "n1"))
	n2 := startServer(t, clusterNode(ns, "n2"))
	st, js := storeOn(t, ns)
	ctx := context.Background()
	ta, tb := mustUser(t, n1, "alice"), mustUser(t, n1, "bob")
	a, b1, b2 := dial(t, n1), dial(t, n2), dial(t, n1)
	a.login("alice", ta, "a1")
	b1.login("bob", tb, "b1")
	b2.login("bob", tb, "b2")

	// A call that ends normally leaves no pending flag behind.
	cr := a.call("bob", protocol.CallAudio, 0)
	b1.invite()
	b2.invite()
	a.mustDo(protocol.ReqCancel, ref(cr.ChannelID), nil)
	b1.peerEvent(protocol.EvUserCancel)
	b2.peerEvent(protocol.EvUserCancel)
	for _, c := range []*wsClient{a, b1, b2} {
		c.record()
	}
	if ch, _, err := st.GetChannel(ctx, cr.ChannelID); err != nil || ch.RecordPending {
		t.Fatalf("ended channel %+v %v: record still pending", ch, err)
	}

	now := time.Now()
	crashed := func(id string) *store.Channel {
		return &store.Channel{
			ID: id, RequestID: "req" + id, Name: id, State: protocol.ChannelEnded,
			From: "alice", FromDevice: "a1", To: "bob", ToDevice: "b1", CallType: protocol.CallVideo,
			CreatedAt: now.Add(-time.Minute).UnixMilli(), ExpiresAt: now.Add(-30 * time.Second).UnixMilli(),
			AcceptedAt: now.Add(-50 * time.Second).UnixMilli(), EndedAt: now.Add(-20 * time.Second).UnixMilli(),
			Status: protocol.StatusCompleted, EndedBy: "alice", EndedDevice: "a1", EndReason: "hangup",
			Node: "crashed-node", RecordPending: true,
		}
	}
	cases := []struct {
		name string
		// stored: the record was written before the crash, so long ago that
		// the channel id no longer deduplicates it (written here without a
		// message id).
		stored bool
	}{
		{"record never written", false},
		{"record written, flag not cleared", true},
	}
	party := func(account string) store.RecordParty {
		acc, _, err := st.GetAccount(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		return store.RecordParty{Account: account, Incarnation: acc.Incarnation()}
	}
	// No subtests: the clients report failures on the test that dialed them.
	for i, tc := range cases {
		func() {
			ch := crashed("crashedChannel" + string(rune('A'+i)))
			if tc.stored {
				rec := protocol.Record{Type: ch.CallType, ChannelID: ch.ID, Status: ch.Status, From: "alice", To: "bob",
					Durations: []protocol.Duration{{Accid: "alice", Duration: 30}, {Accid: "bob", Duration: 30}},
					CreatedAt: ch.CreatedAt, EndedAt: ch.EndedAt}
				body, err := json.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				for _, subj := range []string{"sp.rec.alice." + party("alice").Incarnation + ".bob", "sp.rec.bob." + party("bob").Incarnation + ".alice"} {
					if _, err := js.Publish(ctx, subj, body); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, acct := range []string{"alice", "bob"} {
				if err := st.LockBusy(ctx, acct, ch.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.CreateChannel(ctx, ch); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*wsClient{a, b1, b2} {
				r := c.record()
				if r.ChannelID != ch.ID || r.Status != protocol.StatusCompleted || r.Durations[0].Duration != 30 {
					t.Fatalf("%s: recovered record %+v", tc.name, r)
				}
			}
			deadline := time.Now().Add(waitFor)
			for {
				got, _, err := st.GetChannel(ctx, ch.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.RecordPending {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: record flag never cleared", tc.name)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The flag is cleared by whoever announces, so no second
			// MESSAGE_SENT can follow.
			for _, c := range []*wsClient{a, b1, b2} {
				c.quiet()
			}
			for _, acct := range []string{"alice", "bob"} {
				if holder, _, err := st.BusyHolder(ctx, acct); !store.IsNotFound(err) {
					t.Fatalf("%s: %s still locked by %+v (%v)", tc.name, acct, holder, err)
				}
			}
			page, err := st.Records(ctx, store.RecordsQuery{Owner: party("alice"), Peer: "bob", Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range page.Records {
				if r.ChannelID == ch.ID {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%s: %d records for %s, want exactly one", tc.name, n, ch.ID)
			}
		}()
	}
}
