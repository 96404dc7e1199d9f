package ui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/softphone/softphone/call/protocol"
)

// handleKeys takes keys that arrived together one by one. Bubble Tea v1
// delivers a burst of printable keys (tmux send-keys j j j, fast typing
// over SSH) as one message with several runes; each must act, in order,
// on the state the one before left. A paste goes whole to a text field,
// and nowhere else: pasted text is not a series of commands.
func (m *Model) handleKeys(msg tea.KeyMsg) tea.Cmd {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 {
		return m.handleKey(msg)
	}
	if msg.Paste {
		if m.textFocused() {
			return m.handleKey(msg)
		}
		return nil
	}
	var cmds []tea.Cmd
	for _, r := range msg.Runes {
		cmds = append(cmds, m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
	}
	return tea.Batch(cmds...)
}

// textFocused reports whether keys go to a text field.
func (m *Model) textFocused() bool {
	return m.login != nil || m.filtering || m.adding
}

// handleKey routes a key press: modal prompts first, then the screen.
func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if m.quitting {
		// Hanging up on the way out; Ctrl+C does not wait for it.
		if key.Matches(msg, k.ctrlC) {
			return tea.Quit
		}
		return nil
	}
	if key.Matches(msg, k.ctrlC) {
		if m.eng == nil || !m.inAnyCall() || m.confirmQuit {
			return m.quit()
		}
		m.confirmQuit = true
		return nil
	}
	if m.login != nil {
		return m.loginKey(msg)
	}
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.yes):
			return m.quit()
		case key.Matches(msg, k.no):
			m.confirmQuit = false
		}
		return nil
	}
	if m.invite != nil {
		return m.inviteKey(msg)
	}
	if m.switchReq && m.phase == phaseInCall {
		switch {
		case key.Matches(msg, k.accept):
			m.switchReq = false
			return m.action("switch", func(ctx context.Context, eng engine) error {
				return eng.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchAgree)
			})
		case key.Matches(msg, k.reject):
			m.switchReq = false
			return m.action("switch", func(ctx context.Context, eng engine) error {
				return eng.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchReject)
			})
		}
	}
	// Keys every screen shares (unless a text field has the focus).
	if !m.filtering && !m.adding && m.removing == "" {
		switch {
		case key.Matches(msg, k.help):
			m.showHelp = !m.showHelp
			return nil
		case key.Matches(msg, k.log):
			m.logOpen = !m.logOpen
			m.remoteKey = [2]int{}
			return nil
		case m.logOpen && m.logKey(msg):
			return nil
		case key.Matches(msg, k.quit):
			if m.inAnyCall() {
				m.confirmQuit = true
				return nil
			}
			return m.quit()
		}
	}
	switch m.phase {
	case phaseCalling:
		if key.Matches(msg, k.cancel, k.hangup) {
			return m.cancelCall()
		}
		return nil
	case phaseOutcome:
		if key.Matches(msg, k.dismiss) {
			m.resetCall()
			m.syncCursors()
		}
		return nil
	case phaseInCall:
		return m.inCallKey(msg)
	}
	return m.mainKey(msg)
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	if m.eng == nil || !m.inAnyCall() {
		return tea.Quit
	}
	// Leave the call properly so the peer sees it end at once.
	eng := m.eng
	inv := m.invite
	return m.request(func(ctx context.Context) tea.Msg {
		if inv != nil {
			_ = eng.Reject(ctx, inv)
		} else {
			_ = eng.Hangup(ctx)
		}
		return hungUpMsg{}
	})
}

func (m *Model) inviteKey(msg tea.KeyMsg) tea.Cmd {
	inv := *m.invite
	switch {
	case key.Matches(msg, m.keys.accept):
		eng := m.eng
		return m.request(func(ctx context.Context) tea.Msg {
			return acceptedMsg{inv: inv, err: eng.Accept(ctx, &inv)}
		})
	case key.Matches(msg, m.keys.reject):
		m.lastChannel = inv.ChannelID
		m.invite = nil
		return m.action("reject", func(ctx context.Context, eng engine) error { return eng.Reject(ctx, &inv) })
	case key.Matches(msg, m.keys.log):
		m.logOpen = !m.logOpen
	case key.Matches(msg, m.keys.quit):
		m.confirmQuit = true
	case m.logOpen && m.logKey(msg):
	}
	return nil
}

func (m *Model) inCallKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.hangup):
		return m.action("hangup", func(ctx context.Context, eng engine) error { return eng.Hangup(ctx) })
	case key.Matches(msg, k.mute):
		m.muted = !m.muted
		m.engMuted = m.muted
		mute := m.muted
		eng := m.eng
		return func() tea.Msg { eng.MuteMicrophone(mute); return nil }
	case key.Matches(msg, k.camera):
		if m.callType != protocol.CallVideo {
			return m.briefNotice(m.t.camInAudio, false)
		}
		return m.setCamera(m.camOff)
	case key.Matches(msg, k.switchCam):
		if m.callType != protocol.CallVideo {
			return nil
		}
		m.camWarned = false
		eng := m.eng
		// Off the UI goroutine: opening a camera can take a moment.
		return func() tea.Msg { return cameraSwitchedMsg{ok: eng.SwitchCamera()} }
	case key.Matches(msg, k.switchType):
		if m.callType == protocol.CallVideo {
			return m.action("switch", func(ctx context.Context, eng engine) error {
				return eng.SwitchCallType(ctx, protocol.CallAudio, "")
			})
		}
		if m.switchWait {
			// s again takes the request back.
			m.switchWait = false
			m.setNotice(m.t.switchGone, false)
			return m.withdrawSwitch()
		}
		m.switchWait = true
		m.switchAt = m.cfg.now()
		m.clearNotice()
		return m.action("switch", func(ctx context.Context, eng engine) error {
			return eng.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite)
		})
	}
	return nil
}

