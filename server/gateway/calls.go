package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// call creates a ringing channel, takes both busy locks and invites every
// device of the callee. The work before INVITED is the minimum that decides
// the call: the callee account's existence (usually from memory), then the
// channel and both locks written at once (three writes in flight, one round
// trip), then the confirmation that the setup completed (one write); presence
// and the reply's calleeOnline come after. A callee that holds a lock makes
// the call end busy right here, so busy is decided before any timer exists.
//
// A setup cannot leave debris behind: until it is confirmed the channel and
// its locks carry a lease, and whatever fails before the confirmation is
// undone with a context of its own, in the background, so the client gets
// its (retryable) error at once. If even that fails — NATS unreachable for
// longer than the undo tries — the lease runs out: the locks count as stale
// and any node's sweeper removes the channel, without events or a record,
// since no device was ever invited.
func (s *session) call(ctx context.Context, req *protocol.Call) (any, func(), error) {
	g := s.g
	if req.To == s.account {
		return nil, nil, protocol.Errorf(protocol.CodeBadRequest, "cannot call yourself")
	}
	// Served from the accounts watch for accounts seen before (see
	// store.AccountIncarnation); a miss reads the account.
	calleeInc, exists, err := g.st.AccountIncarnation(ctx, req.To)
	if err != nil {
		return nil, nil, err
	} else if !exists {
		return nil, nil, protocol.Errorf(protocol.CodeNotFound, "account %q not found", req.To)
	}
	timeout := protocol.DefaultCallTimeout
	if req.TimeoutMs > 0 {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	}
	now := time.Now()
	lease := now.Add(setupLease)
	c := &store.Channel{
		ID: auth.RandomID(channelIDLength), RequestID: auth.RandomID(requestIDLength), State: protocol.ChannelRinging,
		From: s.account, FromNick: s.nick, FromDevice: s.device, To: req.To, CallType: req.CallType,
		Attachment: req.Attachment, CreatedAt: now.UnixMilli(), ExpiresAt: now.Add(timeout).UnixMilli(), Node: g.node,
		SetupUntil: lease.UnixMilli(), FromInc: s.inc, ToInc: calleeInc,
	}
	c.Name = c.ID
	// The setup's writes must land within setupConfirmBy: past it (and the
	// lease) another setup may take the locks as stale.
	sctx, cancel := context.WithDeadline(ctx, now.Add(setupConfirmBy))
	defer cancel()
	rev, callerOK, calleeOK, err := g.takeCall(sctx, c, lease)
	if err != nil || !callerOK {
		g.abandonSetup(c)
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, protocol.Errorf(protocol.CodeCallBusy, "you are already in a call")
	}
	reply := &protocol.CallReply{ChannelID: c.ID, RequestID: c.RequestID, ChannelName: c.Name,
		CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
	c.SetupUntil = 0
	if !calleeOK {
		end(c, protocol.StatusBusy, "", "", "busy", time.Now().UnixMilli())
		if _, err := g.st.UpdateChannel(ctx, c, rev); err != nil {
			g.abandonSetup(c)
			return nil, nil, err
		}
		rec := g.finish(ctx, c)
		reply.CalleeOnline = g.accountOnline(ctx, req.To)
		return reply, func() { g.announceEnd(c, rec) }, nil
	}
	if _, err := g.st.UpdateChannel(sctx, c, rev); err != nil {
		g.abandonSetup(c)
		if sctx.Err() != nil && ctx.Err() == nil {
			return nil, nil, protocol.Errorf(protocol.CodeUnavailable, "call setup took too long (server state slow to answer); try again")
		}
		return nil, nil, err
	}
	g.armTimer(c.ID, time.UnixMilli(c.ExpiresAt))
	// The call is decided: INVITED goes out first, before the reply and
	// before anything else is read. It is routed to the callee's devices
	// only, never to this connection (a call to oneself is refused), so it
	// cannot overtake the reply.
	g.emit(req.To, route{}, protocol.EvInvited, inviteOf(c))
	reply.CalleeOnline = g.accountOnline(ctx, req.To)
	return reply, func() {
		pctx, cancel := context.WithTimeout(g.ctx, requestTimeout)
		defer cancel()
		g.announcePresence(pctx, s.account)
		g.announcePresence(pctx, req.To)
	}, nil
}

// Setup leases: a lock or unconfirmed channel counts for setupLease after
// the setup began; the setup confirms only within setupConfirmBy, which
// leaves room for clock skew between nodes.
const (
	setupLease     = 15 * time.Second
	setupConfirmBy = 10 * time.Second
	// undoTimeout bounds the background undo of a failed setup.
	undoTimeout = 30 * time.Second
)

// takeCall writes the unconfirmed channel and takes both parties' locks,
// all at once. callerOK/calleeOK are false when that party is busy.
func (g *Gateway) takeCall(ctx context.Context, c *store.Channel, lease time.Time) (rev uint64, callerOK, calleeOK bool, err error) {
	var (
		wg        sync.WaitGroup
		createErr error
		calleeErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		rev, createErr = g.st.CreateChannel(ctx, c)
	}()
	go func() {
		defer wg.Done()
		calleeOK, calleeErr = g.lock(ctx, c.To, c.ID, lease)
	}()
	callerOK, callerErr := g.lock(ctx, c.From, c.ID, lease)
	wg.Wait()
	return rev, callerOK, calleeOK, errors.Join(createErr, callerErr, calleeErr)
}

// abandonSetup undoes a setup that failed: both locks, if they still name
// the channel, then the channel. It runs in the background with a context
// of its own, so neither an expired request nor a slow store holds up the
// client's error.
func (g *Gateway) abandonSetup(c *store.Channel) {
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		ctx, cancel := context.WithTimeout(g.ctx, undoTimeout)
		defer cancel()
		if err := g.removeSetup(ctx, c.ID, c.From, c.To, 0); err != nil {
			g.log.Warn("undoing a failed call setup failed; its lease will expire", "channel", c.ID, "err", err)
		}
	}()
}

