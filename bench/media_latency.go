package bench

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/media/videosrc"
)

// videoCallConfig is the media of the in-process latency calls: tone in,
// no playback device, the test pattern at w×h@fps, CLI-default bitrates.
func videoCallConfig(videoIn string, w, h int, fps float64) *call.MediaConfig {
	return &call.MediaConfig{
		AudioIn: call.SourceTone, AudioOut: call.SourceNone, VideoIn: videoIn,
		VideoWidth: w, VideoHeight: h, FPS: fps,
		MinBitrate: benchMinKbps, MaxBitrate: benchMaxKbps,
		StatsInterval: -1,
	}
}

// AudioPlayingEvent is the event the engine emits (once per call,
// Event.Time = that pull) when the speaker first pulls decoded audio rather
// than the playout buffer's pre-roll silence.
const AudioPlayingEvent = call.EvAudioPlaying

// firstFrame returns a channel that receives the time of e's first decoded
// remote frame (a fresh engine has none yet).
func firstFrame(ctx context.Context, e *engine) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		select {
		case <-e.RemoteVideoNotify():
			ch <- time.Now()
		case <-ctx.Done():
		}
	}()
	return ch
}

// setup measures accept → first audio packet / first video packet / first
// decoded video frame at both ends of N video calls, each with two fresh
// in-process engines.
func (r *mediaRun) setup(ctx context.Context) error {
	n := r.plan.SetupCalls
	fmt.Fprintf(r.out, "setup: %d video calls (640×360@30 + Opus), fresh in-process engines each, times from the callee's Accept\n", n)
	var calleeA, calleeV, calleeF, callerA, callerV, callerF, acceptSeen, calleeP, callerP []float64
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		accts, err := r.users(ctx, "s", 2)
		if err != nil {
			return err
		}
		caller, err := r.newEngine(ctx, accts[0], videoCallConfig(call.SourceTestsrc, 640, 360, 30))
		if err != nil {
			return err
		}
		callee, err := r.newEngine(ctx, accts[1], videoCallConfig(call.SourceTestsrc, 640, 360, 30))
		if err != nil {
			_ = caller.Close()
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var fCallee, fCaller <-chan time.Time
		acc, err := dialPair(wctx, caller, callee, protocol.CallVideo, func() {
			fCallee, fCaller = firstFrame(wctx, callee), firstFrame(wctx, caller)
		})
		if err == nil {
			err = func() error {
				since := func(t time.Time) float64 { return msOf(t.Sub(acc)) }
				for _, w := range []struct {
					e    *engine
					ev   string
					dest *[]float64
				}{
					{callee, call.EvAudioAvailable, &calleeA}, {callee, call.EvVideoAvailable, &calleeV},
					{caller, call.EvAudioAvailable, &callerA}, {caller, call.EvVideoAvailable, &callerV},
				} {
					t, err := w.e.wait(wctx, w.ev, 5*time.Second)
					if err != nil {
						return err
					}
					*w.dest = append(*w.dest, since(t))
				}
				t, err := caller.wait(wctx, protocol.EvUserAccept, 5*time.Second)
				if err != nil {
					return err
				}
				acceptSeen = append(acceptSeen, since(t))
				// Played audio, if this engine reports it (see AudioPlayingEvent).
				for _, w := range []struct {
					e    *engine
					dest *[]float64
				}{{callee, &calleeP}, {caller, &callerP}} {
					if t, err := w.e.wait(wctx, AudioPlayingEvent, 300*time.Millisecond); err == nil {
						*w.dest = append(*w.dest, since(t))
					}
				}
				for _, w := range []struct {
					ch   <-chan time.Time
					who  string
					dest *[]float64
				}{{fCallee, "callee", &calleeF}, {fCaller, "caller", &callerF}} {
					select {
					case t := <-w.ch:
						*w.dest = append(*w.dest, since(t))
					case <-wctx.Done():
						return fmt.Errorf("%s: no decoded video frame", w.who)
					}
				}
				return nil
			}()
		}
		cancel()
		hangup(ctx, caller, callee)
		if err != nil {
			return fmt.Errorf("call %d: %w", i+1, err)
		}
		fmt.Fprintf(r.out, "  call %2d: caller USER_ACCEPT %5.1f | callee audio pkt %5.1f video pkt %5.1f frame %5.1f | caller audio pkt %5.1f video pkt %5.1f frame %5.1f ms\n",
			i+1, acceptSeen[i], calleeA[i], calleeV[i], calleeF[i], callerA[i], callerV[i], callerF[i])
	}
	r.add("accept → USER_ACCEPT at the caller (signaling)", p50(acceptSeen), "")
	if len(calleeP) > 0 || len(callerP) > 0 {
		r.add("accept → first audio played, callee ("+AudioPlayingEvent+")", p50(calleeP), "target ≤ 30 ms")
		r.add("accept → first audio played, caller ("+AudioPlayingEvent+")", p50(callerP), "")
	} else {
		r.note("accept → first audio *played*: this engine emits no %s event, so only the first audio packet (AUDIO_AVAILABLE, emitted on pion's OnTrack when the first Opus RTP packet arrives, before the playout buffer's initial delay) is measured", AudioPlayingEvent)
	}
	r.add("accept → first audio packet, callee (AUDIO_AVAILABLE)", p50(calleeA), "Chromium 28.6 ms (first audio packet); target ≤ 30 ms")
	r.add("accept → first audio packet, caller (AUDIO_AVAILABLE)", p50(callerA), "")
	r.add("accept → first video packet, callee (VIDEO_AVAILABLE)", p50(calleeV), "")
	r.add("accept → first video frame decoded, callee", p50(calleeF), "Chromium 56 ms; target ≤ 60 ms")
	r.add("accept → first video frame decoded, caller", p50(callerF), "")
	return nil
}

