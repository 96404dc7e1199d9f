package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/media/videosrc"
	"github.com/softphone/softphone/server"
)

func writeWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	if err := audiosrc.WriteWAVFile(path, audiosrc.SampleRate, pcm); err != nil {
		t.Fatal(err)
	}
}

func loadWAV(t *testing.T, path string) []int16 {
	t.Helper()
	pcm, _, err := audiosrc.LoadWAV(mustOpen(t, path))
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return pcm
}

// audioMatch cuts the audible part of got into windows (skipping the first,
// while the playout buffer settles) and aligns each with sent on its own: a
// playout buffer may legitimately drop or insert a frame between windows.
// It returns the median correlation and the number of windows.
func audioMatch(t *testing.T, got, sent []int16) (float64, int) {
	t.Helper()
	const win = audiosrc.SampleRate / 4
	const maxWindows = 16
	start := slices.IndexFunc(got, func(v int16) bool { return v > 300 || v < -300 })
	if start < 0 {
		t.Fatalf("received audio is silent (%d samples)", len(got))
	}
	var cs []float64
	var lags []int
	al := audiocmp.NewAligner(sent, win)
	for off := start + win; off+win <= len(got) && len(cs) < maxWindows; off += win {
		w := got[off : off+win]
		if audiocmp.RMS(w) < 300 {
			break // the call ended here
		}
		l, c := al.Align(w)
		cs = append(cs, c)
		lags = append(lags, off-l)
	}
	if len(cs) == 0 {
		t.Fatalf("no audible window in %d received samples", len(got))
	}
	t.Logf("per-window correlation: %.3f (delay in samples %v)", cs, lags)
	slices.Sort(cs)
	return cs[len(cs)/2], len(cs)
}

// waitFor reads events until one called name arrives, skipping any other.
func (d *device) waitFor(name string, within time.Duration) call.Event {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			d.t.Fatalf("%s: no %s within %v; saw %s", d.name, name, within, d.history())
		}
		ev, ok := d.read(left)
		if !ok {
			continue
		}
		d.next = len(d.seen)
		if ev.Name == name {
			return ev
		}
	}
}

// mediaCall is one two-party media call set up for a test.
type mediaCall struct {
	alice, bob       *device
	sentA, sentB     []int16
	recA, recB       string
	channel          string
	aliceCfg, bobCfg *call.MediaConfig
}

func mediaConfig(in, rec string) *call.MediaConfig {
	return &call.MediaConfig{
		AudioIn: in, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
		VideoWidth: 320, VideoHeight: 180, FPS: 15,
		MinBitrate: 150, MaxBitrate: 600,
		RecordDir: rec, Loop: true,
	}
}

