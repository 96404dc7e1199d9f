package ui

import (
	"context"
	"image"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/servertest"
)

// staticModel is a model over a real logged-in engine, fed messages
// directly (no program), for screens whose data a signaling-only call
// cannot produce (video frames, stats, every record status).
func staticModel(t *testing.T, eng *call.Engine, lang string, w, h int, mod func(*modelConfig)) *Model {
	t.Helper()
	cfg := testConfig(eng, lang)
	if mod != nil {
		mod(&cfg)
	}
	m := newModel(cfg)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(contactsMsg{list: []protocol.Contact{
		{Account: "bob", NickName: "小明", Presence: protocol.PresenceOnline},
		{Account: "carol", NickName: "Carol", Presence: protocol.PresenceInCall},
		{Account: "dave", NickName: "Dave", Presence: protocol.PresenceOffline},
	}})
	return m
}

func staticEngine(t *testing.T) *call.Engine {
	t.Helper()
	srv := startServer(t)
	u := createUsers(t, srv, account{name: "alice", nick: "Alice"})
	return newEngine(t, srv, u["alice"], "zh")
}

func at(min int) int64 { return fixedNow.Add(-time.Duration(min) * time.Minute).UnixMilli() }

// Every record status shows the seed's text for the local side, in both
// languages.
func TestHistoryStatuses(t *testing.T) {
	eng := staticEngine(t)
	rec := func(st int, from, to string, ct protocol.CallType, min int, secs int64) call.RecordMessage {
		dir := call.DirectionOutgoing
		if to == "alice" {
			dir = call.DirectionIncoming
		}
		r := call.RecordMessage{Direction: dir}
		r.Type, r.Status, r.From, r.To, r.ChannelID = ct, st, from, to, from+to+string(rune('0'+st))
		r.CreatedAt, r.EndedAt = at(min), at(min)+secs*1000
		r.Durations = []protocol.Duration{{Accid: from, Duration: secs}, {Accid: to, Duration: secs}}
		return r
	}
	records := []call.RecordMessage{
		rec(protocol.StatusCompleted, "alice", "bob", protocol.CallVideo, 5, 125),
		rec(protocol.StatusCanceled, "alice", "carol", protocol.CallAudio, 20, 0),
		rec(protocol.StatusCanceled, "carol", "alice", protocol.CallAudio, 30, 0),
		rec(protocol.StatusRejected, "dave", "alice", protocol.CallVideo, 60, 0),
		rec(protocol.StatusRejected, "alice", "dave", protocol.CallAudio, 90, 0),
		rec(protocol.StatusTimeout, "bob", "alice", protocol.CallAudio, 24*60, 0),
		rec(protocol.StatusBusy, "alice", "bob", protocol.CallAudio, 48*60, 0),
	}
	seed := map[string][]string{
		"zh": {"已完成", "已取消", "对方已取消", "已拒绝", "对方已拒绝", "未接听", "对方忙线"},
		"en": {"Completed", "Canceled", "Canceled by caller", "Rejected", "Rejected by callee", "Missed", "Callee busy"},
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := staticModel(t, eng, lang, termW, termH, nil)
			m.Update(recordsMsg{list: records})
			m.Update(press("tab"))
			v := m.View()
			checkSize(t, v, termW, termH)
			lines := strings.Split(v, "\n")
			for i, want := range seed[lang] {
				if l := lines[3+i]; !strings.Contains(l, want+" ") {
					t.Errorf("record %d: want %q in %q", i, want, l)
				}
			}
			checkGolden(t, "history", v)
			// Recent peers first in the contacts: bob, carol, dave.
			m.Update(press("tab"))
			v = m.View()
			if !(strings.Index(v, "(bob)") < strings.Index(v, "(carol)") && strings.Index(v, "(carol)") < strings.Index(v, "(dave)")) {
				t.Errorf("contacts not in recent order:\n%s", v)
			}
		})
	}
}

// testFrame is a w×h picture with a colour gradient.
func testFrame(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			img.Y[img.YOffset(x, y)] = uint8(16 + 200*x/w)
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			i := img.COffset(x*2, y*2)
			img.Cb[i], img.Cr[i] = uint8(60+120*y*2/h), uint8(200-100*x*2/w)
		}
	}
	return img
}

