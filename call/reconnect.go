package call

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/gorilla/websocket"

	"github.com/softphone/softphone/call/protocol"
)

// backoff returns the wait before reconnect attempt n (1-based): an
// exponential ceiling min·2^(n-1) capped at max, with "equal jitter" (a
// random point in the upper half) so a server restart does not see every
// client return in lockstep; never below min.
func backoff(n int, lo, hi time.Duration, rnd func() float64) time.Duration {
	ceil := hi
	if n < 1 {
		n = 1
	}
	if n <= 32 {
		if c := lo << (n - 1); c > 0 && c < hi {
			ceil = c
		}
	}
	d := ceil/2 + time.Duration(rnd()*float64(ceil/2))
	return max(d, lo)
}

// permanentLoginError reports replies after which retrying the same login
// is pointless (token revoked, account removed, mode refused).
func permanentLoginError(err error) bool {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case protocol.CodeUnauthorized, protocol.CodeForbidden, protocol.CodeNotFound, protocol.CodeBadRequest:
		return true
	}
	return false
}

// endedByServer reports a session the server ended for good: it said so
// with SESSION_ENDED, or (should that frame be lost) closed the connection
// with a policy-violation close frame. Call with Engine.mu held.
func endedByServer(s *session, cause error) *protocol.SessionEnded {
	if s.endedBy != nil {
		return s.endedBy
	}
	var ce *websocket.CloseError
	if errors.As(cause, &ce) && ce.Code == websocket.ClosePolicyViolation {
		msg := ce.Text
		if msg == "" {
			msg = protocol.SessionEndMessage("")
		}
		return &protocol.SessionEnded{Message: msg}
	}
	return nil
}

// supervise owns a session's connections: when one drops it emits
// onDisconnect and reconnects with backoff, logging in again with the same
// device id, until the session ends.
func (e *Engine) supervise(s *session, c *conn) {
	defer e.wg.Done()
	defer close(s.done)
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-c.closed:
		}
		cause := c.failure()
		c.close()
		e.mu.Lock()
		if e.conn == c {
			e.conn = nil
		}
		if ended := endedByServer(s, cause); ended != nil {
			if e.sess == s {
				e.sess = nil
				e.toIdleLocked()
			}
			e.bus.emit(EvDisconnect, DisconnectInfo{Error: ended.Message, Reconnecting: false, Reason: ended.Reason})
			e.mu.Unlock()
			s.cancel()
			e.log.Error("the server ended the session; not reconnecting", "reason", ended.Reason)
			return
		}
		e.bus.emit(EvDisconnect, DisconnectInfo{Error: cause.Error(), Reconnecting: true})
		e.mu.Unlock()
		e.log.Warn("signaling connection lost; reconnecting", "err", cause)
		if e.serverCount() > 1 {
			// Its server may be the one that failed: start with another.
			e.nextServer(e.serverURL())
		}

		nc, err := e.redial(s)
		if err != nil {
			return
		}
		c = nc
		e.replayRecords(s.ctx)
	}
}

// redial retries connect until it succeeds, the session ends, or the server
// refuses the login for good (then the session is over and onDisconnect
// says so).
func (e *Engine) redial(s *session) (*conn, error) {
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(backoff(attempt, e.cfg.ReconnectMin, e.cfg.ReconnectMax, rand.Float64))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return nil, s.ctx.Err()
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, e.cfg.RequestTimeout)
		c, err := e.connect(ctx, s, attempt)
		cancel()
		if err == nil {
			e.log.Info("signaling resumed", "attempts", attempt)
			return c, nil
		}
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		if permanentLoginError(err) {
			e.mu.Lock()
			if e.sess == s {
				e.sess = nil
				e.toIdleLocked()
			}
			e.bus.emit(EvDisconnect, DisconnectInfo{Error: "re-login refused: " + err.Error(), Reconnecting: false})
			e.mu.Unlock()
			s.cancel()
			e.log.Error("re-login refused; giving up", "err", err)
			return nil, err
		}
		e.log.Debug("reconnect attempt failed", "attempt", attempt, "err", err)
	}
}
