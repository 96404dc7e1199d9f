package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/server/store"
)

// NATS client settings for a cluster. A server that dies or freezes under
// this process is noticed within a few seconds (pings every second, three
// unanswered close the connection) and the connection moves to another
// server of the cluster at once; publishes meanwhile are buffered.
const (
	natsPingInterval   = time.Second
	natsMaxPingsOut    = 3
	natsReconnectWait  = 100 * time.Millisecond
	natsConnectTimeout = 2 * time.Second
	startBackoffMax    = 2 * time.Second
)

// connectCluster connects to the cluster at NATSURL (several URLs may be
// given, comma-separated; the rest of the cluster is learnt from them).
func (s *Server) connectCluster() (*nats.Conn, error) {
	return nats.Connect(s.cfg.NATSURL,
		nats.Name("softphone-"+s.cfg.NodeID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(natsReconnectWait),
		nats.ReconnectJitter(natsReconnectWait, natsReconnectWait),
		nats.Timeout(natsConnectTimeout),
		nats.PingInterval(natsPingInterval),
		nats.MaxPingsOutstanding(natsMaxPingsOut),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			s.log.Warn("NATS connection lost; reconnecting", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.log.Info("NATS connection restored", "server", RedactURLs(nc.ConnectedUrl()))
			s.gwMu.Lock()
			gw := s.gw
			s.gwMu.Unlock()
			if gw != nil {
				gw.Reconnected()
			}
		}),
	)
}

// RedactURLs hides the credentials of a URL, or of each of a
// comma-separated list, for logs and messages: the password of
// user:password, and a lone user, which NATS takes as a token
// (nats://TOKEN@host). net/url's Redacted keeps the latter. What does not
// parse as a URL is replaced whole if it has an @.
func RedactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil && strings.Contains(p, "@"):
			parts[i] = "[redacted URL]"
		case err != nil || u.User == nil:
		case hasPassword(u.User):
			parts[i] = u.Redacted()
		default:
			u.User = url.User("xxxxx")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

func hasPassword(u *url.Userinfo) bool {
	_, ok := u.Password()
	return ok
}

// startStep runs one step of the start-up until it succeeds, fails for
// good, or the start deadline passes. Failures a retry may cure (a cluster
// still forming, a stream without a leader, a node down) are logged with
// the deadline.
func (s *Server) startStep(ctx context.Context, what string, step func(context.Context) error) error {
	deadline, _ := ctx.Deadline()
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := step(ctx)
		if err == nil {
			if attempt > 1 {
				s.log.Info("start-up step succeeded after retries", "step", what, "attempts", attempt)
			}
			return nil
		}
		retryable := errors.Is(err, store.ErrUnavailable) || store.IsTransient(err) || errors.Is(err, nats.ErrNoServers)
		if !retryable || ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			if ctx.Err() != nil || retryable {
				return fmt.Errorf("server: %s: gave up at the start deadline %s: %w", what, deadline.Format(time.RFC3339), err)
			}
			return fmt.Errorf("server: %s: %w", what, err)
		}
		s.log.Warn("cluster not ready; retrying", "step", what, "attempt", attempt, "err", err, "until", deadline.Format(time.RFC3339))
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, startBackoffMax)
	}
}

// reportReplicas logs the actual replica state of the storage: how many
// copies each stream is configured with and how many are current now.
func (s *Server) reportReplicas(ctx context.Context) error {
	reps, err := s.st.Replicas(ctx)
	if err != nil {
		return fmt.Errorf("server: storage replicas: %w", err)
	}
	for _, r := range reps {
		attrs := []any{"stream", r.Stream, "replicas", r.Configured, "current", r.Current, "leader", r.Leader}
		if r.Configured != s.cfg.Replicas {
			return fmt.Errorf("server: stream %s has %d replicas, want %d", r.Stream, r.Configured, s.cfg.Replicas)
		}
		if r.Current < r.Configured {
			s.log.Warn("storage runs with replicas missing", append(attrs, "lagging", r.Lagging)...)
			continue
		}
		s.log.Info("storage", attrs...)
	}
	s.replicas = reps
	return nil
}

// Replicas reports the storage's replica state as checked at start-up.
func (s *Server) Replicas() []store.StreamReplicas { return s.replicas }
