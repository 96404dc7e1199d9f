package browser

import (
	"strings"
	"testing"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
)

func contactPresence(account, presence string) string {
	return `(document.querySelector('#contacts-list li[data-account="` + account + `"]') || {dataset: {}}).dataset.presence === '` + presence + `'`
}

// TestBrowserCallsEngine: alice in the browser calls bob's engine from her
// contact list (audio). Live presence, the caller's countdown, Opus both
// ways (getStats in the page, STATS in the engine), mute reaching the peer,
// hang-up, and the record text in the history.
func TestBrowserCallsEngine(t *testing.T) {
	srv, toks := pair(t, nil)
	bob := newEngine(t, srv, "bob", toks["bob"], engineMedia())
	alice := open(t, srv, "alice", toks["alice"], "")
	alice.waitFor(contactPresence("bob", "online"))
	if got := alice.text("tab-contacts"); got != "联系人" {
		t.Errorf("tab text %q: the client starts in Chinese", got)
	}

	alice.check(alice.ClickContact(ctxT(t), "bob", false))
	inv := bob.waitFor(protocol.EvInvited, nil).Data.(protocol.Invite)
	if inv.From != "alice" || inv.CallType != protocol.CallAudio {
		t.Fatalf("invite %+v", inv)
	}
	alice.waitFor(`/等待对方接听 \d+ 秒/.test(document.getElementById('call-status').textContent)`)
	if err := bob.Accept(ctxT(t), &inv); err != nil {
		t.Fatal(err)
	}
	alice.event("USER_ACCEPT", "d.userId === 'bob' && !('mediaToken' in d)")
	st := alice.stats("d.audioPacketsReceived > 25 && d.audioRecvKbps > 0")
	if !strings.EqualFold(st.AudioCodec, "audio/opus") {
		t.Errorf("browser receives %q, want Opus", st.AudioCodec)
	}
	bob.statsWith(func(s call.CallStats) bool { return s.AudioRecvKbps > 5 })
	alice.waitFor(contactPresence("bob", "inCall"))
	alice.waitFor(`/^通话中 \d+:\d\d$/.test(document.getElementById('call-status').textContent)`)
	alice.waitFor(`document.getElementById('call-quality').textContent.startsWith('网络质量')`)

	alice.click("btn-mute")
	bob.waitFor(call.EvAudioMuted, func(ev call.Event) bool {
		m := ev.Data.(call.MuteInfo)
		return m.UserID == "alice" && m.Mute
	})
	alice.click("btn-hangup")
	bob.waitFor(protocol.EvCallEnd, nil)
	alice.event("MESSAGE_SENT", "d.status === 1 && d.text === '已完成' && d.direction === 'outgoing'")
	alice.click("tab-history")
	alice.waitFor(`(document.querySelector('#history-list li .record-text') || {}).textContent === '已完成'`)
	alice.waitFor(contactPresence("bob", "online"))
}

