package ui

import (
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// testClock is a model clock the test moves on.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// selectedLine is the contact or record row under the cursor.
func selectedLine(v string) string {
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(l, "> ") {
			return l
		}
	}
	return ""
}

// burst is keys that arrived together: Bubble Tea v1 makes them one
// message with several runes.
func burst(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// inCall puts a static model into a call with bob that it accepted.
func inCall(m *Model, ct protocol.CallType) {
	m.Update(acceptedMsg{inv: protocol.Invite{ChannelID: "ch1", From: "bob", FromNick: "小明", To: "alice", CallType: ct}})
}

// After a call the contacts re-sort (recent first): the cursor stays on
// the contact it was on, so the next key acts on the same person.
func TestCursorFollowsContact(t *testing.T) {
	s := newCallSetup(t, "zh")
	tm := runUI(t, newModel(testConfig(s.alice, "zh")))
	// By name: Carol, then 小明 (bob). Move to bob and call him.
	waitView(t, tm, "小明 (bob)")
	tm.Send(press("j"))
	waitUntil(t, tm, "the cursor on bob", func(v string) bool { return strings.Contains(selectedLine(v), "小明 (bob)") })
	tm.Send(press("a"))
	waitEvent(t, s.bob, protocol.EvInvited)
	if err := s.bob.Reject(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	waitView(t, tm, "对方已拒绝")
	tm.Send(press("enter"))
	// The record puts bob first; the cursor moves with him.
	v := waitUntil(t, tm, "bob on the first row", func(v string) bool {
		lines := strings.Split(v, "\n")
		return len(lines) > 2 && strings.Contains(lines[2], "小明 (bob)")
	})
	if l := selectedLine(v); !strings.Contains(l, "小明 (bob)") {
		t.Fatalf("the cursor left bob after the re-sort: %q\n%s", l, v)
	}
	tm.Send(press("a"))
	ev := waitEvent(t, s.bob, protocol.EvInvited)
	if inv := ev.Data.(protocol.Invite); inv.From != "alice" {
		t.Fatalf("bob's invite is from %q", inv.From)
	}
	tm.Send(press("c"))
	waitView(t, tm, "已取消")
}

// In the history a new record goes on top; the cursor stays on the record
// it was on (after a redial of it, say).
func TestHistoryCursorFollowsRecord(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "en", termW, termH, nil)
	rec := func(ch, to string, min int) call.RecordMessage {
		r := call.RecordMessage{Direction: call.DirectionOutgoing}
		r.ChannelID, r.From, r.To, r.Status, r.Type, r.CreatedAt = ch, "alice", to, protocol.StatusRejected, protocol.CallAudio, at(min)
		return r
	}
	m.Update(recordsMsg{list: []call.RecordMessage{rec("c1", "carol", 1), rec("c2", "dave", 2)}})
	m.Update(press("tab"))
	if l := selectedLine(m.View()); !strings.Contains(l, "Carol") {
		t.Fatalf("the history does not start on the newest record: %q", l)
	}
	m.Update(press("j"))
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvMessageSent, Time: fixedNow, Data: rec("c3", "bob", 0)}})
	if l := selectedLine(m.View()); !strings.Contains(l, "Dave") {
		t.Fatalf("the cursor left dave's record when a new one arrived: %q\n%s", l, m.View())
	}
}

// Keys that arrive together each act: j j j moves three rows, m e in a
// video call mutes and turns the camera off. Pasted text is no command.
func TestKeyBurst(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "en", termW, termH, nil)
	m.Update(burst("jj"))
	if l := selectedLine(m.View()); !strings.Contains(l, "小明 (bob)") {
		t.Fatalf("jj did not move two rows: %q\n%s", l, m.View())
	}
	m.Update(burst("k"))
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("kk"), Paste: true})
	if l := selectedLine(m.View()); !strings.Contains(l, "Dave") {
		t.Fatalf("a paste moved the cursor: %q", l)
	}
	// A burst that opens the filter types the rest into it.
	m.Update(burst("/car"))
	if v := m.View(); !strings.Contains(v, "Filter: car") || !strings.Contains(selectedLine(v), "Carol") {
		t.Fatalf("/car did not filter:\n%s", v)
	}
	m.Update(press("esc"))

	inCall(m, protocol.CallVideo)
	m.Update(burst("me"))
	v := m.View()
	if !m.muted || !m.camOff || !strings.Contains(v, enText.micOff) || !strings.Contains(v, enText.camOff) {
		t.Fatalf("m e did not mute and turn the camera off (muted %v, camera off %v):\n%s", m.muted, m.camOff, v)
	}
}

