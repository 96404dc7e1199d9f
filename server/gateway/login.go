package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// login authenticates the device. The account is stamped on the session
// here and every later request acts as it; requests carry no sender.
//
// The session becomes reachable by routing before the reply is written, so
// that no event sent meanwhile is lost; its events are held until the reply
// is queued, then follow it (offline invites first), so the login reply is
// always the first frame of the session.
func (s *session) login(ctx context.Context, l *protocol.Login) (_ any, _ func(), err error) {
	g := s.g
	if s.loggedIn() {
		return nil, nil, protocol.Errorf(protocol.CodeBadRequest, "already logged in as %s; log out first", s.account)
	}
	if !l.CheckSum && !g.cfg.Debug {
		return nil, nil, protocol.Errorf(protocol.CodeForbidden,
			"checkSum=false (debug mode) is refused: this server runs in secure mode, log in with the account token")
	}
	acct, _, err := g.st.GetAccount(ctx, l.Account)
	if store.IsNotFound(err) {
		if l.CheckSum {
			return nil, nil, protocol.Errorf(protocol.CodeUnauthorized, "wrong account or token")
		}
		return nil, nil, protocol.Errorf(protocol.CodeNotFound, "account %q not found", l.Account)
	}
	if err != nil {
		return nil, nil, err
	}
	if l.CheckSum && !auth.TokenMatches(l.Token, acct.TokenHash) {
		g.log.Info("login refused", "login", *l)
		return nil, nil, protocol.Errorf(protocol.CodeUnauthorized, "wrong account or token")
	}
	s.account, s.device, s.nick, s.checkSum = acct.Account, l.Device, acct.Name, l.CheckSum
	s.inc = acct.Incarnation()
	s.beginLogin(identity{account: acct.Account, device: l.Device, created: acct.CreatedAt, tokenHash: acct.TokenHash})
	defer func() {
		if err != nil {
			g.removeLocal(s)
			s.clearIdentity()
		}
	}()
	created, err := g.addLocal(s)
	if err != nil {
		return nil, nil, err
	}
	if created {
		// Make sure the subscription is live before anyone can be told this
		// device is online.
		if err := g.nc.FlushTimeout(requestTimeout); err != nil {
			return nil, nil, fmt.Errorf("flush subscription: %w", err)
		}
	}
	if err := g.confirmAccount(ctx, acct); err != nil {
		return nil, nil, err
	}
	if g.hooks.routed != nil {
		g.hooks.routed(s)
	}
	now := time.Now()
	s.presSession = auth.RandomID(presenceSessionLength)
	alive := map[string]nodeSeen{}
	rev, err := g.st.SetPresenceAdmitted(ctx, s.account, s.device, store.Presence{Node: g.node, Session: s.presSession, Since: now.UnixMilli()},
		func(others map[string]store.Presence) error { return g.admitDevice(ctx, others, alive) })
	if err != nil {
		return nil, nil, err
	}
	if s.setLoginRevision(rev) {
		// A newer login of this device finished first and kicked this one.
		s.close()
		return nil, nil, &protocol.Error{Code: protocol.CodeConflict, Message: "device logged in again elsewhere"}
	}
	s.authed.Store(true)
	g.kick(s.account, s.device, s.id, rev)
	g.watch(s, acct.Contacts)
	g.announcePresence(ctx, s.account)
	g.log.Info("login", "login", *l, "node", g.node)

	calls, invites, err := g.sessionCalls(ctx, s)
	if err != nil {
		g.log.Warn("login: loading calls failed", "account", s.account, "err", err)
		err = nil // the login stands; the device learns of a call by its next events
	}
	reply := &protocol.LoginReply{
		Account: s.account, NickName: acct.Name, Device: s.device, Node: g.node,
		ServerTime: now.UnixMilli(), DefaultTimeoutMs: protocol.DefaultCallTimeout.Milliseconds(),
		MaxTimeoutMs: protocol.MaxCallTimeout.Milliseconds(), Debug: g.cfg.Debug, Calls: calls,
	}
	reply.ICEServers, reply.ICEExpiresAt = g.iceServers(s)
	after := func() {
		s.releaseLogin(func(held [][]byte) [][]byte { return offlineInvites(invites, held) })
	}
	return reply, after, nil
}

// admitDevice refuses a new device of an account that has
// protocol.MaxDevices connected already (on live nodes; a device that went
// away within its reconnect grace does not count). A device logging in
// again is always admitted.
func (g *Gateway) admitDevice(ctx context.Context, others map[string]store.Presence, alive map[string]nodeSeen) error {
	n := 0
	for _, p := range others {
		if p.GoneAt == 0 && g.nodeState(ctx, p.Node, alive).alive {
			n++
		}
	}
	if n >= protocol.MaxDevices {
		return protocol.Errorf(protocol.CodeRateLimited,
			"%d devices of this account are logged in already (at most %d); log one of them out first", n, protocol.MaxDevices)
	}
	return nil
}

// iceServers issues the session's STUN/TURN servers and their expiry (unix
// ms); none when this node runs no relay.
func (g *Gateway) iceServers(s *session) ([]protocol.ICEServer, int64) {
	if g.cfg.ICE == nil {
		return nil, 0
	}
	id := s.identity()
	servers, exp := g.cfg.ICE.ICEServers(s.account, auth.Epoch(id.created, id.tokenHash))
	return servers, exp.UnixMilli()
}

// offlineInvites encodes the INVITED events of invites pending at login,
// leaving out a channel whose live INVITED arrived while the login ran (it
// is among the held frames), so a device is invited once per call.
func offlineInvites(invites []*protocol.Invite, held [][]byte) [][]byte {
	var out [][]byte
	for _, inv := range invites {
		if heldInvite(held, inv.ChannelID) {
			continue
		}
		if b, err := protocol.EncodeEvent(protocol.EvInvited, inv); err == nil {
			out = append(out, b)
		}
	}
	return out
}