// setCamera turns the camera on or off.
func (m *Model) setCamera(on bool) tea.Cmd {
	m.camOff = !on
	m.engCamOff = m.camOff
	eng := m.eng
	return func() tea.Msg { eng.EnableCamera(on); return nil }
}

func (m *Model) mainKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case m.adding:
		switch {
		case key.Matches(msg, k.esc):
			m.adding = false
			m.addInput.Blur()
			return nil
		case key.Matches(msg, k.submit):
			acct := strings.TrimSpace(m.addInput.Value())
			m.adding = false
			m.addInput.Blur()
			if acct == "" {
				return nil
			}
			if !protocol.ValidID(acct) {
				// Said here in the UI's language; the server's answer is English.
				m.setNotice(fmtS(m.t.badAccount, acct), true)
				return nil
			}
			eng := m.eng
			return m.request(func(ctx context.Context) tea.Msg {
				list, err := eng.AddContact(ctx, acct)
				return contactsMsg{list: list, err: err, op: "add", target: acct}
			})
		}
		var cmd tea.Cmd
		m.addInput, cmd = m.addInput.Update(msg)
		return cmd
	case m.removing != "":
		acct := m.removing
		m.removing = ""
		if key.Matches(msg, k.accept) {
			eng := m.eng
			return m.request(func(ctx context.Context) tea.Msg {
				list, err := eng.RemoveContact(ctx, acct)
				return contactsMsg{list: list, err: err, op: "remove", target: acct}
			})
		}
		return nil
	case m.filtering:
		switch {
		case key.Matches(msg, k.esc):
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
			m.syncCursors()
			return nil
		case msg.Type == tea.KeyEnter, msg.Type == tea.KeyUp, msg.Type == tea.KeyDown:
			// Enter keeps the filter and goes back to the list.
			m.filtering = false
			m.filter.Blur()
			if msg.Type == tea.KeyEnter {
				return nil
			}
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			m.selectContact(0) // the best match
			return cmd
		}
	}

	switch {
	case key.Matches(msg, k.tab):
		if m.tab == tabContacts {
			m.tab = tabHistory
		} else {
			m.tab = tabContacts
		}
		return nil
	case key.Matches(msg, k.esc):
		if m.filter.Value() != "" {
			m.filter.SetValue("")
			m.syncCursors()
		}
		m.clearNotice()
		return nil
	}
	if m.tab == tabHistory {
		return m.historyKey(msg)
	}
	list := m.visibleContacts()
	switch {
	case key.Matches(msg, k.up):
		m.selPinned = true
		m.selectContact(m.cursor - 1)
	case key.Matches(msg, k.down):
		m.selPinned = true
		m.selectContact(min(len(list)-1, m.cursor+1))
	case key.Matches(msg, k.filter):
		m.filtering = true
		return m.filter.Focus()
	case key.Matches(msg, k.add):
		m.adding = true
		m.addInput.SetValue("")
		return m.addInput.Focus()
	case key.Matches(msg, k.remove):
		if c, ok := m.selectedContact(); ok {
			m.removing = c.Account
		}
	case key.Matches(msg, k.audio), key.Matches(msg, k.enter):
		if c, ok := m.selectedContact(); ok {
			m.selPinned = true
			return m.placeCall(c.Account, protocol.CallAudio)
		}
	case key.Matches(msg, k.video):
		if c, ok := m.selectedContact(); ok {
			m.selPinned = true
			return m.placeCall(c.Account, protocol.CallVideo)
		}
	}
	return nil
}

func (m *Model) historyKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.up):
		m.hselPinned = true
		m.selectRecord(m.hcursor - 1)
	case key.Matches(msg, k.down):
		m.hselPinned = true
		m.selectRecord(min(len(m.records)-1, m.hcursor+1))
		return m.loadMoreRecords()
	case key.Matches(msg, k.enter), key.Matches(msg, k.audio), key.Matches(msg, k.video):
		if m.hcursor >= len(m.records) {
			return nil
		}
		r := m.records[m.hcursor]
		ct := r.Type
		if key.Matches(msg, k.audio) {
			ct = protocol.CallAudio
		} else if key.Matches(msg, k.video) {
			ct = protocol.CallVideo
		}
		if !ct.Valid() {
			ct = protocol.CallAudio
		}
		m.hselPinned = true
		return m.placeCall(recordPeer(r), ct)
	}
	return nil
}
