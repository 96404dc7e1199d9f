package call

import (
	"github.com/softphone/softphone/call/protocol"
)

// CallInfo describes the engine's current call.
type CallInfo struct {
	ChannelID   string            `json:"channelId"`
	RequestID   string            `json:"requestId,omitempty"`
	ChannelName string            `json:"channelName,omitempty"`
	Peer        string            `json:"peer"`
	CallType    protocol.CallType `json:"callType"`
	Outgoing    bool              `json:"outgoing"`
	// MediaToken is the channel token for media (secure mode); never logged.
	MediaToken string `json:"-"`
}

// earlyEvent is an event that arrived while the reply to our own call
// request (which names the channel) was still outstanding.
type earlyEvent struct {
	name string
	data any
}

// maxSeenInvites bounds the INVITED dedupe memory.
const maxSeenInvites = 512

// All methods below run with e.mu held.

func (e *Engine) toIdleLocked() {
	e.stopMediaLocked()
	e.state = protocol.StateIdle
	e.tr.stateLocked(e.state, e.cur)
	e.cur = nil
	e.invite = nil
	e.early = nil
}

// seenInviteLocked records channelID and reports whether it was known, so an
// invite delivered live, in LoginReply.Calls and again after a reconnect
// rings only once.
func (e *Engine) seenInviteLocked(channelID string) bool {
	if _, ok := e.seen[channelID]; ok {
		return true
	}
	e.seen[channelID] = struct{}{}
	e.seenOrder = append(e.seenOrder, channelID)
	if len(e.seenOrder) > maxSeenInvites {
		delete(e.seen, e.seenOrder[0])
		e.seenOrder = e.seenOrder[1:]
	}
	return false
}

// handleEventLocked applies an event to the state machine and emits it.
// State changes happen before the emit so a handler calling State sees them.
func (e *Engine) handleEventLocked(name string, data any) {
	defer func() { e.tr.stateLocked(e.state, e.cur) }()
	switch d := data.(type) {
	case *protocol.Invite:
		e.onInviteLocked(*d)
	case *protocol.Peer:
		if e.stashLocked(name, d) {
			return
		}
		if e.cur != nil && d.ChannelID == e.cur.ChannelID {
			e.applyPeerLocked(name, *d)
		}
		e.bus.emit(name, publicPeer(*d))
	case *protocol.CallTypeChange:
		if e.stashLocked(name, d) {
			return
		}
		if e.cur != nil && d.ChannelID == e.cur.ChannelID && d.State == protocol.SwitchAgree && d.CallType.Valid() {
			e.cur.CallType = d.CallType
			e.callTypeLocked(d.CallType)
		}
		e.bus.emit(name, *d)
	case *protocol.Record:
		if !e.firstRecordLocked(d.ChannelID) {
			e.log.Debug("call record delivered again; dropped", "channelId", d.ChannelID)
			return
		}
		e.bus.emit(name, newRecordMessage(*d, e.account, e.cfg.Language))
	case *protocol.Presence:
		e.bus.emit(name, *d)
	case *protocol.SessionEnded:
		// The connection closes right after; the supervisor reports it.
		if e.sess != nil {
			e.sess.endedBy = d
		}
	case *protocol.RelayEvent:
		if e.relayLocked(*d) {
			return // media negotiation, consumed by the session (SDP carries ICE credentials)
		}
		e.bus.emit(name, *d)
	default:
		e.log.Warn("event with unexpected payload", "event", name)
	}
}

// publicPeer is a Peer as the application sees it: the channel token is a
// secret the engine keeps (CallInfo.MediaToken), so it never reaches event
// handlers, the headless JSON output, the UI's event log or a trace.
func publicPeer(p protocol.Peer) protocol.Peer {
	p.MediaToken, p.TokenExpiresAt = "", 0
	return p
}

// stashLocked keeps channel events back while our call request awaits its
// reply: the server may push USER_BUSY before we know the channel id.
func (e *Engine) stashLocked(name string, data any) bool {
	if e.state != protocol.StateCalling || e.cur == nil || e.cur.ChannelID != "" {
		return false
	}
	e.early = append(e.early, earlyEvent{name: name, data: data})
	return true
}

// replayEarlyLocked handles stashed events once the call's fate is known.
func (e *Engine) replayEarlyLocked() {
	early := e.early
	e.early = nil
	for _, ev := range early {
		e.handleEventLocked(ev.name, ev.data)
	}
}