func heldInvite(held [][]byte, channelID string) bool {
	for _, f := range held {
		if !bytes.Contains(f, []byte(protocol.EvInvited)) {
			continue
		}
		var m struct {
			Event string `json:"event"`
			Data  struct {
				ChannelID string `json:"channelId"`
			} `json:"data"`
		}
		if json.Unmarshal(f, &m) == nil && m.Event == protocol.EvInvited && m.Data.ChannelID == channelID {
			return true
		}
	}
	return false
}

// sessionCalls finds the channel this device takes part in or rings for.
// The busy lock of the account points at it, so no scan is needed.
func (g *Gateway) sessionCalls(ctx context.Context, s *session) ([]protocol.ChannelState, []*protocol.Invite, error) {
	holder, _, err := g.st.BusyHolder(ctx, s.account)
	if store.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ch, _, err := g.st.GetChannel(ctx, holder.Channel)
	if store.IsNotFound(err) || (err == nil && ch.SetupUntil != 0) {
		return nil, nil, nil // none, or a call still being set up: INVITED follows
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case ch.State == protocol.ChannelRinging && ch.To == s.account:
		inv := inviteOf(ch)
		inv.Offline = true
		return []protocol.ChannelState{g.channelState(ch, "")}, []*protocol.Invite{inv}, nil
	case ch.State == protocol.ChannelRinging && ch.From == s.account && ch.FromDevice == s.device:
		return []protocol.ChannelState{g.channelState(ch, "")}, nil, nil
	case ch.State == protocol.ChannelActive && ch.DeviceOf(s.account) == s.device:
		return []protocol.ChannelState{g.channelState(ch, s.account)}, nil, nil
	}
	return nil, nil, nil
}

// logout ends the session's calls at once (no reconnect grace: the user
// left on purpose) and returns the connection to the logged-out state.
func (s *session) logout(ctx context.Context) (any, func(), error) {
	after := s.endCalls(ctx)
	s.leave(true)
	return struct{}{}, after, nil
}

// endCalls hangs up the device's call or cancels its outgoing invite; the
// returned func sends the resulting events.
func (s *session) endCalls(ctx context.Context) (after func()) {
	g := s.g
	if holder, _, err := g.st.BusyHolder(ctx, s.account); err == nil {
		if ch, _, err := g.st.GetChannel(ctx, holder.Channel); err == nil {
			switch {
			case ch.State == protocol.ChannelActive && ch.DeviceOf(s.account) == s.device:
				_, after, _ = s.hangup(ctx, &protocol.ChannelRef{ChannelID: ch.ID})
			case ch.State == protocol.ChannelRinging && ch.From == s.account && ch.FromDevice == s.device:
				_, after, _ = s.cancelCall(ctx, &protocol.ChannelRef{ChannelID: ch.ID})
			}
		}
	}
	return after
}

// leave takes the device out of routing and marks its presence gone. After
// the reconnect grace the entry is removed, unless the device came back.
func (s *session) leave(explicit bool) {
	g := s.g
	s.authed.Store(false)
	s.clearIdentity()
	g.removeLocal(s)
	g.unwatch(s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	defer g.announcePresence(ctx, s.account)
	account, device, session := s.account, s.device, s.presSession
	goneAt := time.Now().UnixMilli()
	if s.silent.Load() {
		goneAt = s.heard.Load() // it went quiet: gone since it last spoke
	}
	marked, err := g.st.MarkGone(ctx, account, device, session, goneAt)
	if err != nil || !marked {
		return // a newer session of this device owns the entry
	}
	if explicit {
		_ = g.st.ClearPresence(ctx, account, device, session)
		return
	}
	time.AfterFunc(g.cfg.ReconnectGrace+2*sweepInterval, func() {
		if g.ctx.Err() != nil {
			return // the gateway closed; the node entry's removal covers it
		}
		ctx, cancel := context.WithTimeout(g.ctx, writeTimeout)
		defer cancel()
		_ = g.st.ClearPresence(ctx, account, device, session)
	})
}

// channelState is a channel as a device sees it; forAccount, when set, gets
// a fresh channel token for an active call.
func (g *Gateway) channelState(ch *store.Channel, forAccount string) protocol.ChannelState {
	cs := protocol.ChannelState{
		ChannelID: ch.ID, RequestID: ch.RequestID, ChannelName: ch.Name, State: ch.State,
		From: ch.From, FromNick: ch.FromNick, To: ch.To, CallType: ch.CallType, Attachment: ch.Attachment,
		CreatedAt: ch.CreatedAt, ExpiresAt: ch.ExpiresAt, AcceptedAt: ch.AcceptedAt,
	}
	if forAccount != "" {
		cs.MediaToken, _ = g.channelToken(forAccount, ch.ID)
	}
	return cs
}

func inviteOf(ch *store.Channel) *protocol.Invite {
	return &protocol.Invite{
		ChannelID: ch.ID, RequestID: ch.RequestID, ChannelName: ch.Name, From: ch.From, FromNick: ch.FromNick,
		To: ch.To, CallType: ch.CallType, Attachment: ch.Attachment, CreatedAt: ch.CreatedAt, ExpiresAt: ch.ExpiresAt,
	}
}

// channelToken issues the media token of account for a channel.
func (g *Gateway) channelToken(account, channelID string) (string, int64) {
	exp := time.Now().Add(g.cfg.ChannelTokenTTL)
	return g.cfg.Signer.Issue(account, channelID, exp), exp.UnixMilli()
}
