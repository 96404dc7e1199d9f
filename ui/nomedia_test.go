package ui

import (
	"strings"
	"testing"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// TestNoMediaWarningShown: a call without media says so on the in-call
// screen, with the cause, for our side and for the peer's report.
func TestNoMediaWarningShown(t *testing.T) {
	for _, c := range []struct {
		lang   string
		remote bool
		want   string
	}{
		{"zh", false, "没有收到对方的音视频：ICE checking: no network path"},
		{"en", false, "No audio or video from the peer: ICE checking: no network path"},
		{"en", true, "The peer gets no audio or video: ICE checking: no network path"},
	} {
		eng := staticEngine(t)
		m := staticModel(t, eng, c.lang, 120, 40, nil)
		m.resetCall()
		m.peer, m.callType, m.phase, m.started = "bob", protocol.CallAudio, phaseInCall, fixedNow
		m.Update(eventMsg{ev: call.Event{Name: call.EvMediaWarning, Time: fixedNow,
			Data: call.MediaWarning{Kind: protocol.ProblemNoMedia, Error: "ICE checking: no network path", Remote: c.remote}}})
		if v := m.View(); !strings.Contains(v, c.want) {
			t.Errorf("%s remote=%t: %q not shown:\n%s", c.lang, c.remote, c.want, v)
		}
	}
}
