// Package store keeps every piece of shared server state in NATS JetStream:
// KV buckets for accounts, channels, busy locks, presence, node liveness,
// admin nonces and metadata, and the "records" stream. Nothing here is held
// in process memory, so any number of gateways can share one cluster.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// nodeRetention is how long a node's last heartbeat is kept after it
// stopped: long enough to bill the calls of its devices up to that moment.
const nodeRetention = time.Hour

// NonceTTL bounds how long an admin nonce is remembered; it exceeds the
// ±300 s CurTime window on both sides, so a nonce can never be replayed.
const NonceTTL = 10 * time.Minute

// Store is the JetStream-backed state of the server.
type Store struct {
	js       jetstream.JetStream
	accounts *bucket
	channels *bucket
	busy     *bucket
	presence *bucket
	nodes    *bucket
	nonces   *bucket
	meta     *bucket
	records  jetstream.Stream
	retry    RetryPolicy
	replicas int

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
//
// Replicas. Every bucket and the records stream get the configured replica
// count (serve.replicas: 3 on a NATS cluster, 1 embedded), never one
// derived from how many servers happen to be reachable. An existing stream
// with fewer replicas is scaled up; one with more is never lowered: Open
// refuses with a DowngradeError instead.

// bucketSpec is one KV bucket: whether its writes may be persisted
// asynchronously and whether any replica may answer its reads (direct get)
// rather than the stream leader alone.
type bucketSpec struct {
	b      **bucket
	cfg    jetstream.KeyValueConfig
	async  bool
	direct bool
}

// Open creates (or updates) every bucket and the records stream with the
// given replica count. It is idempotent and tolerates several processes
// starting at once on one cluster: a lost creation race is retried as an
// update. A stream that already has the wanted configuration is left
// untouched, so a start while one cluster node is down works.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	s := &Store{js: js, retry: DefaultRetry, replicas: replicas}
	buckets := []bucketSpec{
		{&s.accounts, jetstream.KeyValueConfig{Bucket: BucketAccounts, Description: "softphone accounts"}, false, false},
		{&s.channels, jetstream.KeyValueConfig{Bucket: BucketChannels, Description: "softphone call channels"}, true, false},
		{&s.busy, jetstream.KeyValueConfig{Bucket: BucketBusy, Description: "per-account call locks"}, true, false},
		{&s.presence, jetstream.KeyValueConfig{Bucket: BucketPresence, Description: "device presence per account"}, true, true},
		{&s.nodes, jetstream.KeyValueConfig{Bucket: BucketNodes, Description: "gateway liveness", TTL: nodeRetention}, true, true},
		{&s.nonces, jetstream.KeyValueConfig{Bucket: BucketNonces, Description: "admin API nonces", TTL: NonceTTL}, false, false},
		{&s.meta, jetstream.KeyValueConfig{Bucket: BucketMeta, Description: "server metadata"}, false, false},
	}
	for _, spec := range buckets {
		spec.cfg.Replicas = replicas
		spec.cfg.Storage = jetstream.FileStorage
		scfg := kvStreamConfig(spec.cfg)
		// With one replica the only server answering a direct get is the
		// leader, and the direct path is the cheaper one.
		scfg.AllowDirect = spec.direct || replicas == 1
		// Asynchronous persistence is refused for replicated streams.
		stream, err := s.ensureStream(ctx, scfg, spec.async && replicas == 1)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", spec.cfg.Bucket, err)
		}
		var kv jetstream.KeyValue
		err = s.retry.do(ctx, func(ctx context.Context, _ bool) (err error) {
			kv, err = js.KeyValue(ctx, spec.cfg.Bucket)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", spec.cfg.Bucket, err)
		}
		*spec.b = &bucket{name: spec.cfg.Bucket, kv: kv, stream: stream, retry: s.retry}
	}
	rec, err := s.ensureStream(ctx, jetstream.StreamConfig{
		Name:        StreamRecords,
		Description: "call records, one per call and party",
		Subjects:    []string{legacyRecordSubjectPrefix + ">", recordSubjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Duplicates:  recordDedupWindow,
	}, false)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamRecords, err)
	}
	s.records = rec
	return s, nil
}

