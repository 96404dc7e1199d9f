package call_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/servertest"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/media/videosrc"
)

// TestLoopbackEchoesAudioAndVideo: one engine sends a WAV and the test
// pattern, the other answers with Loopback; what comes back matches what
// was sent (audio correlation ≥ 0.9, the pattern's frame counters rise) and
// arrives about the loopback delay late.
func TestLoopbackEchoesAudioAndVideo(t *testing.T) {
	const delay = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t0 := time.Now()
	srv := servertest.Start(t, nil)

	dir := t.TempDir()
	sent := audiocmp.Signal(6, 0.4)
	wav := filepath.Join(dir, "sent.wav")
	if err := audiosrc.WriteWAVFile(wav, audiosrc.SampleRate, sent); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "rec")

	login := func(account string, media *call.MediaConfig) *call.Engine {
		e, _ := testLogin(ctx, t, srv, account, call.Config{Media: media})
		return e
	}
	echo := login("echo", &call.MediaConfig{Loopback: delay, StatsInterval: -1})
	caller := login("caller", &call.MediaConfig{
		AudioIn: wav, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
		VideoWidth: 320, VideoHeight: 180, FPS: 15, MinBitrate: 150, MaxBitrate: 600,
		RecordDir: rec, StatsInterval: -1,
	})

	if _, err := caller.Call(ctx, "echo", protocol.CallVideo, nil); err != nil {
		t.Fatal(err)
	}
	inv := waitEvent(t, echo, protocol.EvInvited).Data.(protocol.Invite)
	if err := echo.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, caller, protocol.EvUserAccept)
	t.Logf("accepted after %v", time.Since(t0))

	// The echoed picture: the frame counters the pattern drew, read back.
	var counters []uint32
	_, last := caller.RemoteVideoFrame()
	deadline := time.After(4 * time.Second)
watch:
	for {
		select {
		case <-deadline:
			break watch
		case <-caller.RemoteVideoNotify():
		}
		img, seq := caller.RemoteVideoFrame()
		if img == nil || seq == last {
			continue
		}
		last = seq
		if c, ok := videosrc.ReadCounter(img); ok {
			counters = append(counters, c)
		}
	}
	if err := caller.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	_ = caller.Close() // completes the recording
	t.Logf("closed after %v", time.Since(t0))
	t.Logf("echoed video: %d frames with a readable counter", len(counters))
	if len(counters) < 10 || !slices.IsSorted(counters) {
		t.Errorf("echoed video: counters %v, want ≥ 10 rising", counters[:min(len(counters), 20)])
	}

	got := loadWAV(t, filepath.Join(rec, record.RemoteFile))
	local := loadWAV(t, filepath.Join(rec, record.LocalFile))
	corr, lag := echoMatch(t, got, local)
	t.Logf("echoed audio: correlation %.3f (upper quartile), round trip %v (loopback %v)", corr, lag, delay)
	if corr < 0.9 {
		t.Errorf("echoed audio correlates %.3f with what was sent, want ≥ 0.9", corr)
	}
	if lag < delay || lag > delay+600*time.Millisecond {
		t.Errorf("echo arrived %v after it was sent, want about %v", lag, delay)
	}
}

// echoMatch aligns 250 ms windows of the received audio with the local
// recording: what the microphone source sent (the WAV's samples), on the
// received recording's timeline, so one alignment gives both the
// correlation and the round trip (position in received − position in
// local). It returns the medians.
func echoMatch(t *testing.T, got, local []int16) (float64, time.Duration) {
	t.Helper()
	const win = audiosrc.SampleRate / 4
	start := slices.IndexFunc(got, func(v int16) bool { return v > 300 || v < -300 })
	if start < 0 {
		t.Fatalf("echoed audio is silent (%d samples)", len(got))
	}
	al := audiocmp.NewAligner(local, win)
	var cs []float64
	var lags []int
	// Sixteen windows, judged by the upper quartile: the playout buffer
	// settles its delay in the first seconds by time-scale modification,
	// which lowers the waveform correlation of the windows it touches
	// (more of them on a busy machine) without the echo being any worse.
	for off := start + win; off+win <= len(got) && len(cs) < 16; off += win {
		w := got[off : off+win]
		if audiocmp.RMS(w) < 300 {
			break
		}
		l, c := al.Align(w)
		cs = append(cs, c)
		lags = append(lags, off-l)
	}
	if len(cs) == 0 {
		t.Fatalf("no audible window in %d echoed samples", len(got))
	}
	t.Logf("per-window correlation %.3f, round trip in samples %v", cs, lags)
	slices.Sort(cs)
	slices.Sort(lags)
	return cs[len(cs)*3/4], time.Duration(lags[len(lags)/2]) * time.Second / audiosrc.SampleRate
}

func loadWAV(t *testing.T, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, _, err := audiosrc.LoadWAV(f)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return pcm
}
