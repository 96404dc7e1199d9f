package store

import (
	"context"
	"testing"
	"time"
)

// TestAccountExists checks that the in-memory answer follows removals and
// re-creations seen by the accounts watch, and is not used without one.
func TestAccountExists(t *testing.T) {
	st, _ := openStore(t)
	ctx := t.Context()
	if err := st.CreateAccount(ctx, &Account{Account: "alice", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.AccountExists(ctx, "alice"); err != nil || !ok {
		t.Fatalf("before watch: %v %v", ok, err)
	}
	if st.known.lookup("alice") {
		t.Fatal("cached without a watch")
	}
	wctx, stop := context.WithCancel(ctx)
	updates, err := st.WatchAccounts(wctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range updates {
		}
	}()
	if ok, err := st.AccountExists(ctx, "alice"); err != nil || !ok {
		t.Fatalf("first read: %v %v", ok, err)
	}
	if !st.known.lookup("alice") {
		t.Fatal("not cached under a watch")
	}
	if ok, err := st.AccountExists(ctx, "bob"); err != nil || ok {
		t.Fatalf("missing account: %v %v", ok, err)
	}
	if err := st.DeleteAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { ok, _ := st.AccountExists(ctx, "alice"); return !ok })
	if err := st.CreateAccount(ctx, &Account{Account: "alice", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return st.known.lookup("alice") })
	stop()
	waitFor(t, func() bool { return !st.known.lookup("alice") })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