// The in-call video screen: remote picture scaled to the pane, local
// preview, meters, stats and the network indicator, at 80×24 and 120×40.
func TestInCallVideo(t *testing.T) {
	eng := staticEngine(t)
	for _, lang := range langs {
		for _, sz := range [][2]int{{80, 24}, {120, 40}} {
			t.Run(lang+"/"+strconv.Itoa(sz[0])+"x"+strconv.Itoa(sz[1]), func(t *testing.T) {
				m := staticModel(t, eng, lang, sz[0], sz[1], nil)
				m.resetCall()
				m.peer, m.callType, m.phase, m.started = "bob", protocol.CallVideo, phaseInCall, fixedNow.Add(-75*time.Second)
				m.setFrames(testFrame(64, 36), testFrame(32, 18))
				m.mic, m.speaker, m.levelsOK = 0.5, 0.05, true
				st := call.CallStats{UserID: "bob"}
				st.SendKbps, st.RecvKbps, st.LossPct, st.JitterMs, st.RttMs, st.Mos = 812, 790, 3.2, 25, 120, 3.4
				st.Width, st.Height, st.Fps, st.CandidateType = 640, 360, 24, "relay"
				st.SendWidth, st.SendHeight, st.SendFps = 320, 180, 15
				m.Update(eventMsg{ev: call.Event{Name: call.EvStats, Time: fixedNow, Data: st}})
				v := m.View()
				checkSize(t, v, sz[0], sz[1])
				tx := textFor(lang)
				for _, want := range []string{tx.callVideo + " · " + tx.duration + " 01:15", "MOS 3.40", tx.qualityNames[3], "▀",
					tx.statVideoRecv + " 640x360@24", tx.statVideoSend + " 320x180@15", tx.viaRelay} {
					if !strings.Contains(v, want) {
						t.Errorf("missing %q", want)
					}
				}
				checkGolden(t, "screen", v)

				// A frozen picture and a paused sender are marked.
				st.Frozen, st.SendSuspended = true, true
				m.Update(eventMsg{ev: call.Event{Name: call.EvStats, Time: fixedNow, Data: st}})
				v = m.View()
				for _, want := range []string{tx.videoFrozen, tx.statVideoSend + " " + tx.videoPaused} {
					if !strings.Contains(v, want) {
						t.Errorf("missing %q for a frozen picture and a paused sender", want)
					}
				}
				st.Frozen, st.SendSuspended, st.RecvSuspended = false, false, true
				m.Update(eventMsg{ev: call.Event{Name: call.EvStats, Time: fixedNow, Data: st}})
				if v = m.View(); !strings.Contains(v, tx.statVideoRecv+" "+tx.videoPaused) {
					t.Errorf("missing %q for the peer's paused video", tx.statVideoRecv+" "+tx.videoPaused)
				}

				// Mute and camera off show at once (and the peer's state
				// from the events).
				m.Update(press("m"))
				m.Update(press("e"))
				m.Update(eventMsg{ev: call.Event{Name: call.EvAudioMuted, Time: fixedNow, Data: call.MuteInfo{UserID: "bob", Mute: true}}})
				v = m.View()
				for _, want := range []string{tx.micOff, tx.camOff, tx.peerMuted} {
					if !strings.Contains(v, want) {
						t.Errorf("missing %q after m/e", want)
					}
				}
			})
		}
	}
}

// The event log pane is open with debug, shows each event with its data,
// and never shows the media token.
func TestEventLog(t *testing.T) {
	eng := staticEngine(t)
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := staticModel(t, eng, lang, termW, termH, func(c *modelConfig) { c.debug = true })
			evs := []call.Event{
				{Name: protocol.EvPresence, Data: protocol.Presence{Account: "bob", Presence: protocol.PresenceOnline}},
				{Name: protocol.EvUserAccept, Data: protocol.Peer{ChannelID: "ch1", UserID: "bob", MediaToken: "SECRET-TOKEN"}},
				{Name: call.EvDisconnect, Data: call.DisconnectInfo{Error: "connection reset", Reconnecting: true}},
				{Name: call.EvReconnected, Data: call.ReconnectInfo{Account: "alice", Device: "d1", Attempts: 2, State: "idle"}},
			}
			for i, ev := range evs {
				ev.Time = fixedNow.Add(time.Duration(i) * time.Second)
				m.Update(eventMsg{ev: ev})
			}
			v := m.View()
			checkSize(t, v, termW, termH)
			if strings.Contains(v, "SECRET") {
				t.Errorf("media token shown in the event log:\n%s", v)
			}
			for _, ev := range evs {
				if !strings.Contains(v, ev.Name) {
					t.Errorf("event %s not in the log", ev.Name)
				}
			}
			checkGolden(t, "open", v)
			m.Update(press("l"))
			if strings.Contains(m.View(), textFor(lang).logTitle) {
				t.Error("l did not close the log")
			}
		})
	}
}

