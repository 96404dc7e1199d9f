package gateway

import (
	"context"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// The ring timeout has one authority: the server. The node that created a
// channel arms a timer for its deadline; every node also sweeps its index of
// live channels each second, so a deadline is enforced even if that node
// died. Both paths end the channel by compare-and-set, so exactly one wins.
// The sweep also writes the record of an ended channel whose finisher died
// before writing it (recoverRecord).

func (g *Gateway) armTimer(id string, deadline time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return
	}
	g.timers[id] = time.AfterFunc(time.Until(deadline), func() {
		g.mu.Lock()
		delete(g.timers, id)
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(g.ctx, requestTimeout)
		defer cancel()
		g.expire(ctx, id)
	})
}

func (g *Gateway) stopTimer(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.timers[id]; t != nil {
		t.Stop()
		delete(g.timers, id)
	}
}

// expire ends a ringing channel whose deadline passed.
func (g *Gateway) expire(ctx context.Context, id string) {
	c, changed, err := g.transition(ctx, id, func(c *store.Channel) (bool, error) {
		return expireIfDue(c, time.Now().UnixMilli()), nil
	})
	if err != nil || !changed {
		return
	}
	g.log.Info("call timed out", "channel", id)
	g.announceEnd(c, g.finish(ctx, c))
}

// partyGone ends a channel whose device has been away longer than the
// reconnect grace: a connected call completes, a ringing one is cancelled.
// A completed call is billed up to when the device was last known present
// (lastSeen; zero when unknown), not up to when its absence was noticed.
func (g *Gateway) partyGone(ctx context.Context, id, account, device string, lastSeen time.Time) {
	c, changed, err := g.transition(ctx, id, func(c *store.Channel) (bool, error) {
		if c.DeviceOf(account) != device {
			return false, nil
		}
		now := time.Now().UnixMilli()
		switch {
		case expireIfDue(c, now):
		case c.State == protocol.ChannelActive:
			endAt := now
			if !lastSeen.IsZero() {
				endAt = max(c.AcceptedAt, min(now, lastSeen.UnixMilli()))
			}
			end(c, protocol.StatusCompleted, "", "", reasonPeerGone, endAt)
		case c.State == protocol.ChannelRinging && account == c.From:
			end(c, protocol.StatusCanceled, "", "", reasonPeerGone, now)
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil || !changed {
		return
	}
	g.log.Info("call ended: device gone", "channel", id, "account", account, "device", device)
	g.announceEnd(c, g.finish(ctx, c))
}

// sweeper holds this node's view of live channels (from a KV watch) and
// when each party device was first seen missing.
type sweeper struct {
	live     map[string]*store.Channel
	revs     map[string]uint64
	goneSeen map[string]time.Time // "<account>.<device>" → first seen missing
}

// forget drops a channel removed from the store.
func (sw *sweeper) forget(id string) {
	delete(sw.live, id)
	delete(sw.revs, id)
}

func (g *Gateway) sweepLoop(updates <-chan store.ChannelUpdate) {
	sw := &sweeper{live: map[string]*store.Channel{}, revs: map[string]uint64{}, goneSeen: map[string]time.Time{}}
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			if u.Channel == nil {
				sw.forget(u.ID)
				continue
			}
			sw.live[u.ID] = u.Channel
			sw.revs[u.ID] = u.Revision
		case <-t.C:
			ctx, cancel := context.WithTimeout(g.ctx, 5*sweepInterval)
			g.sweep(ctx, sw)
			cancel()
		}
	}
}

func (g *Gateway) sweep(ctx context.Context, sw *sweeper) {
	now := time.Now()
	nodes := map[string]nodeSeen{}
	seen := map[string]bool{}
	for id, c := range sw.live {
		if ctx.Err() != nil {
			return
		}
		if c.SetupUntil != 0 {
			// Debris of a setup that failed and could not undo itself. No
			// device was invited: it goes without events or a record.
			if c.SetupFailed(now) {
				if err := g.removeSetup(ctx, id, c.From, c.To, sw.revs[id]); err == nil {
					g.log.Info("removed the channel of a failed call setup", "channel", id)
					sw.forget(id)
				}
			}
			continue
		}
		switch c.State {
		case protocol.ChannelEnded:
			ended := now.Sub(time.UnixMilli(c.EndedAt))
			switch {
			case c.RecordPending:
				// The finisher writes the record within moments; one still
				// missing after recordRetryAfter is written here. The
				// channel is kept until then.
				if ended >= recordRetryAfter {
					g.recoverRecord(ctx, id)
				}
			case ended > endedRetention:
				// Removals leave no marker for the watch to report, so
				// every node forgets the channel itself once it tried.
				if err := g.st.DeleteChannel(ctx, id, sw.revs[id]); err == nil {
					sw.forget(id)
				}
			}
			continue
		case protocol.ChannelRinging:
			if now.UnixMilli() >= c.ExpiresAt {
				g.expire(ctx, id)
				continue
			}
		}
		for _, acct := range []string{c.From, c.To} {
			dev := c.DeviceOf(acct)
			if dev == "" {
				continue // a ringing callee has no device yet
			}
			key := acct + "." + dev
			seen[key] = true
			lastSeen, gone := g.deviceGoneSince(ctx, acct, dev, nodes)
			if !gone {
				delete(sw.goneSeen, key)
				continue
			}
			since := lastSeen
			if since.IsZero() {
				if first, ok := sw.goneSeen[key]; ok {
					since = first
				} else {
					sw.goneSeen[key] = now
					since = now
				}
			}
			if now.Sub(since) > g.cfg.ReconnectGrace {
				g.partyGone(ctx, id, acct, dev, lastSeen)
				break
			}
		}
	}
	for key := range sw.goneSeen {
		if !seen[key] {
			delete(sw.goneSeen, key)
		}
	}
}

// deviceGoneSince reports whether a device is away, and since when it was
// last known present: when its connection ended (or last spoke, if it went
// silent), or its node's last heartbeat if the node died. The time is zero
// when unknown (no presence entry).
func (g *Gateway) deviceGoneSince(ctx context.Context, account, device string, nodes map[string]nodeSeen) (time.Time, bool) {
	p, err := g.st.DevicePresence(ctx, account, device)
	if store.IsNotFound(err) {
		return time.Time{}, true
	}
	if err != nil {
		return time.Time{}, false
	}
	if p.GoneAt != 0 {
		return time.UnixMilli(p.GoneAt), true
	}
	if n := g.nodeState(ctx, p.Node, nodes); !n.alive {
		return n.seen, true
	}
	return time.Time{}, false
}