// DowngradeError refuses to lower the replica count of an existing stream:
// that would drop copies of the data for the whole cluster, for good.
type DowngradeError struct {
	Stream     string
	Have, Want int
}

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("stream %s has %d replicas but serve.replicas is %d: refusing to lower it "+
		"(set serve.replicas / --replicas to %d, or scale the stream down yourself)", e.Stream, e.Have, e.Want, e.Have)
}

// ensureStream creates want, or updates an existing stream to it when they
// differ. An existing stream keeps its persist mode and placement; a new
// one is persisted asynchronously when async is set.
func (s *Store) ensureStream(ctx context.Context, want jetstream.StreamConfig, async bool) (jetstream.Stream, error) {
	var stream jetstream.Stream
	err := s.retry.do(ctx, func(ctx context.Context, _ bool) error {
		cur, err := s.js.Stream(ctx, want.Name)
		switch {
		case err == nil:
			have := cur.CachedInfo().Config
			if have.Replicas > want.Replicas {
				return &DowngradeError{Stream: want.Name, Have: have.Replicas, Want: want.Replicas}
			}
			want.PersistMode = have.PersistMode
			want.Placement = have.Placement
			if want.PersistMode == jetstream.AsyncPersistMode && want.Replicas > 1 {
				return fmt.Errorf("stream %s is persisted asynchronously (created for one replica), "+
					"which JetStream cannot replicate: with every serve stopped, delete it once "+
					"(it holds only live call state) and start again", want.Name)
			}
			if sameStreamConfig(have, want) {
				stream = cur
				return nil
			}
		case errors.Is(err, jetstream.ErrStreamNotFound):
			if async {
				want.PersistMode = jetstream.AsyncPersistMode
			}
		default:
			return err
		}
		stream, err = s.js.CreateOrUpdateStream(ctx, want)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeReplicasNotClustered {
			return fmt.Errorf("the NATS server is not part of a cluster, so it keeps a single copy: "+
				"set serve.replicas to 1 (--replicas 1) or run a NATS cluster: %w", err)
		}
		return err
	})
	return stream, err
}

// errCodeReplicasNotClustered is JetStream's "replicas > 1 not supported in
// non-clustered mode".
const errCodeReplicasNotClustered = 10074

// sameStreamConfig compares the settings Open manages.
func sameStreamConfig(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Replicas == want.Replicas &&
		have.MaxAge == want.MaxAge && have.AllowDirect == want.AllowDirect &&
		have.MaxMsgsPerSubject == want.MaxMsgsPerSubject && have.Duplicates == want.Duplicates &&
		have.Description == want.Description && have.Storage == want.Storage &&
		have.DenyDelete == want.DenyDelete && have.AllowRollup == want.AllowRollup &&
		have.Discard == want.Discard
}

// StreamReplicas is what a start-up check reports for one stream.
type StreamReplicas struct {
	Stream     string
	Configured int      // replicas in the stream's configuration
	Current    int      // replicas online and current (the leader included)
	Leader     string   // "" while the stream has no leader
	Lagging    []string // peers offline or behind
}

// Replicas reports the actual replica state of every bucket and the
// records stream.
func (s *Store) Replicas(ctx context.Context) ([]StreamReplicas, error) {
	var out []StreamReplicas
	for _, name := range []string{
		kvStreamName(BucketAccounts), kvStreamName(BucketChannels), kvStreamName(BucketBusy),
		kvStreamName(BucketPresence), kvStreamName(BucketNodes), kvStreamName(BucketNonces),
		kvStreamName(BucketMeta), StreamRecords,
	} {
		var info *jetstream.StreamInfo
		err := s.retry.do(ctx, func(ctx context.Context, _ bool) error {
			st, err := s.js.Stream(ctx, name)
			if err == nil {
				info = st.CachedInfo()
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		r := StreamReplicas{Stream: name, Configured: info.Config.Replicas, Current: 1}
		if c := info.Cluster; c != nil {
			r.Leader = c.Leader
			if c.Leader == "" {
				r.Current = 0
			}
			for _, p := range c.Replicas {
				if p.Current && !p.Offline {
					r.Current++
				} else {
					r.Lagging = append(r.Lagging, p.Name)
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
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

// IsNotFound reports whether err means a missing (or deleted) key.
func IsNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}

// IsConflict reports whether err is a lost compare-and-set: a Create on an
// existing key or an Update on a stale revision.
func IsConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
