package pa

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/webrtc/v4"
)

// jackDevice opens a System restricted to the JACK host API and returns it
// with the JACK device. Without a reachable JACK server the test is skipped,
// unless SOFTPHONE_TEST_JACK=1 (CI, after scripts/start-jack) makes it fail.
func jackDevice(t *testing.T) (*System, Device) {
	t.Helper()
	required := os.Getenv("SOFTPHONE_TEST_JACK") == "1"
	// SOFTPHONE_PA_VERBOSE=1 shows what ALSA/JACK print, for debugging.
	s, err := Open(Options{HostAPI: "jack", Verbose: os.Getenv("SOFTPHONE_PA_VERBOSE") == "1"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("System.Close: %v", err)
		}
	})
	for _, d := range s.Devices() {
		if d.IsInput() && d.IsOutput() {
			t.Logf("JACK device: %s", d)
			return s, d
		}
	}
	msg := "no JACK server reachable (start one with scripts/start-jack; SOFTPHONE_TEST_JACK=1 makes this a failure)"
	if required {
		t.Fatal("SOFTPHONE_TEST_JACK=1 but " + msg)
	}
	t.Skip(msg)
	return nil, Device{}
}

// expectFrames is the loose lower bound for frames a real-time stream moves
// in d: half of the nominal rate, so a loaded CI machine still passes.
func expectFrames(d time.Duration) uint64 {
	return uint64(d.Seconds() * SampleRate / 2)
}

func TestJACKCapture(t *testing.T) {
	s, dev := jackDevice(t)
	c, err := s.OpenCapture(dev, CaptureConfig{})
	if err != nil {
		t.Fatalf("OpenCapture: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]int16, FrameSamples)
	start := time.Now()
	var got uint64
	for time.Since(start) < time.Second {
		n, err := c.Read(ctx, buf)
		got += uint64(n)
		if err != nil {
			t.Fatalf("Read after %d samples: %v", got, err)
		}
	}
	elapsed := time.Since(start)
	st := c.Stats()
	t.Logf("read %d samples in %v; stats %+v", got, elapsed, st)
	if want := expectFrames(elapsed); st.Frames < want || got < want {
		t.Errorf("captured %d frames (read %d) in %v, want at least %d", st.Frames, got, elapsed, want)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Read(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
}

// TestJACKCaptureDropsBacklog stalls the reader and checks that the next
// read returns fresh audio instead of the whole backlog.
func TestJACKCaptureDropsBacklog(t *testing.T) {
	s, dev := jackDevice(t)
	c, err := s.OpenCapture(dev, CaptureConfig{MaxBacklog: 40 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenCapture: %v", err)
	}
	defer c.Close()
	time.Sleep(300 * time.Millisecond)
	buf := make([]int16, FrameSamples)
	if _, err := c.Read(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Dropped == 0 {
		t.Errorf("no samples dropped after a 300 ms stall with a 40 ms backlog limit: %+v", st)
	}
}

func TestJACKPlaybackWrite(t *testing.T) {
	s, dev := jackDevice(t)
	p, err := s.OpenPlayback(dev, PlaybackConfig{})
	if err != nil {
		t.Fatalf("OpenPlayback: %v", err)
	}
	tone := make([]int16, SampleRate/2)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/SampleRate))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	for range 3 { // 1.5 s through a 0.5 s ring: Write must pace itself
		if n, err := p.Write(ctx, tone); err != nil || n != len(tone) {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	elapsed := time.Since(start)
	st := p.Stats()
	t.Logf("wrote 1.5 s in %v, buffered %v; stats %+v", elapsed, p.Buffered(), st)
	if want := expectFrames(elapsed); st.Frames < want {
		t.Errorf("played %d frames in %v, want at least %d", st.Frames, elapsed, want)
	}
	if elapsed < 500*time.Millisecond {
		t.Errorf("1.5 s of audio accepted in %v: Write does not pace", elapsed)
	}
	if _, err := p.Write(ctx, tone[:10]); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Write(ctx, tone); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

func TestJACKPlaybackPull(t *testing.T) {
	s, dev := jackDevice(t)
	var pulled atomic.Uint64
	p, err := s.OpenPlayback(dev, PlaybackConfig{Channels: 1, Pull: func(out []int16) {
		for i := range out {
			out[i] = 1000
		}
		pulled.Add(uint64(len(out)))
	}})
	if err != nil {
		t.Fatalf("OpenPlayback: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := p.Write(context.Background(), []int16{1}); !errors.Is(err, ErrPullMode) {
		t.Errorf("Write in pull mode: %v, want ErrPullMode", err)
	}
	// System.Close must stop the open stream itself.
	if err := s.Close(); err != nil {
		t.Fatalf("System.Close with an open stream: %v", err)
	}
	n := pulled.Load()
	if want := expectFrames(500 * time.Millisecond); n < want {
		t.Errorf("Pull asked for %d samples in 0.5 s, want at least %d", n, want)
	}
	time.Sleep(50 * time.Millisecond)
	if pulled.Load() != n {
		t.Error("Pull still called after System.Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after System.Close: %v", err)
	}
}

// TestJACKGetUserMedia registers the driver, lets GetUserMedia select it,
// and encodes the captured audio with mediadevices' Opus encoder.
func TestJACKGetUserMedia(t *testing.T) {
	s, _ := jackDevice(t)
	unregister, err := s.RegisterMicrophones(MicrophoneOptions{})
	if err != nil {
		t.Fatalf("RegisterMicrophones: %v", err)
	}
	defer unregister()

	var labels []string
	for _, d := range mediadevices.EnumerateDevices() {
		labels = append(labels, d.Label)
	}
	if !strings.Contains(strings.Join(labels, ","), LabelPrefix) {
		t.Fatalf("no %s device among %v", LabelPrefix, labels)
	}

	op, err := opus.NewParams()
	if err != nil {
		t.Fatal(err)
	}
	sel := mediadevices.NewCodecSelector(mediadevices.WithAudioEncoders(&op))
	stream, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
		Audio: func(*mediadevices.MediaTrackConstraints) {},
		Codec: sel,
	})
	if err != nil {
		t.Fatalf("GetUserMedia: %v", err)
	}
	tracks := stream.GetAudioTracks()
	if len(tracks) != 1 {
		t.Fatalf("%d audio tracks", len(tracks))
	}
	track := tracks[0]
	defer track.Close()
	r, err := track.NewEncodedReader(webrtc.MimeTypeOpus)
	if err != nil {
		t.Fatalf("NewEncodedReader: %v", err)
	}
	defer r.Close()
	start := time.Now()
	packets := 0
	var samples uint32
	for time.Since(start) < time.Second {
		buf, release, err := r.Read()
		if err != nil {
			t.Fatalf("Read after %d packets: %v", packets, err)
		}
		if len(buf.Data) == 0 {
			t.Fatal("empty Opus packet")
		}
		samples += buf.Samples
		packets++
		release()
	}
	elapsed := time.Since(start)
	t.Logf("%d Opus packets (%d samples) in %v", packets, samples, elapsed)
	// 50 packets/s nominal; half of it is the loose bound.
	if want := int(elapsed.Seconds() * 25); packets < want {
		t.Errorf("%d Opus packets in %v, want at least %d", packets, elapsed, want)
	}
}
