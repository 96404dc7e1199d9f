package store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// listAttempt bounds one attempt at listing a bucket's keys.
const listAttempt = 30 * time.Second

// bucket is one KV bucket with the store's fault handling (retry.go): every
// operation is retried on transient errors, and a write whose earlier
// attempt may have been applied recognises its own value instead of
// reporting a conflict.
//
// Reads of the buckets whose values decide transitions (accounts, channels,
// busy locks, metadata, nonces) are served by the stream leader: on a
// cluster their streams are created without direct get, which any replica
// answers — a lagging follower would then refuse an accept right after
// INVITED with "channel does not exist", or a relay right after USER_ACCEPT
// with "not in a call". With one replica direct get is the leader's.
type bucket struct {
	name   string
	kv     jetstream.KeyValue
	stream jetstream.Stream
	retry  RetryPolicy
}

func (b *bucket) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	err := b.retry.do(ctx, func(ctx context.Context, _ bool) (err error) {
		e, err = b.kv.Get(ctx, key)
		return err
	})
	return e, err
}

// mine reports whether key now holds exactly value (the write of an
// earlier attempt landed) and returns its revision.
func (b *bucket) mine(ctx context.Context, key string, value []byte) (uint64, bool) {
	e, err := b.kv.Get(ctx, key)
	if err != nil || e.Operation() != jetstream.KeyValuePut || !bytes.Equal(e.Value(), value) {
		return 0, false
	}
	return e.Revision(), true
}

// Create stores a new key; a conflict (IsConflict) means it exists.
func (b *bucket) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	var rev uint64
	err := b.retry.do(ctx, func(ctx context.Context, retried bool) (err error) {
		rev, err = b.kv.Create(ctx, key, value)
		if retried && IsConflict(err) {
			if r, ok := b.mine(ctx, key, value); ok {
				rev, err = r, nil
			}
		}
		return err
	})
	return rev, err
}

// Update writes key if its revision is still last (compare-and-set).
func (b *bucket) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	var rev uint64
	err := b.retry.do(ctx, func(ctx context.Context, retried bool) (err error) {
		rev, err = b.kv.Update(ctx, key, value, last)
		if retried && IsConflict(err) {
			if r, ok := b.mine(ctx, key, value); ok {
				rev, err = r, nil
			}
		}
		return err
	})
	return rev, err
}

// Put writes key unconditionally.
func (b *bucket) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	var rev uint64
	err := b.retry.do(ctx, func(ctx context.Context, _ bool) (err error) {
		rev, err = b.kv.Put(ctx, key, value)
		return err
	})
	return rev, err
}

// Delete leaves a delete marker (watchers see it). With a revision
// condition, a retry that finds the key already deleted is done.
func (b *bucket) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return b.retry.do(ctx, func(ctx context.Context, retried bool) error {
		err := b.kv.Delete(ctx, key, opts...)
		if retried && err != nil && !IsTransient(err) {
			if _, gerr := b.kv.Get(ctx, key); IsNotFound(gerr) {
				return nil
			}
		}
		return err
	})
}

// drop removes key's entry if its revision is still at most rev (0: any),
// without a delete marker: a purge of the key's subject below rev+1 never
// touches a newer write, and is idempotent. Nobody watching sees the
// removal, and the next Create of the key succeeds in one round trip (a
// Create over a marker costs three).
func (b *bucket) drop(ctx context.Context, key string, rev uint64) error {
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(kvSubject(b.name, key))}
	if rev != 0 {
		opts = append(opts, jetstream.WithPurgeSequence(rev+1))
	}
	return b.retry.do(ctx, func(ctx context.Context, _ bool) error {
		return b.stream.Purge(ctx, opts...)
	})
}

// keys lists the bucket's keys. A listing reads the whole bucket, so one
// attempt may take longer than a single read.
func (b *bucket) keys(ctx context.Context) ([]string, error) {
	var out []string
	p := b.retry
	p.Attempt = max(p.Attempt, listAttempt)
	err := p.do(ctx, func(ctx context.Context, _ bool) error {
		lister, err := b.kv.ListKeys(ctx)
		if err != nil {
			return err
		}
		out = out[:0]
		for k := range lister.Keys() {
			out = append(out, k)
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err()
		}
		return nil
	})
	return out, err
}