// A lost server shows a status line until the engine reconnects by itself.
func TestConnectionStatus(t *testing.T) {
	eng := staticEngine(t)
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := staticModel(t, eng, lang, termW, termH, nil)
			m.Update(eventMsg{ev: call.Event{Name: call.EvDisconnect, Time: fixedNow, Data: call.DisconnectInfo{Error: "dial tcp: connection refused", Reconnecting: true}}})
			v := m.View()
			checkSize(t, v, termW, termH)
			checkGolden(t, "lost", v)
			m.Update(eventMsg{ev: call.Event{Name: call.EvReconnected, Time: fixedNow, Data: call.ReconnectInfo{Account: "alice", Attempts: 3, State: "idle"}}})
			v = m.View()
			if !strings.Contains(v, textFor(lang).reconnected) {
				t.Errorf("no reconnected notice:\n%s", v)
			}
			checkGolden(t, "back", v)
		})
	}
}

// ? shows the full help; every screen fits from 80×24 up and on resize.
func TestHelpAndResize(t *testing.T) {
	eng := staticEngine(t)
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := staticModel(t, eng, lang, termW, termH, nil)
			m.Update(press("?"))
			v := m.View()
			checkSize(t, v, termW, termH)
			checkGolden(t, "full-help", v)
			m.Update(press("?"))
			sizes := [][2]int{{120, 40}, {80, 24}, {100, 30}, {200, 60}, {60, 20}, {40, 12}}
			for _, sz := range sizes {
				m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				checkSize(t, m.View(), sz[0], sz[1])
			}
			// The in-call video screen with the log open, at every size.
			m.logOpen = true
			m.peer, m.callType, m.phase, m.started = "bob", protocol.CallVideo, phaseInCall, fixedNow
			m.setFrames(testFrame(64, 36), testFrame(32, 18))
			for _, sz := range sizes {
				m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				checkSize(t, m.View(), sz[0], sz[1])
			}
			m.resetCall()
			m.logOpen = false
			m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
			checkGolden(t, "contacts-120x40", m.View())
		})
	}
}

// BenchmarkInCallView is one redraw of the in-call screen at 120×40 with a
// new 640×360 remote frame (the video renderer plus the layout around it).
func BenchmarkInCallView(b *testing.B) {
	srv := servertest.Start(b, nil)
	tok, err := srv.CreateUser(context.Background(), "alice", "Alice")
	if err != nil {
		b.Fatal(err)
	}
	eng := call.New(call.Config{Server: srv.URL()})
	defer eng.Close()
	if err := eng.Login(context.Background(), "alice", tok); err != nil {
		b.Fatal(err)
	}
	m := newModel(testConfig(eng, "zh"))
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.peer, m.callType, m.phase, m.started = "bob", protocol.CallVideo, phaseInCall, fixedNow
	remote, local := testFrame(640, 360), testFrame(320, 180)
	b.ResetTimer()
	for range b.N {
		m.setFrames(remote, local)
		_ = m.View()
	}
}

// TestMissingCameraShowsCameraOff: a MEDIA_WARNING about the camera shows
// the notice and the camera as off, since nothing is sent.
func TestMissingCameraShowsCameraOff(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "en", 120, 40, nil)
	m.resetCall()
	m.peer, m.callType, m.phase, m.started = "bob", protocol.CallVideo, phaseInCall, fixedNow
	m.Update(eventMsg{ev: call.Event{Name: call.EvMediaWarning, Time: fixedNow, Data: call.MediaWarning{Kind: "video", Error: "no camera"}}})
	if !m.camOff {
		t.Fatal("camera still shown on after a video MEDIA_WARNING")
	}
	m.Update(eventMsg{ev: call.Event{Name: call.EvMediaWarning, Time: fixedNow, Data: call.MediaWarning{Kind: "audioOut", Error: "no speaker"}}})
	if v := m.View(); !strings.Contains(v, "no speaker") {
		t.Errorf("the warning is not shown:\n%s", v)
	}
}