// Messages give way to newer state: an invite replaces the last outcome,
// an accepted switch the earlier refusal, and any notice goes after its
// lifetime.
func TestStaleMessages(t *testing.T) {
	eng := staticEngine(t)
	clk := &testClock{t: fixedNow}
	m := staticModel(t, eng, "zh", termW, termH, func(c *modelConfig) { c.now = clk.now })
	inv := protocol.Invite{ChannelID: "ch1", From: "bob", FromNick: "小明", To: "alice", CallType: protocol.CallAudio}
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvInvited, Time: fixedNow, Data: inv}})
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvCallingTimeout, Time: fixedNow, Data: protocol.Peer{ChannelID: "ch1", UserID: "bob"}}})
	missed := "小明 (bob) 的来电 · 未接听"
	if v := m.View(); !strings.Contains(v, missed) {
		t.Fatalf("a timed-out invite does not say whose:\n%s", v)
	}
	inv.ChannelID = "ch2"
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvInvited, Time: fixedNow, Data: inv}})
	if v := m.View(); strings.Contains(v, missed) || !strings.Contains(v, zhText.incomingTitle) {
		t.Fatalf("the old outcome stayed above the new invite:\n%s", v)
	}
	m.Update(press("n"))

	// A refused switch, then one the peer agrees to: the refusal goes.
	inCall(m, protocol.CallAudio)
	change := func(state, by string) {
		m.Update(eventMsg{ev: call.Event{Name: protocol.EvCallTypeChange, Time: clk.now(), Data: protocol.CallTypeChange{
			ChannelID: "ch1", CallType: protocol.CallVideo, State: state, UserID: by}}})
	}
	change(protocol.SwitchInvite, "alice")
	change(protocol.SwitchReject, "bob")
	if v := m.View(); !strings.Contains(v, zhText.switchNo) {
		t.Fatalf("no refusal shown:\n%s", v)
	}
	change(protocol.SwitchInvite, "alice")
	change(protocol.SwitchAgree, "bob")
	if v := m.View(); strings.Contains(v, zhText.switchNo) || !strings.Contains(v, zhText.callVideo) {
		t.Fatalf("the refusal stayed after the switch succeeded:\n%s", v)
	}

	// Any notice goes after its lifetime.
	m.setNotice("旧消息", false)
	clk.add(noticeLife - time.Second)
	m.Update(clockMsg(clk.now()))
	if !strings.Contains(m.View(), "旧消息") {
		t.Fatal("the notice went before its time")
	}
	clk.add(2 * time.Second)
	m.Update(clockMsg(clk.now()))
	if strings.Contains(m.View(), "旧消息") {
		t.Fatal("the notice outlived its lifetime")
	}
}

// A switch to video we asked for can be withdrawn with s, and is withdrawn
// when nobody answers; the peer's request goes when withdrawn.
func TestSwitchRequestLifetime(t *testing.T) {
	eng := staticEngine(t)
	clk := &testClock{t: fixedNow}
	m := staticModel(t, eng, "en", termW, termH, func(c *modelConfig) { c.now = clk.now })
	inCall(m, protocol.CallAudio)
	m.Update(press("s"))
	if !m.switchWait || !strings.Contains(m.View(), "s withdraw request") {
		t.Fatalf("no pending request shown:\n%s", m.View())
	}
	m.Update(press("s"))
	if m.switchWait || !strings.Contains(m.View(), enText.switchGone) {
		t.Fatalf("s did not withdraw:\n%s", m.View())
	}
	m.Update(press("s"))
	clk.add(switchLife)
	if cmd := m.tick(); cmd == nil || m.switchWait || !strings.Contains(m.View(), enText.switchExpire) {
		t.Fatalf("an unanswered request did not expire:\n%s", m.View())
	}
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvCallTypeChange, Time: clk.now(), Data: protocol.CallTypeChange{
		ChannelID: "ch1", CallType: protocol.CallVideo, State: protocol.SwitchInvite, UserID: "bob"}}})
	if !strings.Contains(m.View(), enText.switchAsk) {
		t.Fatal("the peer's request is not shown")
	}
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvCallTypeChange, Time: clk.now(), Data: protocol.CallTypeChange{
		ChannelID: "ch1", CallType: protocol.CallVideo, State: protocol.SwitchReject, UserID: "bob"}}})
	if v := m.View(); strings.Contains(v, enText.switchAsk) || !strings.Contains(v, enText.switchPeerGone) {
		t.Fatalf("the withdrawn request stayed:\n%s", v)
	}
}