func (e *Engine) onInviteLocked(inv protocol.Invite) {
	if e.seenInviteLocked(inv.ChannelID) {
		e.log.Debug("duplicate invite ignored", "channelId", inv.ChannelID)
		return
	}
	if e.state != protocol.StateIdle {
		// The server answers busy for us; a second ringing call would only
		// confuse the state machine.
		e.log.Info("invite while not idle ignored", "channelId", inv.ChannelID, "state", e.state.String())
		return
	}
	e.state = protocol.StateCalled
	e.cur = &CallInfo{
		ChannelID:   inv.ChannelID,
		RequestID:   inv.RequestID,
		ChannelName: inv.ChannelName,
		Peer:        inv.From,
		CallType:    inv.CallType,
	}
	e.invite = &inv
	e.oweRecordLocked(inv.ChannelID)
	e.bus.emit(protocol.EvInvited, inv)
	e.startMediaLocked() // prepared while it rings, so accepting only answers the offer
}

// applyPeerLocked moves the state machine for an event about the current
// channel.
func (e *Engine) applyPeerLocked(name string, p protocol.Peer) {
	switch name {
	case protocol.EvUserAccept:
		if e.state == protocol.StateCalling {
			e.state = protocol.StateInCall
			e.cur.MediaToken = p.MediaToken
			if e.media != nil {
				e.media.Activate() // prepared while it rang
			} else {
				e.startMediaLocked()
			}
		}
	case protocol.EvUserReject, protocol.EvUserBusy, protocol.EvUserCancel, protocol.EvCallingTimeout,
		protocol.EvCallEnd, protocol.EvOtherClientAccept, protocol.EvOtherClientReject:
		e.toIdleLocked()
	}
}

// reconcileLocked aligns the local state with the server's view after a
// (re)login: resume an active call, deliver a pending invite once, and end
// a call that finished while we were away.
func (e *Engine) reconcileLocked(calls []protocol.ChannelState) {
	defer func() { e.tr.stateLocked(e.state, e.cur) }()
	byID := make(map[string]protocol.ChannelState, len(calls))
	for _, cs := range calls {
		byID[cs.ChannelID] = cs
	}
	if e.cur != nil && e.cur.ChannelID != "" {
		cur := e.cur
		cs, ok := byID[cur.ChannelID]
		delete(byID, cur.ChannelID)
		switch {
		case !ok || cs.State == protocol.ChannelEnded:
			e.toIdleLocked()
			e.bus.emit(protocol.EvCallEnd, protocol.Peer{ChannelID: cur.ChannelID, UserID: cur.Peer, Reason: "endedWhileDisconnected"})
		case cs.State == protocol.ChannelActive:
			if cs.CallType.Valid() {
				cur.CallType = cs.CallType
			}
			if cs.MediaToken != "" {
				cur.MediaToken = cs.MediaToken
			}
			switch e.state {
			case protocol.StateCalling:
				// The callee answered while we were away.
				e.state = protocol.StateInCall
				e.bus.emit(protocol.EvUserAccept, protocol.Peer{ChannelID: cur.ChannelID, UserID: cur.Peer})
			case protocol.StateCalled:
				// Our accept went through but its reply was lost.
				e.state = protocol.StateInCall
			}
			e.startMediaLocked()
			if e.media != nil {
				e.media.Activate() // one prepared while it rang
			}
		}
	}
	if e.state != protocol.StateIdle {
		return
	}
	// Idle: adopt what the server says this device takes part in.
	for _, cs := range calls {
		if _, ok := byID[cs.ChannelID]; !ok {
			continue
		}
		switch {
		case cs.State == protocol.ChannelRinging && cs.To == e.account && cs.From != e.account:
			e.onInviteLocked(protocol.Invite{
				ChannelID: cs.ChannelID, RequestID: cs.RequestID, ChannelName: cs.ChannelName,
				From: cs.From, FromNick: cs.FromNick, To: cs.To, CallType: cs.CallType,
				Attachment: cs.Attachment, CreatedAt: cs.CreatedAt, ExpiresAt: cs.ExpiresAt, Offline: true,
			})
		case cs.State == protocol.ChannelRinging && cs.From == e.account:
			e.adoptLocked(cs, protocol.StateCalling)
		case cs.State == protocol.ChannelActive:
			e.adoptLocked(cs, protocol.StateInCall)
		}
		if e.state != protocol.StateIdle {
			return
		}
	}
}

// adoptLocked takes over a call this device is part of but the engine did
// not know (a restarted client logging in with the same device id).
func (e *Engine) adoptLocked(cs protocol.ChannelState, st protocol.CallState) {
	out := cs.From == e.account
	peer := cs.From
	if out {
		peer = cs.To
	}
	e.seenInviteLocked(cs.ChannelID)
	e.oweRecordLocked(cs.ChannelID)
	e.state = st
	e.cur = &CallInfo{
		ChannelID: cs.ChannelID, RequestID: cs.RequestID, ChannelName: cs.ChannelName,
		Peer: peer, CallType: cs.CallType, Outgoing: out, MediaToken: cs.MediaToken,
	}
	e.startMediaLocked()
	e.log.Info("resumed call from server state", "channelId", cs.ChannelID, "state", st.String())
}
