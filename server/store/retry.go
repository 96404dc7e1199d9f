package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Faults. On a NATS cluster a stream has no leader for a while after its
// leader died (NATS elects a new one after 4–9 s of silence), and a
// connection whose server died is re-established on another one. Requests
// meanwhile time out or find no responder. Every store operation therefore
// runs in attempts with a short timeout each, retried with backoff until a
// budget is spent; only then does the caller see the error (the gateway
// answers it as a retryable 503).
//
// A timed-out write may still have been applied. Writes are made safe to
// repeat: a Create or compare-and-set Update that loses to a stored value
// equal to its own (the same bytes: a channel or lock carries a random id
// and timestamps, so equal bytes are this writer's) counts as done, purges
// are idempotent, and records carry a dedup id.

// RetryPolicy bounds the attempts of one store operation.
type RetryPolicy struct {
	Attempt time.Duration // timeout of one attempt
	Budget  time.Duration // total time spent retrying before giving up
	Base    time.Duration // first backoff; doubles up to Max, with jitter
	Max     time.Duration
}

// DefaultRetry waits out a stream leader election (up to ~9 s) within a
// request's 10 s, so a setup during one is slowed rather than refused.
var DefaultRetry = RetryPolicy{Attempt: time.Second, Budget: 9 * time.Second, Base: 25 * time.Millisecond, Max: 500 * time.Millisecond}

// ErrUnavailable wraps the last error of an operation that stayed
// transient for the whole retry budget.
var ErrUnavailable = errors.New("store temporarily unavailable")

// IsTransient reports errors that a retry may cure: timeouts, no
// responders, a connection being re-established, a cluster without a
// leader for the stream (503) or with peers missing for a placement.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout), errors.Is(err, jetstream.ErrNoHeartbeat):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no suitable peers for placement (a node is down)
			10008, // JetStream system temporarily unavailable
			10009: // cluster cannot handle the request (no leader)
			return true
		}
		return apiErr.Code == 503 || apiErr.Code == 408
	}
	return false
}

// do runs op in attempts until it succeeds, fails for good, the budget is
// spent or ctx ends. op learns whether an earlier attempt may have been
// applied (retried), so a write can recognise its own earlier success.
func (p RetryPolicy) do(ctx context.Context, op func(ctx context.Context, retried bool) error) error {
	deadline := time.Now().Add(p.Budget)
	backoff := p.Base
	var err error
	for retried := false; ; retried = true {
		actx, cancel := context.WithTimeout(ctx, p.Attempt)
		err = op(actx, retried)
		cancel()
		if err == nil || !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		wait := backoff/2 + rand.N(backoff)
		if time.Now().Add(wait).After(deadline) {
			return errors.Join(ErrUnavailable, err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(2*backoff, p.Max)
	}
}
