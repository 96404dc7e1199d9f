package gateway

import (
	"context"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// transition applies f to the current channel and writes the result by
// compare-and-set on its revision. When another actor wins the race the
// channel is reloaded and f runs again, so it decides with the new state
// (typically returning "already accepted" or similar). f returns false when
// nothing needs writing.
func (g *Gateway) transition(ctx context.Context, id string, f func(c *store.Channel) (bool, error)) (*store.Channel, bool, error) {
	for {
		c, rev, err := g.st.GetChannel(ctx, id)
		if store.IsNotFound(err) || (err == nil && c.SetupUntil != 0) {
			// An unconfirmed channel is still being set up (or its setup
			// failed): no device was invited to it yet.
			return nil, false, protocol.Errorf(protocol.CodeChannelNotFound, "channel %s does not exist", id)
		}
		if err != nil {
			return nil, false, err
		}
		changed, err := f(c)
		if err != nil || !changed {
			return c, false, err
		}
		if _, err := g.st.UpdateChannel(ctx, c, rev); err != nil {
			if store.IsConflict(err) && ctx.Err() == nil {
				continue
			}
			return nil, false, err
		}
		return c, true, nil
	}
}

// endedError tells a loser of a race how the channel ended.
func endedError(c *store.Channel) error {
	switch c.Status {
	case protocol.StatusRejected:
		return protocol.Errorf(protocol.CodeAlreadyRejected, "invite already rejected")
	case protocol.StatusCompleted:
		return protocol.Errorf(protocol.CodeChannelNotFound, "call has ended")
	case protocol.StatusTimeout:
		return protocol.Errorf(protocol.CodeInviteExpired, "invite timed out")
	case protocol.StatusCanceled:
		return protocol.Errorf(protocol.CodeInviteExpired, "invite was cancelled")
	}
	return protocol.Errorf(protocol.CodeInviteExpired, "invite is no longer valid")
}

// end marks c ended with a record status and its record still to write;
// callers write it via transition, then finish writes the record.
func end(c *store.Channel, status int, byAccount, byDevice, reason string, nowMs int64) {
	c.State = protocol.ChannelEnded
	c.Status = status
	c.EndedAt = nowMs
	c.EndedBy = byAccount
	c.EndedDevice = byDevice
	c.EndReason = reason
	c.Switch = nil
	c.RecordPending = true
}

// expireIfDue turns a ringing channel past its deadline into a timeout, so
// every path (accept, reject, cancel, timer, sweeper) agrees on the outcome.
func expireIfDue(c *store.Channel, nowMs int64) bool {
	if c.State == protocol.ChannelRinging && nowMs >= c.ExpiresAt {
		end(c, protocol.StatusTimeout, "", "", "timeout", nowMs)
		return true
	}
	return false
}

// lock takes account's busy lock for channelID with a setup lease. A lock
// left by a call that no longer rings or runs (a crashed finisher, a failed
// setup) is dropped and retaken.
func (g *Gateway) lock(ctx context.Context, account, channelID string, lease time.Time) (bool, error) {
	for range 3 {
		err := g.st.LockBusy(ctx, account, channelID, lease)
		if err == nil {
			return true, nil
		}
		if !store.IsConflict(err) {
			return false, err
		}
		holder, rev, err := g.st.BusyHolder(ctx, account)
		if store.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		if holder.Channel == channelID {
			return true, nil
		}
		stale, err := g.staleLock(ctx, holder)
		if err != nil || !stale {
			return false, err
		}
		if err := g.st.DropBusy(ctx, account, rev); err != nil && !store.IsConflict(err) && !store.IsNotFound(err) {
			return false, err
		}
	}
	return false, nil
}

// staleLock reports whether a lock no longer holds its account: its call
// ended, its setup failed, or its channel is missing after the setup lease.
func (g *Gateway) staleLock(ctx context.Context, l store.Lock) (bool, error) {
	c, _, err := g.st.GetChannel(ctx, l.Channel)
	now := time.Now()
	switch {
	case store.IsNotFound(err):
		return !l.Leased(now), nil
	case err != nil:
		return false, err
	}
	return c.State == protocol.ChannelEnded || c.SetupFailed(now), nil
}

// finish does the work of the winner of a terminal transition: release both
// busy locks and write the one record of the call. It returns the record to
// announce as MESSAGE_SENT, or nil when this actor must not announce it: the
// write failed (a sweeper retries it, see recoverRecord) or another actor
// already completed it.
func (g *Gateway) finish(ctx context.Context, c *store.Channel) *protocol.Record {
	g.stopTimer(c.ID)
	g.releaseLocks(ctx, c)
	rec := recordOf(c)
	from, to, err := g.recordParties(ctx, c)
	if err == nil {
		err = g.st.AddRecord(ctx, rec, from, to)
	}
	if err != nil {
		g.log.Error("record write failed; a sweeper will retry it", "channel", c.ID, "err", err)
		return nil
	}
	if !g.recordWritten(ctx, c.ID) {
		return nil
	}
	return rec
}

// recordParties names the owners of c's record: each party's account in
// the incarnation that took part in the call. Channels stored before
// incarnations were kept get the account's current one.
func (g *Gateway) recordParties(ctx context.Context, c *store.Channel) (from, to store.RecordParty, err error) {
	party := func(account, inc string) (store.RecordParty, error) {
		if inc == "" {
			cur, _, err := g.st.AccountIncarnation(ctx, account)
			if err != nil {
				return store.RecordParty{}, err
			}
			inc = cur
		}
		return store.RecordParty{Account: account, Incarnation: inc}, nil
	}
	if from, err = party(c.From, c.FromInc); err != nil {
		return from, to, err
	}
	to, err = party(c.To, c.ToInc)
	return from, to, err
}

// releaseLocks drops both parties' busy locks if they still point at c.
func (g *Gateway) releaseLocks(ctx context.Context, c *store.Channel) {
	for _, a := range []string{c.From, c.To} {
		if err := g.st.UnlockBusy(ctx, a, c.ID); err != nil {
			g.log.Warn("release busy lock failed", "account", a, "channel", c.ID, "err", err)
		}
	}
}

// recordOf is the record of an ended channel. It depends only on the stored
// channel, so every rewrite produces the same record.
func recordOf(c *store.Channel) *protocol.Record {
	var secs int64
	if c.Status == protocol.StatusCompleted && c.AcceptedAt > 0 {
		secs = (c.EndedAt - c.AcceptedAt + 500) / 1000
	}
	return &protocol.Record{
		Type: c.CallType, ChannelID: c.ID, Status: c.Status, From: c.From, To: c.To,
		Durations: []protocol.Duration{{Accid: c.From, Duration: secs}, {Accid: c.To, Duration: secs}},
		CreatedAt: c.CreatedAt, EndedAt: c.EndedAt,
	}
}

// recordWritten clears the channel's recordPending flag by compare-and-set.
// It reports whether this call cleared it: exactly one actor does, and only
// that one announces the record.
func (g *Gateway) recordWritten(ctx context.Context, id string) bool {
	_, changed, err := g.transition(ctx, id, func(c *store.Channel) (bool, error) {
		if !c.RecordPending {
			return false, nil
		}
		c.RecordPending = false
		return true, nil
	})
	if err != nil {
		g.log.Warn("clearing record flag failed; a sweeper will retry", "channel", id, "err", err)
	}
	return changed
}

// recoverRecord completes an ended channel whose record is still pending
// after its finisher should long have written it (the finisher crashed or
// the store failed): locks are released, the record is written unless it
// is already stored, and the actor that clears the flag sends MESSAGE_SENT.
// Every node's sweeper may run this at once; the channel id deduplicates
// the write and the flag's compare-and-set picks one announcer.
func (g *Gateway) recoverRecord(ctx context.Context, id string) {
	c, _, err := g.st.GetChannel(ctx, id)
	if err != nil || c.State != protocol.ChannelEnded || !c.RecordPending {
		return
	}
	g.releaseLocks(ctx, c)
	rec := recordOf(c)
	from, to, err := g.recordParties(ctx, c)
	if err != nil {
		g.log.Warn("record recovery: parties unknown", "channel", id, "err", err)
		return
	}
	// Records are written after the channel ended; the margin covers clock
	// skew between the node that ended it and the NATS server. Both copies
	// go out together, so the caller's tells whether they were written.
	stored, err := g.st.HasRecord(ctx, from, c.To, c.ID, time.UnixMilli(c.EndedAt).Add(-recordClockSkew))
	if err != nil {
		g.log.Warn("record recovery: lookup failed", "channel", id, "err", err)
		return
	}
	if !stored {
		if err := g.st.AddRecord(ctx, rec, from, to); err != nil {
			g.log.Warn("record recovery: write failed", "channel", id, "err", err)
			return
		}
	}
	if !g.recordWritten(ctx, id) {
		return
	}
	g.log.Info("call record recovered", "channel", id, "alreadyStored", stored)
	g.announceRecord(c, rec)
	pctx, cancel := context.WithTimeout(g.ctx, requestTimeout)
	defer cancel()
	g.announcePresence(pctx, c.From)
	g.announcePresence(pctx, c.To)
}

// recordClockSkew is how much earlier than a channel's end its record may
// carry a stream timestamp.
const recordClockSkew = 5 * time.Minute

// announceEnd publishes the terminal events of an ended channel and then
// the record to every device of both parties.
func (g *Gateway) announceEnd(c *store.Channel, rec *protocol.Record) {
	peer := func(user, device, reason string) *protocol.Peer {
		return &protocol.Peer{ChannelID: c.ID, UserID: user, Device: device, Reason: reason}
	}
	switch c.Status {
	case protocol.StatusBusy:
		g.emit(c.From, route{only: c.FromDevice}, protocol.EvUserBusy, peer(c.To, "", "busy"))
	case protocol.StatusCanceled:
		g.emit(c.To, route{}, protocol.EvUserCancel, peer(c.From, c.FromDevice, c.EndReason))
	case protocol.StatusRejected:
		g.emit(c.From, route{only: c.FromDevice}, protocol.EvUserReject, peer(c.To, c.EndedDevice, ""))
		g.emit(c.To, route{except: c.EndedDevice}, protocol.EvOtherClientReject, peer(c.To, c.EndedDevice, ""))
	case protocol.StatusTimeout:
		g.emit(c.From, route{only: c.FromDevice}, protocol.EvCallingTimeout, peer(c.To, "", "timeout"))
		g.emit(c.To, route{}, protocol.EvCallingTimeout, peer(c.From, "", "timeout"))
	case protocol.StatusCompleted:
		if c.EndReason == reasonPeerGone {
			g.emit(c.From, route{only: c.FromDevice}, protocol.EvCallEnd, peer(c.To, c.ToDevice, reasonPeerGone))
			g.emit(c.To, route{only: c.ToDevice}, protocol.EvCallEnd, peer(c.From, c.FromDevice, reasonPeerGone))
		} else {
			other := c.Peer(c.EndedBy)
			g.emit(other, route{only: c.DeviceOf(other)}, protocol.EvCallEnd, peer(c.EndedBy, c.EndedDevice, c.EndReason))
		}
	}
	g.announceRecord(c, rec)
	ctx, cancel := context.WithTimeout(g.ctx, requestTimeout)
	defer cancel()
	g.announcePresence(ctx, c.From)
	g.announcePresence(ctx, c.To)
}

// announceRecord sends MESSAGE_SENT to every device of both parties that
// is logged in to the incarnation the call belongs to; a nil record is not
// announced. A session passes on a channel's record once (see
// session.deliver): a recovery that announces again, or a device that
// already fetched it after a reconnect, gets no second copy.
func (g *Gateway) announceRecord(c *store.Channel, rec *protocol.Record) {
	if rec == nil {
		return
	}
	g.emit(c.From, route{record: c.ID, inc: c.FromInc}, protocol.EvMessageSent, rec)
	if c.To != c.From {
		g.emit(c.To, route{record: c.ID, inc: c.ToInc}, protocol.EvMessageSent, rec)
	}
}

// emit encodes an event once and routes it.
func (g *Gateway) emit(account string, r route, event string, payload any) {
	b, err := protocol.EncodeEvent(event, payload)
	if err != nil {
		g.log.Error("encode event failed", "event", event, "err", err)
		return
	}
	g.publish(account, b, r)
}

const (
	reasonHangup   = "hangup"
	reasonPeerGone = "peerGone"
)
