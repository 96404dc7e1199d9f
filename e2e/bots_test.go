package e2e

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/bots"
)

func startBotServer(t *testing.T, cfg bots.Config) *server.Server {
	t.Helper()
	cfg.Enabled = true
	return startServer(t, func(c *server.Config) { c.Bots = cfg })
}

// TestBotEchoReturnsWhatWasSent: an audio call to the echo bot; the audio
// the caller records is its own, a second late. (Echoed video is checked in
// package call, TestLoopbackEchoesAudioAndVideo; an audio call keeps this
// one's CPU low so the correlation does not depend on a loaded machine.)
func TestBotEchoReturnsWhatWasSent(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startBotServer(t, bots.Config{Names: []string{bots.Echo}})
	toks := users(t, srv, "alice", "bob")
	dir := t.TempDir()
	sent := audiocmp.Signal(5, 0.9)
	writeWAV(t, filepath.Join(dir, "a.wav"), sent)
	rec := filepath.Join(dir, "rec")
	alice := newDevice(t, srv, "alice", toks["alice"], devOpts{media: mediaConfig(filepath.Join(dir, "a.wav"), rec)})
	ctx := ctxT(t)
	cr, err := alice.Call(ctx, bots.Echo, protocol.CallAudio, nil)
	if err != nil {
		t.Fatalf("call echo: %v", err)
	}
	alice.waitFor(protocol.EvUserAccept, waitTimeout)
	// One call per account: a second caller finds echo busy.
	bob := newDevice(t, srv, "bob", toks["bob"], devOpts{})
	bcr, err := bob.Call(ctx, bots.Echo, protocol.CallAudio, nil)
	if err != nil {
		t.Fatalf("bob calls echo: %v", err)
	}
	bob.waitFor(protocol.EvUserBusy, waitTimeout)
	expectRecord(t, bob.waitFor(protocol.EvMessageSent, waitTimeout), bcr.ChannelID, protocol.StatusBusy, "bob", bots.Echo, false, "")
	time.Sleep(4 * time.Second)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	expectRecord(t, alice.waitFor(protocol.EvMessageSent, waitTimeout), cr.ChannelID, protocol.StatusCompleted, "alice", bots.Echo, false, "")
	_ = alice.Close()
	c, n := audioMatch(t, loadWAV(t, filepath.Join(rec, record.RemoteFile)), sent)
	t.Logf("echo: median correlation %.3f over %d windows", c, n)
	if c < 0.9 {
		t.Errorf("echoed audio correlates %.3f with what was sent, want ≥ 0.9", c)
	}
}

// TestBotOutcomes: every seed status text is reachable by calling a bot.
func TestBotOutcomes(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startBotServer(t, bots.Config{HangupAfter: time.Second})
	toks := users(t, srv, "alice")
	alice := newDevice(t, srv, "alice", toks["alice"], devOpts{})
	ctx := ctxT(t)
	// busy is busy once it is in its call with busy-line.
	deadline := time.Now().Add(waitTimeout)
	for {
		cs, err := alice.AddContact(ctx, bots.Busy)
		if err != nil {
			t.Fatalf("add contact: %v", err)
		}
		if len(cs) == 1 && cs[0].Presence == protocol.PresenceInCall {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("busy bot not in a call: %+v", cs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tests := []struct {
		bot        string
		attachment string
		timeout    time.Duration
		ends       string // the caller's event that ends the call
		status     int
	}{
		{bots.Reject, "", 0, protocol.EvUserReject, protocol.StatusRejected},
		{bots.Busy, "", 0, protocol.EvUserBusy, protocol.StatusBusy},
		{bots.NoAnswer, "", 2 * time.Second, protocol.EvCallingTimeout, protocol.StatusTimeout},
		{bots.Hangup, "", 0, protocol.EvCallEnd, protocol.StatusCompleted},
		{bots.Outcomes, `{"outcome":"reject"}`, 0, protocol.EvUserReject, protocol.StatusRejected},
		{bots.Outcomes, `{"outcome":"noanswer"}`, 2 * time.Second, protocol.EvCallingTimeout, protocol.StatusTimeout},
		{bots.Outcomes, `{"outcome":"hangup","after":"500ms"}`, 0, protocol.EvCallEnd, protocol.StatusCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.bot+tt.attachment, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = protocol.DefaultCallTimeout
			}
			if err := alice.SetCallTimeout(timeout); err != nil {
				t.Fatal(err)
			}
			var att json.RawMessage
			if tt.attachment != "" {
				att = json.RawMessage(tt.attachment)
			}
			cr, err := alice.Call(ctx, tt.bot, protocol.CallAudio, att)
			if err != nil {
				t.Fatalf("call %s: %v", tt.bot, err)
			}
			alice.waitFor(tt.ends, waitTimeout)
			rm := expectRecord(t, alice.waitFor(protocol.EvMessageSent, waitTimeout), cr.ChannelID, tt.status, "alice", tt.bot, false, "")
			t.Logf("%s: %s", tt.bot, rm.Text)
			waitIdle(t, alice.Engine)
		})
	}
}

func waitIdle(t *testing.T, e *call.Engine) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for e.State() != protocol.StateIdle {
		if time.Now().After(deadline) {
			t.Fatalf("still %v", e.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBotEchoAgreesToVideo: an audio call to echo switched to video (which
// needs the callee's agreement) shows the caller its own picture.
func TestBotEchoAgreesToVideo(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startBotServer(t, bots.Config{Names: []string{bots.Echo}})
	toks := users(t, srv, "alice")
	alice := newDevice(t, srv, "alice", toks["alice"], devOpts{media: mediaConfig(call.SourceTone, "")})
	ctx := ctxT(t)
	if _, err := alice.Call(ctx, bots.Echo, protocol.CallAudio, nil); err != nil {
		t.Fatalf("call echo: %v", err)
	}
	alice.waitFor(protocol.EvUserAccept, waitTimeout)
	if err := alice.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatalf("invite to video: %v", err)
	}
	for {
		ch := alice.waitFor(protocol.EvCallTypeChange, waitTimeout).Data.(protocol.CallTypeChange)
		if ch.State == protocol.SwitchAgree {
			break
		}
	}
	counters, bad := watchVideo(alice, 4*time.Second)
	checkCounters(t, "alice sees herself after the switch", counters, bad, 5)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}