// blackFrame is what a camera turned off sends: video black.
func blackFrame(w, h int) *image.YCbCr {
	img := testFrame(w, h)
	for i := range img.Y {
		img.Y[i] = 16
	}
	return img
}

// The camera states say what is going on: the peer's camera off, a black
// picture, e in an audio call, and video after a switch starts with the
// camera on.
func TestCameraStates(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "en", 120, 40, nil)
	inCall(m, protocol.CallVideo)
	var st call.CallStats
	st.Mos, st.Width, st.Height, st.Fps = 4.3, 640, 360, 30
	m.Update(eventMsg{ev: call.Event{Name: call.EvStats, Time: fixedNow, Data: st}})
	m.setFrames(testFrame(64, 36), testFrame(32, 18))
	if v := m.View(); !strings.Contains(v, "640x360") {
		t.Fatalf("no resolution:\n%s", v)
	}
	m.Update(eventMsg{ev: call.Event{Name: call.EvVideoMuted, Time: fixedNow, Data: call.MuteInfo{UserID: "bob", Mute: true}}})
	v := m.View()
	if !strings.Contains(v, enText.peerCamPane) || strings.Contains(v, "640x360") || strings.Contains(v, enText.noVideo) {
		t.Fatalf("the peer's camera off shows the wrong state:\n%s", v)
	}
	m.Update(eventMsg{ev: call.Event{Name: call.EvVideoMuted, Time: fixedNow, Data: call.MuteInfo{UserID: "bob", Mute: false}}})
	m.Update(press("e"))
	m.setFrames(blackFrame(64, 36), blackFrame(32, 18)) // an echo of our black frames
	v = m.View()
	if !strings.Contains(v, enText.blackPicture) || strings.Count(v, enText.camOffPane) < 2 {
		t.Fatalf("our camera off in an echo call is not said:\n%s", v)
	}

	m.resetCall()
	inCall(m, protocol.CallAudio)
	m.Update(press("e"))
	if m.camOff || !strings.Contains(m.View(), enText.camInAudio) {
		t.Fatalf("e in an audio call: camera off %v\n%s", m.camOff, m.View())
	}
	m.camOff = true // turned off in an earlier video part of the call
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvCallTypeChange, Time: fixedNow, Data: protocol.CallTypeChange{
		ChannelID: "ch1", CallType: protocol.CallVideo, State: protocol.SwitchAgree, UserID: "bob"}}})
	if m.camOff {
		t.Fatal("the call switched to video starts with the camera off")
	}
}

// Disconnected: presence is unknown, a call is not tried, and the status
// line speaks the UI's language only.
func TestOffline(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "zh", termW, termH, nil)
	m.Update(eventMsg{ev: call.Event{Name: call.EvDisconnect, Time: fixedNow, Data: call.DisconnectInfo{
		Error: "read: websocket: close 1006 (abnormal closure): unexpected EOF", Reconnecting: true}}})
	v := m.View()
	if strings.Contains(v, "websocket") || strings.Contains(v, zhText.presenceOnline) || !strings.Contains(v, zhText.presenceUnknown) {
		t.Fatalf("offline screen:\n%s", v)
	}
	m.Update(press("a"))
	if v := m.View(); m.phase != phaseNone || !strings.Contains(v, zhText.offlineCall) || strings.Contains(v, "signaling") {
		t.Fatalf("a call while offline:\n%s", v)
	}
}

