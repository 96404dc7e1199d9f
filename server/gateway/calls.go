package gateway

import (
	"context"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// call creates a ringing channel, takes both busy locks and invites every
// device of the callee. The work before INVITED is the minimum that decides
// the call: the callee account's existence (usually from memory), the
// channel, then the two locks (one store write each, both in flight at
// once); presence and the reply's calleeOnline come after. A callee that
// holds a lock makes the call end busy right here, so busy is decided
// before any timer exists.
func (s *session) call(ctx context.Context, req *protocol.Call) (any, func(), error) {
	g := s.g
	if req.To == s.account {
		return nil, nil, protocol.Errorf(protocol.CodeBadRequest, "cannot call yourself")
	}
	// Served from the accounts watch for accounts seen before (see
	// store.AccountExists); a miss reads the account.
	if exists, err := g.st.AccountExists(ctx, req.To); err != nil {
		return nil, nil, err
	} else if !exists {
		return nil, nil, protocol.Errorf(protocol.CodeNotFound, "account %q not found", req.To)
	}
	timeout := protocol.DefaultCallTimeout
	if req.TimeoutMs > 0 {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	}
	now := time.Now()
	c := &store.Channel{
		ID: auth.RandomID(channelIDLength), RequestID: auth.RandomID(requestIDLength), State: protocol.ChannelRinging,
		From: s.account, FromNick: s.nick, FromDevice: s.device, To: req.To, CallType: req.CallType,
		Attachment: req.Attachment, CreatedAt: now.UnixMilli(), ExpiresAt: now.Add(timeout).UnixMilli(), Node: g.node,
	}
	c.Name = c.ID
	// The channel exists before the locks that point at it, so a lock whose
	// channel is missing is always stale.
	rev, err := g.st.CreateChannel(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	// Both locks are taken at once (two writes in flight, one round trip).
	// The callee's lock may be held for a moment by a call that then fails
	// because the caller is busy; it is released before the channel goes.
	type lockResult struct {
		ok  bool
		err error
	}
	calleeDone := make(chan lockResult, 1)
	go func() {
		ok, err := g.lock(ctx, req.To, c.ID)
		calleeDone <- lockResult{ok, err}
	}()
	callerOK, callerErr := g.lock(ctx, s.account, c.ID)
	callee := <-calleeDone
	if callerErr != nil || !callerOK || callee.err != nil {
		if callee.ok {
			_ = g.st.UnlockBusy(ctx, req.To, c.ID)
		}
		if callerOK {
			_ = g.st.UnlockBusy(ctx, s.account, c.ID)
		}
		_ = g.st.DeleteChannel(ctx, c.ID, rev)
		switch {
		case callerErr != nil:
			return nil, nil, callerErr
		case !callerOK:
			return nil, nil, protocol.Errorf(protocol.CodeCallBusy, "you are already in a call")
		}
		return nil, nil, callee.err
	}
	reply := &protocol.CallReply{ChannelID: c.ID, RequestID: c.RequestID, ChannelName: c.Name,
		CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
	ok := callee.ok
	if !ok {
		end(c, protocol.StatusBusy, "", "", "busy", time.Now().UnixMilli())
		if _, err := g.st.UpdateChannel(ctx, c, rev); err != nil {
			_ = g.st.UnlockBusy(ctx, s.account, c.ID)
			return nil, nil, err
		}
		rec := g.finish(ctx, c)
		reply.CalleeOnline = g.accountOnline(ctx, req.To)
		return reply, func() { g.announceEnd(c, rec) }, nil
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
