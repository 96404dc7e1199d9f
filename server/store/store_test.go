package store

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// openStore opens a store on a fresh embedded server that fsyncs every
// write, as `softphone serve` runs it.
func openStore(t *testing.T) (*Store, jetstream.JetStream) {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		DontListen: true, JetStream: true, StoreDir: t.TempDir(), SyncAlways: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(t.Context(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return st, js
}

// TestPersistModes checks which buckets are persisted asynchronously, and
// that opening an existing store again keeps them as they are.
func TestPersistModes(t *testing.T) {
	ctx := t.Context()
	_, js := openStore(t)
	if _, err := Open(ctx, js, 1); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	want := map[string]jetstream.PersistModeType{
		BucketAccounts: jetstream.DefaultPersistMode, BucketMeta: jetstream.DefaultPersistMode,
		BucketNonces: jetstream.DefaultPersistMode, BucketChannels: jetstream.AsyncPersistMode,
		BucketBusy: jetstream.AsyncPersistMode, BucketPresence: jetstream.AsyncPersistMode,
		BucketNodes: jetstream.AsyncPersistMode,
	}
	for bucket, mode := range want {
		s, err := js.Stream(ctx, kvStreamName(bucket))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.PersistMode; got != mode {
			t.Errorf("bucket %s: persist mode %s, want %s", bucket, got, mode)
		}
	}
	rec, err := js.Stream(ctx, StreamRecords)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.CachedInfo().Config.PersistMode; got != jetstream.DefaultPersistMode {
		t.Errorf("records: persist mode %s, want synchronous", got)
	}
}

// TestBusyLockCycle: a released lock can be taken again, and dropping a
// stale revision never removes a newer lock.
func TestBusyLockCycle(t *testing.T) {
	ctx := t.Context()
	st, _ := openStore(t)
	lease := time.Now().Add(time.Minute)
	if err := st.LockBusy(ctx, "alice", "c1", lease); err != nil {
		t.Fatal(err)
	}
	if err := st.LockBusy(ctx, "alice", "c2", lease); !IsConflict(err) {
		t.Fatalf("second lock: %v, want a conflict", err)
	}
	_, old, err := st.BusyHolder(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UnlockBusy(ctx, "alice", "other"); err != nil {
		t.Fatal(err)
	}
	if h, _, err := st.BusyHolder(ctx, "alice"); err != nil || h.Channel != "c1" || !h.Leased(time.Now()) {
		t.Fatalf("unlock by another channel removed the lock: %+v %v", h, err)
	}
	if err := st.UnlockBusy(ctx, "alice", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.BusyHolder(ctx, "alice"); !IsNotFound(err) {
		t.Fatalf("after unlock: %v, want not found", err)
	}
	if err := st.LockBusy(ctx, "alice", "c2", lease); err != nil {
		t.Fatalf("relock: %v", err)
	}
	if err := st.DropBusy(ctx, "alice", old); err != nil {
		t.Fatal(err)
	}
	if h, _, err := st.BusyHolder(ctx, "alice"); err != nil || h.Channel != "c2" {
		t.Fatalf("dropping the old revision removed the new lock: %+v %v", h, err)
	}
}

// TestPresenceOwnership: devices of one account share an entry, and only
// the login that owns a device's entry marks it gone or clears it.
func TestPresenceOwnership(t *testing.T) {
	ctx := t.Context()
	st, _ := openStore(t)
	set := func(device, session string) {
		t.Helper()
		if _, err := st.SetPresence(ctx, "bob", device, Presence{Node: "n1", Session: session, Since: 1}); err != nil {
			t.Fatal(err)
		}
	}
	set("phone", "s1")
	set("desk", "s2")
	set("phone", "s3") // the phone logged in again
	if ok, err := st.MarkGone(ctx, "bob", "phone", "s1", 5); err != nil || ok {
		t.Fatalf("stale session marked the device gone: %v %v", ok, err)
	}
	if ok, err := st.MarkGone(ctx, "bob", "phone", "s3", 5); err != nil || !ok {
		t.Fatalf("owner could not mark gone: %v %v", ok, err)
	}
	all, err := st.AccountPresence(ctx, "bob")
	if err != nil || len(all) != 2 || all["phone"].GoneAt != 5 || all["desk"].GoneAt != 0 {
		t.Fatalf("presence %+v %v", all, err)
	}
	if err := st.ClearPresence(ctx, "bob", "desk", "s2"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DevicePresence(ctx, "bob", "desk"); err != nil {
		t.Fatalf("a connected device was cleared: %v", err)
	}
	if err := st.ClearPresence(ctx, "bob", "phone", "s3"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DevicePresence(ctx, "bob", "phone"); !IsNotFound(err) {
		t.Fatalf("cleared device: %v, want not found", err)
	}
	if ok, err := st.MarkGone(ctx, "bob", "desk", "s2", 7); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := st.ClearPresence(ctx, "bob", "desk", "s2"); err != nil {
		t.Fatal(err)
	}
	if all, err := st.AccountPresence(ctx, "bob"); err != nil || len(all) != 0 {
		t.Fatalf("empty account: %+v %v", all, err)
	}
	set("desk", "s4") // the entry was removed; a new login creates it again
	if p, err := st.DevicePresence(ctx, "bob", "desk"); err != nil || p.Session != "s4" {
		t.Fatalf("%+v %v", p, err)
	}
}
