package call_test

import (
	"context"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/servertest"
)

// TestLocalPreviewAndAudioLevels runs a real video call: alice sends a tone
// and the test pattern, bob sends silence and no video. The meters and the
// preview must reflect that, and go away with the call.
func TestLocalPreviewAndAudioLevels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := servertest.Start(t, nil)
	login := func(account string, media *call.MediaConfig) *call.Engine {
		e, _ := testLogin(ctx, t, srv, account, call.Config{Media: media})
		return e
	}
	media := func(in, video string) *call.MediaConfig {
		return &call.MediaConfig{AudioIn: in, AudioOut: call.SourceNone, VideoIn: video,
			VideoWidth: 320, VideoHeight: 180, FPS: 15, MinBitrate: 150, MaxBitrate: 600, StatsInterval: -1}
	}
	alice := login("alice", media(call.SourceTone, call.SourceTestsrc))
	bob := login("bob", media(call.SourceSilence, call.SourceNone))

	if _, _, ok := alice.AudioLevels(); ok {
		t.Fatal("AudioLevels ok before any call")
	}
	if img, seq := alice.LocalVideoFrame(); img != nil || seq != 0 {
		t.Fatalf("LocalVideoFrame before any call: %v, %d", img, seq)
	}

	if _, err := alice.Call(ctx, "bob", protocol.CallVideo, nil); err != nil {
		t.Fatal(err)
	}
	inv := waitEvent(t, bob, protocol.EvInvited).Data.(protocol.Invite)
	if err := bob.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, protocol.EvUserAccept)

	// The tone is 0.25 of full scale; Opus keeps its peak within a few %.
	poll(t, "alice's microphone level shows the tone", func() bool {
		mic, _, ok := alice.AudioLevels()
		return ok && mic > 0.2 && mic < 0.3
	})
	poll(t, "bob's speaker level shows alice's tone", func() bool {
		_, spk, ok := bob.AudioLevels()
		return ok && spk > 0.15
	})
	if mic, _, _ := bob.AudioLevels(); mic > 0.001 {
		t.Errorf("bob sends silence, his microphone level is %.4f", mic)
	}
	if _, spk, _ := alice.AudioLevels(); spk > 0.02 {
		t.Errorf("alice hears bob's silence, her speaker level is %.4f", spk)
	}

	var first uint64
	poll(t, "alice's local preview has frames", func() bool {
		img, seq := alice.LocalVideoFrame()
		if img == nil {
			return false
		}
		if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 180 {
			t.Fatalf("preview is %v, want the 320x180 capture", b)
		}
		first = seq
		return seq > 0
	})
	poll(t, "alice's preview sequence grows", func() bool {
		_, seq := alice.LocalVideoFrame()
		return seq > first+2
	})
	if img, seq := bob.LocalVideoFrame(); img != nil || seq != 0 {
		t.Errorf("bob sends no video but has a preview (seq %d)", seq)
	}

	alice.MuteMicrophone(true)
	poll(t, "alice's microphone level drops when muted", func() bool {
		mic, _, _ := alice.AudioLevels()
		return mic == 0
	})

	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := alice.AudioLevels(); ok {
		t.Error("AudioLevels ok after hangup")
	}
	if img, _ := alice.LocalVideoFrame(); img != nil {
		t.Error("LocalVideoFrame after hangup")
	}
}

// poll waits up to 10 s for cond; the deadline only turns a hang into a
// failure.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