// TestEngineCallsBrowserVideo: bob's engine calls alice's browser (video,
// English). The incoming prompt with its countdown, VP8 and Opus both ways,
// then the browser switches to audio, the engine asks to go back to video
// and the browser agrees from its prompt: video flows again both ways.
func TestEngineCallsBrowserVideo(t *testing.T) {
	srv, toks := pair(t, nil)
	bob := newEngine(t, srv, "bob", toks["bob"], engineMedia())
	alice := open(t, srv, "alice", toks["alice"], "lang=en")
	if _, err := bob.Call(ctxT(t), "alice", protocol.CallVideo, nil); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(`!document.getElementById('incoming').hidden && /^Waiting for an answer, \d+ s$/.test(document.getElementById('incoming-countdown').textContent)`)
	if got := alice.text("incoming-type"); got != "invites you to a video call" {
		t.Errorf("prompt says %q", got)
	}
	alice.click("btn-accept")
	st := alice.stats("d.videoFramesDecoded > 10 && d.width > 0 && d.audioPacketsReceived > 0")
	if !strings.EqualFold(st.VideoCodec, "video/vp8") {
		t.Errorf("browser receives %q, want VP8", st.VideoCodec)
	}
	bob.statsWith(func(s call.CallStats) bool { return s.Fps > 0 && s.Width > 0 && s.AudioRecvKbps > 0 })
	alice.waitFor(`document.getElementById('remote-video').videoWidth > 0`)

	alice.click("btn-switch") // video → audio: applies at once
	bob.waitFor(protocol.EvCallTypeChange, func(ev call.Event) bool {
		c := ev.Data.(protocol.CallTypeChange)
		return c.State == protocol.SwitchAgree && c.CallType == protocol.CallAudio
	})
	alice.event("CALL_TYPE_CHANGE", "d.state === 'agree' && d.callType === 1")
	bob.statsWith(func(s call.CallStats) bool { return s.VideoRecvKbps == 0 && s.AudioRecvKbps > 0 })

	if err := bob.SwitchCallType(ctxT(t), protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(`!document.getElementById('switch-prompt').hidden`)
	if got := alice.text("switch-text"); got != "bob asks to switch to video" {
		t.Errorf("switch prompt %q", got)
	}
	alice.check(alice.ClearEvents(ctxT(t)))
	alice.click("btn-switch-agree")
	bob.waitFor(protocol.EvCallTypeChange, func(ev call.Event) bool {
		c := ev.Data.(protocol.CallTypeChange)
		return c.State == protocol.SwitchAgree && c.CallType == protocol.CallVideo
	})
	alice.stats("d.videoRecvKbps > 0 && d.fps > 0")
	bob.statsWith(func(s call.CallStats) bool { return s.VideoRecvKbps > 0 && s.Fps > 0 })

	if err := bob.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	alice.event("CALL_END", "d.userId === 'bob'")
	alice.event("MESSAGE_SENT", "d.status === 1 && d.type === 2 && d.text === 'Completed' && d.direction === 'incoming'")
	alice.waitFor(`document.getElementById('call-view').hidden`)
}

// TestBrowserRelayOnly: both ends forced onto the embedded TURN relay (the
// browser with ?relayOnly=1, credentials from its login reply).
func TestBrowserRelayOnly(t *testing.T) {
	srv, toks := pair(t, func(c *server.Config) { c.TURNListen = "127.0.0.1:0" })
	media := engineMedia()
	media.RelayOnly = true
	bob, alice := browserCallsBob(t, srv, toks, media, "relayOnly=1")
	alice.stats("d.candidateType === 'relay' && d.audioPacketsReceived > 10")
	bob.statsWith(func(s call.CallStats) bool { return s.CandidateType == "relay" && s.AudioRecvKbps > 0 })
	alice.click("btn-hangup")
	bob.waitFor(protocol.EvCallEnd, nil)
}

// TestBrowserMediaFailure: a relay of the wrong shape from the page is
// refused to it with 400 naming the field; and a call whose media cannot
// connect (the browser relay-only on a server without TURN) warns on both
// ends, the page showing the cause in the call view.
func TestBrowserMediaFailure(t *testing.T) {
	srv, toks := pair(t, nil)
	bob, alice := browserCallsBob(t, srv, toks, engineMedia(), "relayOnly=1")
	alice.event("USER_ACCEPT", "")

	var refused struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	alice.eval(`(() => {
		const kit = softphoneApp.kit, cur = kit.cur;
		return kit.request('relay', {channelId: cur.channelId, token: cur.mediaToken, kind: 'candidate',
			payload: {candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0}})
			.then(() => ({code: 0, message: 'relayed'}), (e) => ({code: e.code, message: e.message}));
	})()`, &refused)
	if refused.Code != 400 || !strings.Contains(refused.Message, "field payload") {
		t.Errorf("bare candidate: %d %q, want 400 naming the payload", refused.Code, refused.Message)
	}

	alice.event("MEDIA_WARNING", "d.kind === 'noMedia' && !d.remote && /^ICE (new|checking|failed): no network path/.test(d.error)")
	alice.waitFor(`/没有收到对方的音视频：ICE/.test(document.getElementById('call-warnings').textContent)`)
	w := bob.waitFor(call.EvMediaWarning, func(ev call.Event) bool {
		m := ev.Data.(call.MediaWarning)
		return m.Kind == protocol.ProblemNoMedia && !m.Remote
	}).Data.(call.MediaWarning)
	if !strings.Contains(w.Error, "no ICE candidates from the peer") {
		t.Errorf("engine's cause %q", w.Error)
	}
	alice.event("MEDIA_WARNING", "d.kind === 'noMedia' && d.remote && d.error.includes('no ICE candidates')")
	alice.click("btn-hangup")
	bob.waitFor(protocol.EvCallEnd, nil)
}

// browserCallsBob opens alice's client (with query), has her call bob's
// engine (audio) from her contacts, and bob accept.
func browserCallsBob(t *testing.T, srv *server.Server, toks map[string]string, media *call.MediaConfig, query string) (*engine, *page) {
	t.Helper()
	bob := newEngine(t, srv, "bob", toks["bob"], media)
	alice := open(t, srv, "alice", toks["alice"], query)
	alice.check(alice.ClickContact(ctxT(t), "bob", false))
	inv := bob.waitFor(protocol.EvInvited, nil).Data.(protocol.Invite)
	if err := bob.Accept(ctxT(t), &inv); err != nil {
		t.Fatal(err)
	}
	return bob, alice
}

// TestBrowserMicrophoneFails: the page offers audio as sending before its
// microphone opens; when getUserMedia then fails, it says so (MEDIA_WARNING)
// and offers again receive-only, so the call still carries the engine's
// audio and the engine's no-media check names the real cause (the peer
// sends nothing) rather than lost RTP.
func TestBrowserMicrophoneFails(t *testing.T) {
	srv, toks := pair(t, nil)
	bob := newEngine(t, srv, "bob", toks["bob"], engineMedia())
	alice := open(t, srv, "alice", toks["alice"], "")
	alice.eval(`(() => {
		navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no microphone here', 'NotFoundError'));
	})()`, nil)
	alice.check(alice.ClickContact(ctxT(t), "bob", false))
	inv := bob.waitFor(protocol.EvInvited, nil).Data.(protocol.Invite)
	if err := bob.Accept(ctxT(t), &inv); err != nil {
		t.Fatal(err)
	}
	alice.event("MEDIA_WARNING", "d.kind === 'audio' && d.error.includes('NotFoundError')")
	alice.stats("d.audioPacketsReceived > 10")
	var dir string
	alice.eval(`softphoneApp.kit.session.pc.getTransceivers()[0].currentDirection`, &dir)
	if dir != "recvonly" {
		t.Errorf("the page's audio transceiver is %q after the failure, want recvonly", dir)
	}
	w := bob.waitFor(call.EvMediaWarning, func(ev call.Event) bool {
		m := ev.Data.(call.MediaWarning)
		return m.Kind == protocol.ProblemNoMedia && !m.Remote
	}).Data.(call.MediaWarning)
	if !strings.Contains(w.Error, "the peer sends no media") {
		t.Errorf("engine's cause %q, want that the peer sends no media", w.Error)
	}
	alice.click("btn-hangup")
	bob.waitFor(protocol.EvCallEnd, nil)
}