// startMediaCall logs alice and bob in with media, alice calls bob (video),
// bob accepts.
func startMediaCall(t *testing.T, srv *server.Server, mod func(a, b *call.MediaConfig)) *mediaCall {
	t.Helper()
	toks := users(t, srv, "alice", "bob")
	dir := t.TempDir()
	mc := &mediaCall{sentA: audiocmp.Signal(4, 0), sentB: audiocmp.Signal(4, 1.7), recA: filepath.Join(dir, "recA"), recB: filepath.Join(dir, "recB")}
	writeWAV(t, filepath.Join(dir, "a.wav"), mc.sentA)
	writeWAV(t, filepath.Join(dir, "b.wav"), mc.sentB)
	mc.aliceCfg = mediaConfig(filepath.Join(dir, "a.wav"), mc.recA)
	mc.bobCfg = mediaConfig(filepath.Join(dir, "b.wav"), mc.recB)
	if mod != nil {
		mod(mc.aliceCfg, mc.bobCfg)
	}
	mc.alice = newDevice(t, srv, "alice", toks["alice"], devOpts{media: mc.aliceCfg})
	mc.bob = newDevice(t, srv, "bob", toks["bob"], devOpts{media: mc.bobCfg})
	ctx := ctxT(t)
	cr, err := mc.alice.Call(ctx, "bob", protocol.CallVideo, nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	mc.channel = cr.ChannelID
	inv := mc.bob.waitFor(protocol.EvInvited, waitTimeout).Data.(protocol.Invite)
	if err := mc.bob.Accept(ctx, &inv); err != nil {
		t.Fatalf("accept: %v", err)
	}
	mc.alice.waitFor(protocol.EvUserAccept, waitTimeout)
	return mc
}

// watchVideo polls d's remote picture for dur and returns the frame
// counters read back from distinct decoded frames.
func watchVideo(d *device, dur time.Duration) (counters []uint32, unreadable int) {
	deadline := time.After(dur)
	_, last := d.RemoteVideoFrame() // only frames decoded from now on
	for {
		select {
		case <-deadline:
			return counters, unreadable
		case <-d.RemoteVideoNotify():
		}
		img, seq := d.RemoteVideoFrame()
		if img == nil || seq == last {
			continue
		}
		last = seq
		if c, ok := videosrc.ReadCounter(img); ok {
			counters = append(counters, c)
		} else {
			unreadable++
		}
	}
}

// finish hangs up, closes both engines (which completes the recordings) and
// checks the audio in both directions.
func (mc *mediaCall) finish(t *testing.T, minCorr float64) {
	t.Helper()
	if err := mc.alice.Hangup(ctxT(t)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	_ = mc.alice.Close()
	_ = mc.bob.Close()
	for _, dir := range []struct {
		name string
		got  string
		sent []int16
	}{
		{"alice→bob", filepath.Join(mc.recB, record.RemoteFile), mc.sentA},
		{"bob→alice", filepath.Join(mc.recA, record.RemoteFile), mc.sentB},
	} {
		c, n := audioMatch(t, loadWAV(t, dir.got), dir.sent)
		t.Logf("%s: median correlation %.3f over %d windows", dir.name, c, n)
		if c < minCorr {
			t.Errorf("%s: received audio correlates %.3f with what was sent, want ≥ %.2f", dir.name, c, minCorr)
		}
	}
	for _, rec := range []string{mc.recA, mc.recB} {
		for _, f := range []string{record.LocalFile, record.MixFile, record.VideoFile} {
			if st, err := statFile(filepath.Join(rec, f)); err != nil || st == 0 {
				t.Errorf("recording %s/%s: size %d, err %v", rec, f, st, err)
			}
		}
	}
}

func checkCounters(t *testing.T, who string, counters []uint32, unreadable int, minFrames int) {
	t.Helper()
	t.Logf("%s: %d frames with a readable counter (%d unreadable), counters %v…", who, len(counters), unreadable, counters[:min(len(counters), 8)])
	if len(counters) < minFrames {
		t.Fatalf("%s: only %d decoded frames with a readable counter, want ≥ %d", who, len(counters), minFrames)
	}
	for i := 1; i < len(counters); i++ {
		if counters[i] <= counters[i-1] {
			t.Fatalf("%s: frame counter went %d → %d", who, counters[i-1], counters[i])
		}
	}
}

func TestMediaCallWAVToWAVAndVideo(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	mc := startMediaCall(t, srv, nil)
	counters, bad := watchVideo(mc.bob, 4*time.Second)
	checkCounters(t, "bob sees alice", counters, bad, 20)
	// The speaker (here the paced output of AudioOut "none") got real audio.
	if ev := mc.bob.waitFor(call.EvAudioPlaying, waitTimeout); ev.Data.(call.Availability).UserID != "alice" {
		t.Errorf("AUDIO_PLAYING for %+v, want alice", ev.Data)
	}
	st := mc.alice.waitFor(call.EvStats, waitTimeout)
	t.Logf("alice STATS %s", mustJSON(st))
	mc.finish(t, 0.9)
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func statFile(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func TestMediaSwitchVideoToAudioAndBack(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	mc := startMediaCall(t, srv, nil)
	ctx := ctxT(t)
	if c, _ := watchVideo(mc.bob, 2*time.Second); len(c) == 0 {
		t.Fatal("no video before the switch")
	}
	if err := mc.alice.SwitchCallType(ctx, protocol.CallAudio, ""); err != nil {
		t.Fatalf("switch to audio: %v", err)
	}
	mc.bob.waitFor(protocol.EvCallTypeChange, waitTimeout)
	time.Sleep(500 * time.Millisecond) // renegotiation
	if c, _ := watchVideo(mc.bob, time.Second); len(c) > 0 {
		t.Fatalf("video still arrives after switching to audio: %v", c)
	}
	// Audio → video needs the peer's agreement.
	if err := mc.alice.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatalf("invite to video: %v", err)
	}
	mc.bob.waitFor(protocol.EvCallTypeChange, waitTimeout)
	if err := mc.bob.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchAgree); err != nil {
		t.Fatalf("agree to video: %v", err)
	}
	counters, bad := watchVideo(mc.bob, 3*time.Second)
	checkCounters(t, "bob sees alice again", counters, bad, 5)
	counters, bad = watchVideo(mc.alice, 2*time.Second)
	checkCounters(t, "alice sees bob", counters, bad, 5)
	mc.finish(t, 0.9)
}
