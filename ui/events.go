package ui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

func fmtS(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// handleEvent turns one engine event into what the user sees.
func (m *Model) handleEvent(ev call.Event) tea.Cmd {
	m.appendLog(ev)
	switch d := ev.Data.(type) {
	case protocol.Invite:
		return m.invited(d)
	case protocol.Peer:
		return m.peerEvent(ev.Name, d)
	case call.RecordMessage:
		m.recordArrived(d)
	case protocol.Presence:
		reload := false
		for i := range m.contacts {
			if c := &m.contacts[i]; c.Account == d.Account {
				// A contact that just added us back: the server shows
				// its nickname now, which the list got without.
				reload = c.Presence == protocol.PresencePending && d.Presence != protocol.PresencePending
				c.Presence = d.Presence
			}
		}
		if reload {
			return m.loadContacts()
		}
	case protocol.CallTypeChange:
		return m.typeChange(d)
	case call.DisconnectInfo:
		// The cause (a WebSocket close code, a dial error) is in the event
		// log; the status line says what it means for the user.
		m.connected = false
		m.clearNotice()
		switch {
		case d.Reconnecting:
			m.connNote = m.t.reconnecting
		case d.Reason == protocol.EndTokenReset:
			m.connNote = m.t.tokenReset
		case d.Reason == protocol.EndAccountRemoved:
			m.connNote = m.t.accountRemoved
		default:
			m.connNote = m.t.gaveUp
		}
	case call.ReconnectInfo:
		m.connected, m.connNote = true, ""
		cmd := m.briefNotice(m.t.reconnected, false)
		// Reconciliation may have ended the call while we were away.
		if m.phase == phaseInCall && m.eng.State() == protocol.StateIdle {
			m.endCall(fmtS(m.t.ended, m.durationText()), false)
		}
		if m.invite != nil && m.eng.State() != protocol.StateCalled {
			m.invite = nil
		}
		return tea.Batch(cmd, m.loadContacts(), m.loadRecords())
	case call.CallStats:
		s := d
		m.stats = &s
	case call.MuteInfo:
		self := d.UserID == m.eng.Account()
		switch ev.Name {
		case call.EvAudioMuted:
			if self {
				m.muted, m.engMuted = d.Mute, d.Mute
			} else {
				m.peerMuted = d.Mute
			}
		case call.EvVideoMuted:
			if self {
				m.camOff, m.engCamOff = d.Mute, d.Mute
			} else {
				m.peerCamOff = d.Mute
			}
		}
	case call.MediaWarning:
		switch {
		case d.Kind == "video" && d.Switching:
			m.camWarned = true // SwitchCamera keeps the camera it had
		case d.Kind == "video":
			m.camOff = true // no camera could be opened: nothing is sent
		}
		switch {
		case d.Kind == protocol.ProblemNoMedia && d.Remote:
			m.setNotice(fmtS(m.t.peerNoMedia, d.Error), true)
		case d.Kind == protocol.ProblemNoMedia:
			m.setNotice(fmtS(m.t.noMedia, d.Error), true)
		default:
			kind := d.Kind
			if k, ok := m.t.mediaKinds[kind]; ok {
				kind = k // the device, in the UI's language; the detail is the driver's
			}
			m.setNotice(fmtS(m.t.mediaWarn, kind, d.Error), true)
		}
	}
	return nil
}

func (m *Model) invited(inv protocol.Invite) tea.Cmd {
	if m.invite != nil || m.phase == phaseCalling || m.phase == phaseInCall {
		return nil // the engine and server deal with a second invite (busy)
	}
	if m.phase == phaseOutcome {
		m.resetCall()
	}
	m.clearNotice() // the last call's outcome is old news now
	i := inv
	m.invite = &i
	ring := defaultRing
	if inv.ExpiresAt > inv.CreatedAt && inv.CreatedAt > 0 {
		ring = time.Duration(inv.ExpiresAt-inv.CreatedAt) * time.Millisecond
	}
	if inv.Offline {
		// Delivered at login: part of the ring time has passed. The login
		// reply's server clock tells how much.
		if st := m.eng.Session().ServerTime; st > 0 && inv.ExpiresAt > 0 {
			ring = min(ring, max(0, time.Duration(inv.ExpiresAt-st)*time.Millisecond))
		}
	}
	m.inviteDeadline = m.cfg.now().Add(ring)
	m.confirmQuit = false
	bell := m.cfg.bell
	return func() tea.Msg {
		_, _ = bell.Write([]byte("\a"))
		return nil
	}
}

func (m *Model) peerEvent(name string, p protocol.Peer) tea.Cmd {
	ringingIn := m.invite != nil && (p.ChannelID == "" || p.ChannelID == m.invite.ChannelID)
	ringingOut := m.phase == phaseCalling && (m.channel == "" || p.ChannelID == m.channel)
	outcome := func(status int) {
		m.phase = phaseOutcome
		m.lastChannel = m.channel
		m.outcome = call.StatusText(status, false, m.t.lang)
	}
	closeInvite := func(note string) {
		// The reason stays, with who called; the record that follows says
		// the same less precisely.
		from := m.nick(m.invite.From, m.invite.FromNick)
		m.lastChannel = ""
		m.invite = nil
		m.setNotice(fmtS(m.t.inviteFrom, from, note), false)
	}
	switch name {
	case protocol.EvUserAccept:
		if ringingOut {
			if m.channel == "" {
				m.channel = p.ChannelID
			}
			return m.enterCall()
		}
	case protocol.EvUserReject:
		if ringingOut {
			outcome(protocol.StatusRejected)
		}
	case protocol.EvUserBusy:
		if ringingOut {
			outcome(protocol.StatusBusy)
		}
	case protocol.EvCallingTimeout:
		if ringingOut {
			outcome(protocol.StatusTimeout)
		} else if ringingIn {
			closeInvite(call.StatusText(protocol.StatusTimeout, true, m.t.lang))
		}
	case protocol.EvUserCancel:
		if ringingOut {
			outcome(protocol.StatusCanceled)
		} else if ringingIn {
			closeInvite(call.StatusText(protocol.StatusCanceled, true, m.t.lang))
		}
	case protocol.EvOtherClientAccept:
		if ringingIn {
			closeInvite(m.t.answeredElsewhere)
		}
	case protocol.EvOtherClientReject:
		if ringingIn {
			closeInvite(m.t.rejectedElsewhere)
		}
	case protocol.EvCallEnd:
		if m.phase == phaseInCall && (m.channel == "" || p.ChannelID == m.channel) {
			note := fmtS(m.t.ended, m.durationText())
			byPeer := p.UserID != m.eng.Account()
			if byPeer {
				note = m.t.endedPeer + " · " + note
			}
			m.endCall(note, byPeer)
		}
	}
	return nil
}

// olderRecords appends a page of older records to the history, leaving out
// any already shown (a record that arrived as MESSAGE_SENT meanwhile).
func (m *Model) olderRecords(list []call.RecordMessage) {
	shown := make(map[string]bool, len(m.records))
	for _, r := range m.records {
		shown[r.ChannelID] = true
	}
	for _, r := range list {
		if !shown[r.ChannelID] {
			m.records = append(m.records, r)
			m.noteRecent(r)
		}
	}
	m.sortContacts()
}

// recordArrived adds a MESSAGE_SENT record to the history and, for the
// call that just ended, shows its status text (已完成 …) in the notice.
func (m *Model) recordArrived(r call.RecordMessage) {
	for i, old := range m.records {
		if old.ChannelID == r.ChannelID {
			m.records = append(m.records[:i], m.records[i+1:]...)
			break
		}
	}
	m.records = append([]call.RecordMessage{r}, m.records...)
	m.noteRecent(r)
	m.sortContacts()
	if r.ChannelID != "" && r.ChannelID == m.lastChannel && m.phase == phaseNone && m.invite == nil {
		m.noticeRecord(r)
	}
}

// noticeRecord shows the outcome of the call that just ended; that the
// peer hung up stays said.
func (m *Model) noticeRecord(r call.RecordMessage) {
	s := strings.TrimSpace(fmtS(m.t.callEndedFmt, m.nick(recordPeer(r), ""), m.recordText(r), durationOf(r)))
	if m.peerHungUp {
		s = m.t.endedPeer + " · " + s
	}
	m.setNotice(s, false)
}

func (m *Model) typeChange(c protocol.CallTypeChange) tea.Cmd {
	if m.phase != phaseInCall {
		return nil
	}
	self := c.UserID == m.eng.Account()
	switch c.State {
	case protocol.SwitchInvite:
		if c.CallType == protocol.CallVideo && m.callType != protocol.CallVideo {
			if self {
				m.switchWait = true
			} else {
				m.switchReq = true
			}
			m.switchAt = m.cfg.now()
			return nil
		}
		m.callType = c.CallType
	case protocol.SwitchReject:
		switch {
		case m.switchWait && !self:
			m.setNotice(m.t.switchNo, true)
		case m.switchReq && !self:
			m.setNotice(m.t.switchPeerGone, false) // the asker withdrew
		}
		m.switchReq, m.switchWait = false, false
	default:
		was := m.callType
		m.callType = c.CallType
		m.switchReq, m.switchWait = false, false
		if m.notice == m.t.switchNo || m.notice == m.t.switchGone || m.notice == m.t.switchExpire {
			m.clearNotice() // an earlier refusal is out of date
		}
		m.remoteKey = [2]int{}
		if was != protocol.CallVideo && c.CallType == protocol.CallVideo && m.camOff {
			// Switching to video means showing yourself: a camera turned
			// off earlier comes back on.
			return m.setCamera(true)
		}
	}
	m.remoteKey = [2]int{}
	return nil
}

// recordText is the status the local side shows for r, in the UI language.
func (m *Model) recordText(r call.RecordMessage) string {
	return call.StatusText(r.Status, r.Direction == call.DirectionIncoming, m.t.lang)
}

// durationOf is the call's length for completed records ("" otherwise).
func durationOf(r call.RecordMessage) string {
	if r.Status != protocol.StatusCompleted {
		return ""
	}
	return call.ClockText(r.Length())
}

func (m *Model) durationText() string {
	if m.started.IsZero() {
		return call.ClockText(0)
	}
	return call.ClockText(m.cfg.now().Sub(m.started))
}
