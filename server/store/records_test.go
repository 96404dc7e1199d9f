package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/call/protocol"
)

func testRecord(id, from, to string, created int64) *protocol.Record {
	return &protocol.Record{
		Type: protocol.CallAudio, ChannelID: id, Status: protocol.StatusCompleted, From: from, To: to,
		Durations: []protocol.Duration{{Accid: from, Duration: 3}, {Accid: to, Duration: 3}},
		CreatedAt: created, EndedAt: created + 3000,
	}
}

// allPages pages through q's records and checks every page against the
// byte budget.
func allPages(t *testing.T, st *Store, q RecordsQuery) []protocol.Record {
	t.Helper()
	var out []protocol.Record
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		page, err := st.Records(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(page.Records); q.MaxBytes > 0 && len(b) > q.MaxBytes {
			t.Fatalf("page of %d bytes exceeds %d", len(b), q.MaxBytes)
		}
		if len(page.Records) > q.Limit {
			t.Fatalf("page of %d records, limit %d", len(page.Records), q.Limit)
		}
		out = append(out, page.Records...)
		if page.Next == "" {
			return out
		}
		if len(page.Records) == 0 {
			t.Fatal("empty page with a next cursor")
		}
		q.Cursor = page.Next
	}
}

// TestRecordsPaging stores interleaved records of several accounts and pages
// through one account's history: every record exactly once, newest first,
// pages within their limit and byte budget, records added while paging not
// disturbing the pages already handed out.
func TestRecordsPaging(t *testing.T) {
	ctx := t.Context()
	st, _ := openStore(t)
	alice := RecordParty{"alice", "i1"}
	const n = 240
	for i := range n {
		peer := []string{"bob", "carol", "dave"}[i%3]
		if err := st.AddRecord(ctx, testRecord(fmt.Sprintf("c%04d", i), "alice", peer, int64(i)), alice, RecordParty{peer, "p"}); err != nil {
			t.Fatal(err)
		}
		// Other accounts' records in between make alice's sparse.
		if err := st.AddRecord(ctx, testRecord(fmt.Sprintf("x%04d", i), "erin", "frank", int64(i)), RecordParty{"erin", "e"}, RecordParty{"frank", "f"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []RecordsQuery{
		{Owner: alice, Limit: 50},
		{Owner: alice, Limit: 500, MaxBytes: 8 << 10},
		{Owner: alice, Limit: 1},
	} {
		got := allPages(t, st, q)
		if len(got) != n {
			t.Fatalf("limit %d, budget %d: %d records, want %d", q.Limit, q.MaxBytes, len(got), n)
		}
		for i, r := range got {
			if want := fmt.Sprintf("c%04d", n-1-i); r.ChannelID != want {
				t.Fatalf("record %d is %s, want %s (newest first, each once)", i, r.ChannelID, want)
			}
		}
	}
	bob := allPages(t, st, RecordsQuery{Owner: alice, Peer: "bob", Limit: 30})
	if len(bob) != n/3 {
		t.Fatalf("%d records with bob, want %d", len(bob), n/3)
	}
	for _, r := range bob {
		if r.To != "bob" {
			t.Fatalf("peer filter let through %+v", r)
		}
	}

	// A new record after the first page goes to the front, not into the
	// pages still to come.
	first, err := st.Records(ctx, RecordsQuery{Owner: alice, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddRecord(ctx, testRecord("late", "alice", "bob", 1e6), alice, RecordParty{"bob", "p"}); err != nil {
		t.Fatal(err)
	}
	rest := allPages(t, st, RecordsQuery{Owner: alice, Limit: 100, Cursor: first.Next})
	if len(first.Records)+len(rest) != n || rest[0].ChannelID != fmt.Sprintf("c%04d", n-11) {
		t.Fatalf("paging after a new record: %d + %d records, next %s", len(first.Records), len(rest), rest[0].ChannelID)
	}
	if _, err := st.Records(ctx, RecordsQuery{Owner: alice, Cursor: "x"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

// TestRecordsBelongToIncarnation: an account removed and created again
// starts without history; its peer keeps the shared record; a record
// written twice (a retried or recovered write) is stored once per party.
func TestRecordsBelongToIncarnation(t *testing.T) {
	ctx := t.Context()
	st, _ := openStore(t)
	old, bob := RecordParty{"alice", "old"}, RecordParty{"bob", "b"}
	r := testRecord("c1", "alice", "bob", 1)
	for range 2 {
		if err := st.AddRecord(ctx, r, old, bob); err != nil {
			t.Fatal(err)
		}
	}
	if got := allPages(t, st, RecordsQuery{Owner: RecordParty{"alice", "new"}, Limit: 10}); len(got) != 0 {
		t.Fatalf("the new alice sees %+v", got)
	}
	for _, owner := range []RecordParty{old, bob} {
		if got := allPages(t, st, RecordsQuery{Owner: owner, Limit: 10}); len(got) != 1 || got[0].ChannelID != "c1" {
			t.Fatalf("%s sees %+v", owner.Account, got)
		}
	}
	if rec, ok, err := st.RecordOf(ctx, bob, "alice", "c1"); err != nil || !ok || rec.ChannelID != "c1" {
		t.Fatalf("RecordOf: %+v %v %v", rec, ok, err)
	}
	if ok, err := st.HasRecord(ctx, old, "bob", "c1", time.Now().Add(-time.Minute)); err != nil || !ok {
		t.Fatalf("HasRecord: %v %v", ok, err)
	}
	if ok, err := st.HasRecord(ctx, old, "bob", "c2", time.Now().Add(-time.Minute)); err != nil || ok {
		t.Fatalf("HasRecord of another call: %v %v", ok, err)
	}
}

// TestMigrateRecords moves records of the old layout to each party that
// existed at the time of the call.
func TestMigrateRecords(t *testing.T) {
	ctx := t.Context()
	st, js := openStore(t)
	created := time.Now().Add(-time.Hour).UTC()
	for _, a := range []string{"alice", "bob"} {
		if err := st.CreateAccount(ctx, &Account{Account: a, CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
	}
	// carol was created after the call she took part in: another user.
	if err := st.CreateAccount(ctx, &Account{Account: "carol", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	legacy := func(r *protocol.Record) {
		b, _ := json.Marshal(r)
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: legacyRecordSubjectPrefix + r.From + "." + r.To, Data: b}); err != nil {
			t.Fatal(err)
		}
	}
	callTime := created.Add(time.Minute).UnixMilli()
	legacy(testRecord("l1", "alice", "bob", callTime))
	legacy(testRecord("l2", "bob", "carol", callTime))
	legacy(testRecord("l3", "alice", "gone", callTime))
	moved, err := st.MigrateRecords(ctx)
	if err != nil || moved != 3 {
		t.Fatalf("migrated %d: %v", moved, err)
	}
	party := func(a string) RecordParty {
		acc, _, err := st.GetAccount(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return RecordParty{a, acc.Incarnation()}
	}
	ids := func(owner RecordParty) string {
		var s []string
		for _, r := range allPages(t, st, RecordsQuery{Owner: owner, Limit: 10}) {
			s = append(s, r.ChannelID)
		}
		return strings.Join(s, ",")
	}
	for who, want := range map[string]string{"alice": "l3,l1", "bob": "l2,l1", "carol": ""} {
		if got := ids(party(who)); got != want {
			t.Errorf("%s: records %q, want %q", who, got, want)
		}
	}
	if again, err := st.MigrateRecords(ctx); err != nil || again != 0 {
		t.Fatalf("second migration moved %d: %v", again, err)
	}
}