// Glass-to-glass: the caller's picture comes from a mediadevices camera
// driver registered here, wrapping the test pattern with an OnCapture hook
// (the engine's own "testsrc" has no hook), so each frame's capture time is
// known; the callee reads the counter back from each decoded frame.

// benchCameraLabel is the label of the hooked pattern camera; VideoIn
// matches it (call.openV4L2 matches by label).
const benchCameraLabel = "softphone-bench-pattern"

// captureLog maps frame counters to capture times.
type captureLog struct {
	mu sync.Mutex
	at []time.Time
}

func (c *captureLog) put(n uint32, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(n) >= len(c.at) {
		c.at = slices.Grow(c.at, int(n)+1-len(c.at))[:n+1]
	}
	c.at[n] = t
}

func (c *captureLog) get(n uint32) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(n) >= len(c.at) || c.at[n].IsZero() {
		return time.Time{}, false
	}
	return c.at[n], true
}

// patternCamera is a driver.Adapter + driver.VideoRecorder serving one
// size; each recording is a fresh pattern reporting to log.
type patternCamera struct {
	mu   sync.Mutex
	w, h int
	fps  float64
	log  *captureLog
	pat  *videosrc.Pattern
}

var (
	_ driver.Adapter       = (*patternCamera)(nil)
	_ driver.VideoRecorder = (*patternCamera)(nil)

	benchCamOnce sync.Once
	benchCam     = &patternCamera{w: 640, h: 360, fps: 30}
)

func (c *patternCamera) Open() error { return nil }

func (c *patternCamera) Close() error {
	c.mu.Lock()
	p := c.pat
	c.pat = nil
	c.mu.Unlock()
	if p != nil {
		return p.Close()
	}
	return nil
}

func (c *patternCamera) Properties() []prop.Media {
	c.mu.Lock()
	defer c.mu.Unlock()
	return []prop.Media{{Video: prop.Video{Width: c.w, Height: c.h, FrameRate: float32(c.fps), FrameFormat: frame.FormatI420}}}
}