// removeSetup removes an unconfirmed channel and the locks naming it (rev 0:
// whatever revision the channel has).
func (g *Gateway) removeSetup(ctx context.Context, id, from, to string, rev uint64) error {
	var errs []error
	for _, a := range []string{from, to} {
		if err := g.st.UnlockBusy(ctx, a, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := g.st.DeleteChannel(ctx, id, rev); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cancelCall ends a ringing call from the calling device.
func (s *session) cancelCall(ctx context.Context, ref *protocol.ChannelRef) (any, func(), error) {
	g := s.g
	c, changed, err := g.transition(ctx, ref.ChannelID, func(c *store.Channel) (bool, error) {
		if c.From != s.account || c.FromDevice != s.device {
			return false, protocol.Errorf(protocol.CodeNotInChannel, "only the calling device can cancel")
		}
		now := time.Now().UnixMilli()
		if expireIfDue(c, now) {
			return true, nil
		}
		switch c.State {
		case protocol.ChannelActive:
			return false, protocol.Errorf(protocol.CodeAlreadyAccepted, "invite already accepted")
		case protocol.ChannelEnded:
			return false, endedError(c)
		}
		end(c, protocol.StatusCanceled, s.account, s.device, "", now)
		return true, nil
	})
	return g.concluded(ctx, c, changed, err, struct{}{})
}

// concluded finishes a terminal transition won by a request: the record is
// written before the reply, the events after it. A channel that timed out
// under the request answers "invite expired".
func (g *Gateway) concluded(ctx context.Context, c *store.Channel, changed bool, err error, reply any) (any, func(), error) {
	if err != nil {
		return nil, nil, err
	}
	if !changed || c.State != protocol.ChannelEnded {
		return reply, nil, nil
	}
	rec := g.finish(ctx, c)
	after := func() { g.announceEnd(c, rec) }
	if c.Status == protocol.StatusTimeout {
		// The request lost to the ring deadline; tell the device after the
		// timeout events went out.
		after()
		return nil, nil, protocol.Errorf(protocol.CodeInviteExpired, "invite timed out")
	}
	return reply, after, nil
}

// answerable checks that this session may answer c (accept or reject) now.
// decided reports that the ring deadline passed and c was ended as a
// timeout instead, which the transition must store.
func (s *session) answerable(c *store.Channel, now int64) (decided bool, err error) {
	if c.To != s.account {
		return false, protocol.Errorf(protocol.CodeNotInChannel, "not invited to this channel")
	}
	if expireIfDue(c, now) {
		return true, nil
	}
	switch c.State {
	case protocol.ChannelActive:
		return false, protocol.Errorf(protocol.CodeAlreadyAccepted, "invite already accepted")
	case protocol.ChannelEnded:
		return false, endedError(c)
	}
	return false, nil
}

// accept connects the call on this device. Of several devices accepting at
// once exactly one wins the compare-and-set; the others get 10410.
func (s *session) accept(ctx context.Context, ref *protocol.ChannelRef) (any, func(), error) {
	g := s.g
	c, changed, err := g.transition(ctx, ref.ChannelID, func(c *store.Channel) (bool, error) {
		now := time.Now().UnixMilli()
		if decided, err := s.answerable(c, now); decided || err != nil {
			return decided, err
		}
		c.State = protocol.ChannelActive
		c.ToDevice = s.device
		c.AcceptedAt = now
		return true, nil
	})
	if err != nil || c.State == protocol.ChannelEnded {
		return g.concluded(ctx, c, changed, err, nil)
	}
	g.stopTimer(c.ID)
	tok, exp := g.channelToken(s.account, c.ID)
	callerTok, callerExp := g.channelToken(c.From, c.ID)
	reply := &protocol.AcceptReply{ChannelID: c.ID, MediaToken: tok, TokenExpiresAt: exp}
	after := func() {
		g.emit(c.From, route{only: c.FromDevice}, protocol.EvUserAccept, &protocol.Peer{
			ChannelID: c.ID, UserID: c.To, Device: s.device, MediaToken: callerTok, TokenExpiresAt: callerExp})
		g.emit(c.To, route{except: s.device}, protocol.EvOtherClientAccept,
			&protocol.Peer{ChannelID: c.ID, UserID: c.To, Device: s.device})
	}
	return reply, after, nil
}

// reject declines a ringing call; the first of accept/reject wins.
func (s *session) reject(ctx context.Context, ref *protocol.ChannelRef) (any, func(), error) {
	g := s.g
	c, changed, err := g.transition(ctx, ref.ChannelID, func(c *store.Channel) (bool, error) {
		now := time.Now().UnixMilli()
		if decided, err := s.answerable(c, now); decided || err != nil {
			return decided, err
		}
		end(c, protocol.StatusRejected, s.account, s.device, "", now)
		return true, nil
	})
	return g.concluded(ctx, c, changed, err, struct{}{})
}

// hangup ends an active call from either party's device. On a ringing
// channel it means cancel (caller) or reject (callee), as in NeCallKit.
func (s *session) hangup(ctx context.Context, ref *protocol.ChannelRef) (any, func(), error) {
	g := s.g
	c, _, err := g.st.GetChannel(ctx, ref.ChannelID)
	if err == nil && c.State == protocol.ChannelRinging {
		if c.From == s.account {
			return s.cancelCall(ctx, ref)
		}
		return s.reject(ctx, ref)
	}
	c, changed, err := g.transition(ctx, ref.ChannelID, func(c *store.Channel) (bool, error) {
		if !c.Party(s.account) {
			return false, protocol.Errorf(protocol.CodeNotInChannel, "not a party of this channel")
		}
		switch c.State {
		case protocol.ChannelRinging:
			return false, protocol.Errorf(protocol.CodeChannelNotActive, "call is still ringing; cancel or reject it")
		case protocol.ChannelEnded:
			return false, endedError(c)
		}
		if c.DeviceOf(s.account) != s.device {
			return false, protocol.Errorf(protocol.CodeNotInChannel, "the call is on another device")
		}
		end(c, protocol.StatusCompleted, s.account, s.device, reasonHangup, time.Now().UnixMilli())
		return true, nil
	})
	return g.concluded(ctx, c, changed, err, struct{}{})
}

// activeParty loads an active channel and checks that this device carries
// the account's side of it.
func (s *session) activeParty(ctx context.Context, id string) (*store.Channel, error) {
	c, _, err := s.g.st.GetChannel(ctx, id)
	if store.IsNotFound(err) {
		return nil, protocol.Errorf(protocol.CodeChannelNotFound, "channel %s does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	return c, s.checkActiveParty(c)
}

func (s *session) checkActiveParty(c *store.Channel) error {
	if !c.Party(s.account) {
		return protocol.Errorf(protocol.CodeNotInChannel, "not a party of this channel")
	}
	if c.State != protocol.ChannelActive {
		return protocol.Errorf(protocol.CodeChannelNotActive, "channel is not in a call")
	}
	if c.DeviceOf(s.account) != s.device {
		return protocol.Errorf(protocol.CodeNotInChannel, "the call is on another device")
	}
	return nil
}

// switchType changes the call type: video→audio at once, audio→video after
// the peer agrees. The asker withdraws a pending request with "reject".
func (s *session) switchType(ctx context.Context, req *protocol.Switch) (any, func(), error) {
	g := s.g
	var notify func(c *store.Channel)
	c, changed, err := g.transition(ctx, req.ChannelID, func(c *store.Channel) (bool, error) {
		if err := s.checkActiveParty(c); err != nil {
			return false, err
		}
		both := func(state string) func(c *store.Channel) {
			return func(c *store.Channel) {
				ev := &protocol.CallTypeChange{ChannelID: c.ID, CallType: req.CallType, State: state, UserID: s.account}
				g.emit(c.From, route{only: c.FromDevice}, protocol.EvCallTypeChange, ev)
				g.emit(c.To, route{only: c.ToDevice}, protocol.EvCallTypeChange, ev)
			}
		}
		switch req.State {
		case protocol.SwitchAgree, protocol.SwitchReject:
			sw := c.Switch
			// The peer agrees or refuses; the asker may only refuse, which
			// withdraws the request.
			own := sw != nil && sw.By == s.account
			if sw == nil || sw.CallType != req.CallType || (own && req.State == protocol.SwitchAgree) {
				return false, protocol.Errorf(protocol.CodeBadRequest, "no pending call type change from the peer")
			}
			c.Switch = nil
			if req.State == protocol.SwitchAgree {
				c.CallType = req.CallType
			}
			notify = both(req.State)
			return true, nil
		}
		// invite (or empty)
		if req.CallType == c.CallType {
			return false, protocol.Errorf(protocol.CodeBadRequest, "call is already %s", c.CallType)
		}
		if req.CallType == protocol.CallAudio {
			c.CallType = protocol.CallAudio
			c.Switch = nil
			notify = both(protocol.SwitchAgree)
			return true, nil
		}
		c.Switch = &store.PendingSwitch{By: s.account, CallType: req.CallType}
		notify = func(c *store.Channel) {
			peer := c.Peer(s.account)
			g.emit(peer, route{only: c.DeviceOf(peer)}, protocol.EvCallTypeChange,
				&protocol.CallTypeChange{ChannelID: c.ID, CallType: req.CallType, State: protocol.SwitchInvite, UserID: s.account})
		}
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if !changed || notify == nil {
		return struct{}{}, nil, nil
	}
	return struct{}{}, func() { notify(c) }, nil
}

// relay forwards media negotiation to the peer device of an active call.
// In secure mode the channel token proves this device joined the call.
func (s *session) relay(ctx context.Context, req *protocol.Relay) (any, func(), error) {
	g := s.g
	c, err := s.activeParty(ctx, req.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	if s.checkSum || !g.cfg.Debug {
		if err := g.cfg.Signer.Verify(req.Token, s.account, c.ID, time.Now()); err != nil {
			return nil, nil, protocol.Errorf(protocol.CodeUnauthorized, "channel token: %v", err)
		}
	}
	peer := c.Peer(s.account)
	ev := &protocol.RelayEvent{ChannelID: c.ID, From: s.account, FromDevice: s.device, Kind: req.Kind, Payload: req.Payload}
	return struct{}{}, func() { g.emit(peer, route{only: c.DeviceOf(peer)}, protocol.EvRelay, ev) }, nil
}
