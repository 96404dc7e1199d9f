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
}

// Open creates (or updates) every bucket and the records stream. It is
// idempotent and tolerates several processes starting at once on one
// cluster: a lost creation race is retried as an update.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	s := &Store{js: js}
	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&s.accounts, jetstream.KeyValueConfig{Bucket: BucketAccounts, Description: "softphone accounts"}},
		{&s.channels, jetstream.KeyValueConfig{Bucket: BucketChannels, Description: "softphone call channels"}},
		{&s.busy, jetstream.KeyValueConfig{Bucket: BucketBusy, Description: "per-account call locks"}},
		{&s.presence, jetstream.KeyValueConfig{Bucket: BucketPresence, Description: "device presence"}},
		{&s.nodes, jetstream.KeyValueConfig{Bucket: BucketNodes, Description: "gateway liveness", TTL: NodeTTL}},
		{&s.nonces, jetstream.KeyValueConfig{Bucket: BucketNonces, Description: "admin API nonces", TTL: NonceTTL}},
		{&s.meta, jetstream.KeyValueConfig{Bucket: BucketMeta, Description: "server metadata"}},
	}
	for _, b := range buckets {
		b.cfg.Replicas = replicas
		b.cfg.Storage = jetstream.FileStorage
		kv, err := retry(ctx, func() (jetstream.KeyValue, error) { return js.CreateOrUpdateKeyValue(ctx, b.cfg) })
		if err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b.cfg.Bucket, err)
		}
		*b.kv = kv
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
