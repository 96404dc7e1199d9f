package ui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/softphone/softphone/call/protocol"
)

// micSilentLevel is the peak level (of full scale) under which the
// microphone counts as silent: one step of a 16-bit sample, so only digital
// silence (a muted or wrong device, a dead input) counts, never a quiet room.
const micSilentLevel = 1.0 / 32768

// tick runs once a clock interval: what was shown for a while goes (an old
// notice, a switch request nobody answered), and a microphone that sends
// nothing earns a hint.
func (m *Model) tick() tea.Cmd {
	now := m.cfg.now()
	if !m.noticeUntil.IsZero() && !now.Before(m.noticeUntil) {
		m.clearNotice()
	}
	if m.phase == phaseInCall && m.levelsOK && !m.muted && m.mic < micSilentLevel {
		m.micSilent++
	} else {
		m.micSilent = 0
	}
	switch {
	case m.switchWait && !m.switchAt.IsZero() && now.Sub(m.switchAt) >= switchLife:
		m.switchWait = false
		m.setNotice(m.t.switchExpire, false)
		return m.withdrawSwitch()
	case m.switchReq && !m.switchAt.IsZero() && now.Sub(m.switchAt) >= switchLife:
		// The peer's device never withdrew it (or went away): stop asking.
		m.switchReq = false
	}
	return nil
}

// withdrawSwitch takes back our request to switch to video.
func (m *Model) withdrawSwitch() tea.Cmd {
	return m.action("switch", func(ctx context.Context, eng engine) error {
		return eng.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchReject)
	})
}

// micSilentHint reports whether the in-call screen shows the hint about a
// silent microphone.
func (m *Model) micSilentHint() bool { return m.micSilent >= micSilentAfter }