func (c *patternCamera) VideoRecord(p prop.Media) (video.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	log := c.log
	pat, err := videosrc.NewPattern(videosrc.PatternOptions{
		Width: c.w, Height: c.h, FPS: c.fps, ID: benchCameraLabel,
		OnCapture: func(n uint32, t time.Time) {
			if log != nil {
				log.put(n, t)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if c.pat != nil {
		_ = c.pat.Close()
	}
	c.pat = pat
	return pat, nil
}

// useBenchCamera registers the hooked camera (once per process) and points
// it at log with the given format.
func useBenchCamera(w, h int, fps float64, log *captureLog) error {
	var err error
	benchCamOnce.Do(func() {
		err = driver.GetManager().Register(benchCam, driver.Info{Label: benchCameraLabel, DeviceType: driver.Camera, Name: benchCameraLabel})
	})
	benchCam.mu.Lock()
	benchCam.w, benchCam.h, benchCam.fps, benchCam.log = w, h, fps, log
	benchCam.mu.Unlock()
	return err
}

// glassToGlass runs one 640×360@30 video call and matches the caller's
// capture times with the times the callee decoded those frames.
func (r *mediaRun) glassToGlass(ctx context.Context) error {
	const w, h, fps = 640, 360, 30
	dur := r.plan.G2GDuration
	fmt.Fprintf(r.out, "g2g: one %s video call at %d×%d@%d, in-process (one clock); the first second is skipped\n", dur, w, h, fps)
	log := &captureLog{}
	if err := useBenchCamera(w, h, fps, log); err != nil {
		return fmt.Errorf("register bench camera: %w", err)
	}
	accts, err := r.users(ctx, "g", 2)
	if err != nil {
		return err
	}
	caller, err := r.newEngine(ctx, accts[0], videoCallConfig(benchCameraLabel, w, h, fps))
	if err != nil {
		return err
	}
	callee, err := r.newEngine(ctx, accts[1], videoCallConfig(call.SourceTestsrc, w, h, fps))
	if err != nil {
		_ = caller.Close()
		return err
	}
	defer hangup(ctx, caller, callee)
	if _, err := dialPair(ctx, caller, callee, protocol.CallVideo, nil); err != nil {
		return err
	}
	type sample struct {
		at  time.Time
		lat time.Duration
	}
	var (
		samples    []sample
		unreadable int
		unknown    int
		last       uint64
		lastCount  uint32
		dupes      int
		start      = time.Now()
		deadline   = time.After(dur)
	)
	for loop := true; loop; {
		select {
		case <-deadline:
			loop = false
			continue
		case <-ctx.Done():
			return ctx.Err()
		case <-callee.RemoteVideoNotify():
		}
		now := time.Now()
		img, seq := callee.RemoteVideoFrame()
		if img == nil || seq == last {
			continue
		}
		last = seq
		c, ok := videosrc.ReadCounter(image.Image(img))
		if !ok {
			unreadable++
			continue
		}
		if c == lastCount && len(samples) > 0 {
			dupes++
			continue
		}
		lastCount = c
		t, ok := log.get(c)
		if !ok {
			unknown++
			continue
		}
		samples = append(samples, sample{now, now.Sub(t)})
	}
	var lat []float64
	for _, s := range samples {
		if s.at.Sub(start) >= time.Second {
			lat = append(lat, msOf(s.lat))
		}
	}
	if len(lat) == 0 {
		return errors.New("no decoded frame with a readable counter")
	}
	slices.Sort(lat)
	sent := 0
	log.mu.Lock()
	sent = len(log.at)
	log.mu.Unlock()
	fmt.Fprintf(r.out, "  %d frames captured, %d decoded frames matched after the first second, %d repeated, %d unreadable, %d without a capture time\n",
		sent, len(lat), dupes, unreadable, unknown)
	r.add("glass-to-glass 640×360@30 (capture → decoded)", fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (min %.1f, n=%d)",
		quantile(lat, 0.5), quantile(lat, 0.99), lat[0], len(lat)), "target ≤ 50 ms")
	r.note("glass-to-glass: the caller's pattern runs behind mediadevices' camera path (GetUserMedia broadcaster), not the engine's direct testsrc path; it needs no change in call/")
	return nil
}
