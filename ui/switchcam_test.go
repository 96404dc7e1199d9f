package ui

import (
	"strings"
	"testing"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// w in a video call calls SwitchCamera and shows the result briefly; a
// camera that failed to open during the switch keeps the camera on and its
// warning in view; in an audio call w does nothing.
func TestSwitchCameraKey(t *testing.T) {
	eng := staticEngine(t)
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			tx := textFor(lang)
			m := staticModel(t, eng, lang, 120, 40, nil)
			m.resetCall()
			m.peer, m.callType, m.phase, m.started = "bob", protocol.CallAudio, phaseInCall, fixedNow
			if _, cmd := m.Update(press("w")); cmd != nil {
				t.Error("w in an audio call did something")
			}

			m.callType = protocol.CallVideo
			_, cmd := m.Update(press("w"))
			if cmd == nil {
				t.Fatal("w in a video call: no command")
			}
			// The engine has no media: there is no camera to switch to.
			msg := cmd()
			if r, ok := msg.(cameraSwitchedMsg); !ok || r.ok {
				t.Fatalf("w ran %#v, want cameraSwitchedMsg{false}", msg)
			}
			_, clear := m.Update(msg)
			if v := m.View(); !strings.Contains(v, tx.camNoSwitch) {
				t.Errorf("the result is not shown:\n%s", v)
			}
			if clear == nil {
				t.Fatal("the result is not cleared later")
			}
			m.Update(briefDoneMsg{text: tx.camNoSwitch})
			if strings.Contains(m.View(), tx.camNoSwitch) {
				t.Error("the result stays after its time")
			}

			// A camera that could not be opened: the call keeps its camera,
			// and the warning (with the reason) stays in place of "no other
			// camera".
			m.Update(press("w"))
			m.Update(eventMsg{ev: call.Event{Name: call.EvMediaWarning, Time: fixedNow,
				Data: call.MediaWarning{Kind: "video", Error: "no such camera", Switching: true}}})
			m.Update(cameraSwitchedMsg{ok: false})
			v := m.View()
			if m.camOff || strings.Contains(v, tx.camOff) {
				t.Error("a failed switch shows the camera as off")
			}
			if !strings.Contains(v, "no such camera") || strings.Contains(v, tx.camNoSwitch) {
				t.Errorf("the warning is not kept:\n%s", v)
			}

			m.Update(cameraSwitchedMsg{ok: true})
			if v := m.View(); !strings.Contains(v, tx.camSwitched) {
				t.Errorf("a switch is not shown:\n%s", v)
			}
			// A later notice is not cleared by the earlier timer.
			m.setNotice("other", false)
			m.Update(briefDoneMsg{text: tx.camSwitched})
			if !strings.Contains(m.View(), "other") {
				t.Error("the timer cleared a later notice")
			}
		})
	}
}