// The smaller things: the quit question names what it ends, the in-call
// header uses the nickname the invite carried, "the peer hung up" stays
// when the record comes, the help has Esc and Ctrl+C, an empty account is
// said.
func TestSmallerStates(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "zh", termW, termH, nil)
	inv := protocol.Invite{ChannelID: "ch1", From: "eve", FromNick: "小红", To: "alice", CallType: protocol.CallAudio}
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvInvited, Time: fixedNow, Data: inv}})
	m.Update(press("q"))
	if v := m.View(); !strings.Contains(v, "小红 (eve) 来电中，拒绝并退出？") {
		t.Fatalf("quit while ringing:\n%s", v)
	}
	m.Update(press("n"))
	m.Update(acceptedMsg{inv: inv})
	if v := m.View(); !strings.Contains(v, "小红 (eve)") {
		t.Fatalf("the in-call header lost the nickname:\n%s", v)
	}
	m.Update(press("q"))
	if v := m.View(); !strings.Contains(v, "正在与 小红 (eve) 通话，挂断并退出？") {
		t.Fatalf("quit during a call does not name it:\n%s", v)
	}
	m.Update(press("n"))
	m.Update(press("?"))
	if v := m.View(); !strings.Contains(v, "ctrl+c") || !strings.Contains(v, "h") {
		t.Fatalf("in-call help:\n%s", v)
	}
	m.Update(press("?"))
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvCallEnd, Time: fixedNow, Data: protocol.Peer{ChannelID: "ch1", UserID: "eve"}}})
	r := call.RecordMessage{Direction: call.DirectionIncoming}
	r.ChannelID, r.From, r.To, r.Status, r.Type, r.CreatedAt = "ch1", "eve", "alice", protocol.StatusCompleted, protocol.CallAudio, at(0)
	m.Update(eventMsg{ev: call.Event{Name: protocol.EvMessageSent, Time: fixedNow, Data: r}})
	if v := m.View(); !strings.Contains(v, zhText.endedPeer) || !strings.Contains(v, "已完成") {
		t.Fatalf("the peer's hang-up was replaced by the record:\n%s", v)
	}
	m.Update(press("?"))
	if v := m.View(); !strings.Contains(v, "esc") || !strings.Contains(v, "ctrl+c") {
		t.Fatalf("main help without esc and ctrl+c:\n%s", v)
	}
	m.Update(press("?"))
	// A mistyped account to add is said in the UI's language, before the
	// server answers in English.
	m.Update(press("+"))
	m.Update(burst("bad name"))
	m.Update(press("enter"))
	if v := m.View(); !strings.Contains(v, `账号 "bad name" 无效`) || strings.Contains(v, "field account") {
		t.Fatalf("adding an invalid account:\n%s", v)
	}

	m.placeCall("bob", protocol.CallAudio)
	m.Update(press("q"))
	if v := m.View(); !strings.Contains(v, "正在呼叫 小明 (bob)，取消呼叫并退出？") {
		t.Fatalf("quit while calling:\n%s", v)
	}

	lm := newModel(testConfig(nil, "zh"))
	lm.Update(tea.WindowSizeMsg{Width: termW, Height: termH})
	lm.Update(press("tab"))
	lm.Update(press("enter"))
	if v := lm.View(); !strings.Contains(v, zhText.loginNoAcct) || !strings.Contains(v, "› "+zhText.loginAcct) {
		t.Fatalf("the login form with no account:\n%s", v)
	}
	lm.Update(burst("a b"))
	lm.Update(press("enter"))
	if v := lm.View(); !strings.Contains(v, `账号 "a b" 无效`) || !strings.Contains(v, "› "+zhText.loginAcct) {
		t.Fatalf("the login form with an invalid account:\n%s", v)
	}
}

// The event log scrolls, hides the STATS of every second unless f shows
// them, wraps long data instead of cutting it, and stays put while new
// events arrive during scrolling.
func TestEventLogScroll(t *testing.T) {
	eng := staticEngine(t)
	// Tall enough that one STATS line (about 60 fields, wrapped) fits the
	// log pane.
	m := staticModel(t, eng, "en", termW, 2*termH, func(c *modelConfig) { c.debug = true })
	add := func(i int, ev call.Event) {
		ev.Time = fixedNow.Add(time.Duration(i) * time.Second)
		m.Update(eventMsg{ev: ev})
	}
	var st call.CallStats
	st.Mos, st.RttMs, st.LossPct, st.JitterMs, st.SendKbps, st.RecvKbps = 4.1, 40, 2.5, 3.14159, 40, 41
	for i := range 30 {
		add(i, call.Event{Name: call.EvStats, Data: st})
		add(i, call.Event{Name: protocol.EvPresence, Data: protocol.Presence{Account: "user" + string(rune('a'+i%26)), Presence: protocol.PresenceOnline}})
	}
	v := m.View()
	if strings.Contains(v, call.EvStats+" {") || !strings.Contains(v, "30 STATS hidden") {
		t.Fatalf("STATS not hidden:\n%s", v)
	}
	m.Update(press("f"))
	v = m.View()
	// The last STATS' data is on screen (its header may have scrolled
	// above the pane: the data wraps over many lines).
	if !strings.Contains(v, `"rttMs":40`) {
		t.Fatalf("f did not show the STATS:\n%s", v)
	}
	// The data is wrapped, not cut: the fields at the end are on screen.
	if !strings.Contains(v, `"lossPct":2.5`) || !strings.Contains(v, `"mos":4.1`) {
		t.Fatalf("STATS data cut off:\n%s", v)
	}
	// Measured values print with two decimals, not fifteen.
	if !strings.Contains(v, `"jitterMs":3.14,`) {
		t.Fatalf("STATS figures not rounded:\n%s", v)
	}
	m.Update(press("f"))
	m.Update(tea.KeyMsg{Type: tea.KeyPgUp})
	v = m.View()
	if !strings.Contains(v, "more lines below") || strings.Contains(v, `"account":"userd"`) {
		t.Fatalf("PgUp did not scroll back:\n%s", v)
	}
	before := logPane(v)
	add(40, call.Event{Name: protocol.EvPresence, Data: protocol.Presence{Account: "zed", Presence: protocol.PresenceOnline}})
	if after := logPane(m.View()); after != before {
		t.Fatalf("a new event moved the scrolled log:\n%s\n---\n%s", before, after)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnd})
	if v := m.View(); !strings.Contains(v, `"account":"zed"`) || strings.Contains(v, "more lines below") {
		t.Fatalf("End did not go back to the newest:\n%s", v)
	}
}

