// Package store keeps every piece of shared server state in NATS JetStream:
// KV buckets for accounts, channels, busy locks, presence, node liveness,
// admin nonces and metadata, and the "records" stream. Nothing here is held
// in process memory, so any number of gateways can share one cluster.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket and stream names.
const (
	BucketAccounts = "accounts"
	BucketChannels = "channels"
	BucketBusy     = "busy"
	BucketPresence = "presence"
	BucketNodes    = "nodes"
	BucketNonces   = "nonces"
	BucketMeta     = "meta"
	StreamRecords  = "records"
)

// NodeTTL is how long a node stays alive without a heartbeat.
const NodeTTL = 15 * time.Second

// NonceTTL bounds how long an admin nonce is remembered; it exceeds the
// ±300 s CurTime window on both sides, so a nonce can never be replayed.
const NonceTTL = 10 * time.Minute

// Store is the JetStream-backed state of the server.
type Store struct {
	js       jetstream.JetStream
	accounts jetstream.KeyValue
	channels jetstream.KeyValue
	busy     jetstream.KeyValue
	presence jetstream.KeyValue
	nodes    jetstream.KeyValue
	nonces   jetstream.KeyValue
	meta     jetstream.KeyValue
	records  jetstream.Stream

	// The streams behind busy and presence, for removing a key without
	// leaving a delete marker (see dropKey).
	busyStream, presenceStream jetstream.Stream

	known accountCache // accounts seen to exist, kept current by WatchAccounts
}

// Durability. The embedded server fsyncs every write (SyncAlways), because
// accounts, metadata, admin nonces and above all call records must survive
// a crash once acknowledged. The live call state — channels, busy locks,
// device presence, node heartbeats — is written on every call setup and
// login, and an fsync per write put several disk flushes between a call
// request and its INVITED. Those buckets use JetStream's asynchronous
// persist mode where the server allows it (file storage, one replica): a
// write is acknowledged from memory and reaches the file within
// milliseconds, so only a crash of the process (or the machine) inside that
// window loses it. That state dies with the process anyway — every device
// connection does — and recovery tolerates a lost write: a lock whose
// channel is gone or ended is dropped as stale, a channel that lost its end
// is ended again by the sweeper, and the channel id deduplicates its record
// in the records stream. Records stay in the default, synchronous mode.
//
// A bucket keeps the persist mode it was created with (JetStream cannot
// change it), so an existing data directory keeps synchronous buckets.

// bucketSpec is one KV bucket and whether its writes may be persisted
// asynchronously.
type bucketSpec struct {
	kv    *jetstream.KeyValue
	cfg   jetstream.KeyValueConfig
	async bool
}

// Open creates (or updates) every bucket and the records stream. It is
// idempotent and tolerates several processes starting at once on one
// cluster: a lost creation race is retried as an update.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	s := &Store{js: js}
	buckets := []bucketSpec{
		{&s.accounts, jetstream.KeyValueConfig{Bucket: BucketAccounts, Description: "softphone accounts"}, false},
		{&s.channels, jetstream.KeyValueConfig{Bucket: BucketChannels, Description: "softphone call channels"}, true},
		{&s.busy, jetstream.KeyValueConfig{Bucket: BucketBusy, Description: "per-account call locks"}, true},
		{&s.presence, jetstream.KeyValueConfig{Bucket: BucketPresence, Description: "device presence per account"}, true},
		{&s.nodes, jetstream.KeyValueConfig{Bucket: BucketNodes, Description: "gateway liveness", TTL: NodeTTL}, true},
		{&s.nonces, jetstream.KeyValueConfig{Bucket: BucketNonces, Description: "admin API nonces", TTL: NonceTTL}, false},
		{&s.meta, jetstream.KeyValueConfig{Bucket: BucketMeta, Description: "server metadata"}, false},
	}
	for _, b := range buckets {
		b.cfg.Replicas = replicas
		b.cfg.Storage = jetstream.FileStorage
		// Asynchronous persistence is refused for replicated streams.
		async := b.async && replicas == 1
		kv, err := retry(ctx, func() (jetstream.KeyValue, error) { return openBucket(ctx, js, b.cfg, async) })
		if err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b.cfg.Bucket, err)
		}
		*b.kv = kv
	}
	var err error
	if s.busyStream, err = js.Stream(ctx, kvStreamName(BucketBusy)); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketBusy, err)
	}
	if s.presenceStream, err = js.Stream(ctx, kvStreamName(BucketPresence)); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketPresence, err)
	}
	rec, err := retry(ctx, func() (jetstream.Stream, error) {
		return js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:        StreamRecords,
			Description: "call records, one per call",
			Subjects:    []string{recordSubjectPrefix + ">"},
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
			Duplicates:  10 * time.Minute,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StreamRecords, err)
	}
	s.records = rec
	return s, nil
}

// openBucket creates or updates a bucket. A synchronous bucket goes through
// the client's own KV configuration; an asynchronous one is created as the
// same stream with the persist mode set (the KV configuration has no field
// for it), unless it already exists with another mode, which it keeps.
func openBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, async bool) (jetstream.KeyValue, error) {
	if !async {
		return js.CreateOrUpdateKeyValue(ctx, cfg)
	}
	scfg := kvStreamConfig(cfg)
	scfg.PersistMode = jetstream.AsyncPersistMode
	if cur, err := js.Stream(ctx, scfg.Name); err == nil {
		scfg.PersistMode = cur.CachedInfo().Config.PersistMode
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	if _, err := js.CreateOrUpdateStream(ctx, scfg); err != nil {
		return nil, err
	}
	return js.KeyValue(ctx, cfg.Bucket)
}

func kvStreamName(bucket string) string { return "KV_" + bucket }

func kvSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// kvStreamConfig is the stream of a plain KV bucket (no mirror, sources,
// compression or limit markers), as the client library lays it out.
func kvStreamConfig(cfg jetstream.KeyValueConfig) jetstream.StreamConfig {
	history := int64(max(cfg.History, 1))
	dup := 2 * time.Minute
	if cfg.TTL > 0 && cfg.TTL < dup {
		dup = cfg.TTL
	}
	return jetstream.StreamConfig{
		Name:              kvStreamName(cfg.Bucket),
		Description:       cfg.Description,
		Subjects:          []string{kvSubject(cfg.Bucket, ">")},
		MaxMsgsPerSubject: history,
		MaxBytes:          -1,
		MaxAge:            cfg.TTL,
		MaxMsgSize:        -1,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		Storage:           cfg.Storage,
		Replicas:          max(cfg.Replicas, 1),
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       true,
		Duplicates:        dup,
		Discard:           jetstream.DiscardNew,
	}
}

// dropKey removes key's entry from a KV stream if its revision is still at
// most rev: a purge of the key's subject below rev+1 never touches a newer
// write. Unlike a KV delete it leaves no marker, so the next Create of the
// key succeeds in one round trip (a Create over a marker costs three).
// Nobody watches these buckets, so no watcher misses the removal.
func dropKey(ctx context.Context, stream jetstream.Stream, bucket, key string, rev uint64) error {
	return stream.Purge(ctx, jetstream.WithPurgeSubject(kvSubject(bucket, key)), jetstream.WithPurgeSequence(rev+1))
}

// retry runs a creation call a few times: concurrent CreateOrUpdate calls on
// one cluster can fail transiently while another process creates the stream.
func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for attempt := range 5 {
		if v, err = f(); err == nil {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
	return v, err
}

// IsNotFound reports whether err means a missing (or deleted) key.
func IsNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}

// IsConflict reports whether err is a lost compare-and-set: a Create on an
// existing key or an Update on a stale revision.
func IsConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