// logPane is the event log's lines below its title.
func logPane(v string) string {
	_, after, _ := strings.Cut(v, "── ")
	_, rest, _ := strings.Cut(after, "\n")
	return rest
}

// A microphone that sends digital silence for a few seconds earns the
// hint doctor gives; it goes when sound comes. Every screen size keeps its
// shape with it.
func TestMicSilentHint(t *testing.T) {
	eng := staticEngine(t)
	for _, ct := range []protocol.CallType{protocol.CallAudio, protocol.CallVideo} {
		m := staticModel(t, eng, "zh", termW, termH, nil)
		inCall(m, ct)
		m.levelsOK, m.mic = true, 0
		for range micSilentAfter {
			m.Update(clockMsg(fixedNow))
		}
		if v := m.View(); !strings.Contains(v, "麦克风没有声音") || !strings.Contains(v, "--audio-in") {
			t.Fatalf("no hint for a silent microphone (%v):\n%s", ct, v)
		}
		for _, sz := range [][2]int{{80, 24}, {60, 20}, {40, 12}, {120, 40}} {
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			checkSize(t, m.View(), sz[0], sz[1])
		}
		m.mic = 0.2
		m.Update(clockMsg(fixedNow))
		if strings.Contains(m.View(), "麦克风没有声音") {
			t.Fatal("the hint stayed with sound coming in")
		}
	}
}

// A contact added before they added us back shows by account and 待对方添加;
// once they do, the server reveals presence and nickname, and the list
// shows both without a restart.
func TestPendingContactGetsNickname(t *testing.T) {
	srv := startServer(t)
	u := createUsers(t, srv, account{name: "alice", nick: "Alice"})
	dave, err := srv.CreateUser(ctxT(t), "dave", "戴夫")
	if err != nil {
		t.Fatal(err)
	}
	alice := newEngine(t, srv, u["alice"], "zh")
	if _, err := alice.AddContact(ctxT(t), "dave"); err != nil {
		t.Fatal(err)
	}
	tm := runUI(t, newModel(testConfig(alice, "zh")))
	waitView(t, tm, zhText.presencePending)
	d := newEngine(t, srv, account{name: "dave", token: dave}, "zh")
	if _, err := d.AddContact(ctxT(t), "alice"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, tm, "dave's nickname and presence", func(v string) bool {
		l := selectedLine(v)
		return strings.Contains(l, "戴夫 (dave)") && strings.Contains(l, zhText.presenceOnline)
	})
}

func TestShortNumbers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":4.873299885846024,"b":-0.125,"c":40,"d":1e-7,"e":2.5}`, `{"a":4.87,"b":-0.13,"c":40,"d":1e-7,"e":2.5}`},
		{`{"s":"1.23456","t":"a\"3.14159","u":[0.999,12]}`, `{"s":"1.23456","t":"a\"3.14159","u":[1,12]}`},
		{`[]`, `[]`},
	} {
		if got := string(shortNumbers([]byte(tc.in))); got != tc.want {
			t.Errorf("shortNumbers(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A media warning names the device in the UI's language; the driver's
// detail follows as it is.
func TestMediaWarningKind(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "zh", termW, termH, nil)
	inCall(m, protocol.CallAudio)
	m.Update(eventMsg{ev: call.Event{Name: call.EvMediaWarning, Time: fixedNow, Data: call.MediaWarning{Kind: "audio", Error: "no audio input device"}}})
	if v := m.View(); !strings.Contains(v, "媒体提示（麦克风）：no audio input device") {
		t.Fatalf("media warning:\n%s", v)
	}
}
