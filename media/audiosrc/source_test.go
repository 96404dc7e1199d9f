package audiosrc

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/webrtc/v4"
)

// readPCM reads n chunks and returns their concatenated samples.
func readPCM(t *testing.T, s *Source, n int) []int16 {
	t.Helper()
	var out []int16
	for i := range n {
		a, release, err := s.Read()
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		c, ok := a.(*wave.Int16Interleaved)
		if !ok {
			t.Fatalf("chunk type %T", a)
		}
		if info := c.ChunkInfo(); info.Channels != 1 || info.SamplingRate != SampleRate || info.Len != len(c.Data) {
			t.Fatalf("chunk info %+v for %d samples", info, len(c.Data))
		}
		out = append(out, c.Data...)
		release()
	}
	return out
}

func TestTone(t *testing.T) {
	tests := []struct{ freq, amp float64 }{{440, 0.5}, {1000, 0.25}, {3150, 1}}
	for _, tt := range tests {
		s, err := NewTone(tt.freq, tt.amp, Options{Unpaced: true})
		if err != nil {
			t.Fatal(err)
		}
		pcm := readPCM(t, s, 50) // 1 s
		if len(pcm) != SampleRate {
			t.Fatalf("%d samples in 50 chunks", len(pcm))
		}
		ideal := sine(tt.freq, tt.amp*32767, SampleRate, len(pcm))
		if c := correlation(ideal, pcm, 0); c < 0.99999 {
			t.Errorf("%v Hz: correlation %.6f", tt.freq, c)
		}
		want := tt.amp * 32767 / math.Sqrt2
		if r := rms16(pcm); math.Abs(r-want) > want*0.001+1 {
			t.Errorf("%v Hz: RMS %.1f, want %.1f", tt.freq, r, want)
		}
	}
	for _, bad := range [][2]float64{{0, 0.5}, {24000, 0.5}, {440, -0.1}, {440, 1.5}, {math.NaN(), 0.5}} {
		if _, err := NewTone(bad[0], bad[1], Options{}); err == nil {
			t.Errorf("NewTone(%v, %v) accepted", bad[0], bad[1])
		}
	}
}

func TestSilenceAndChunkSize(t *testing.T) {
	s := NewSilence(Options{Unpaced: true, Chunk: 10 * time.Millisecond})
	pcm := readPCM(t, s, 3)
	if len(pcm) != 3*480 {
		t.Fatalf("%d samples in 3 chunks of 10 ms", len(pcm))
	}
	for _, v := range pcm {
		if v != 0 {
			t.Fatal("silence is not silent")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: %v, want io.EOF", err)
	}
}

func TestPCMEndAndLoop(t *testing.T) {
	pcm := make([]int16, 1500) // 1.56 chunks
	for i := range pcm {
		pcm[i] = int16(i + 1)
	}
	s := NewPCM(pcm, Options{Unpaced: true})
	got := readPCM(t, s, 2)
	if got[0] != 1 || got[1499] != 1500 || got[1500] != 0 || got[1919] != 0 {
		t.Errorf("last chunk not zero-padded: %v %v %v %v", got[0], got[1499], got[1500], got[1919])
	}
	if _, _, err := s.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("Read past the end: %v, want io.EOF", err)
	}
	loop := NewPCM(pcm, Options{Unpaced: true, Loop: true})
	got = readPCM(t, loop, 4)
	for i, v := range got {
		if want := int16(i%1500 + 1); v != want {
			t.Fatalf("looped sample %d: %d, want %d", i, v, want)
		}
	}
}

// fakeClock advances only when the pacer sleeps or the test says so.
type fakeClock struct {
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(d time.Duration, _ <-chan struct{}) bool {
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return true
}

// TestPacingNoBurstAfterStall: chunks are released 20 ms apart; after a
// stall the missed slots are dropped instead of being released back to back.
func TestPacingNoBurstAfterStall(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	s := NewSilence(Options{})
	s.clk = clk
	readPCM(t, s, 5)
	// First chunk immediately, then one 20 ms sleep per chunk.
	if len(clk.sleeps) != 4 {
		t.Fatalf("sleeps %v, want four of 20 ms", clk.sleeps)
	}
	for _, d := range clk.sleeps {
		if d != 20*time.Millisecond {
			t.Fatalf("sleeps %v, want 20 ms each", clk.sleeps)
		}
	}
	clk.sleeps = nil
	clk.t = clk.t.Add(500 * time.Millisecond) // the consumer stalled
	readPCM(t, s, 4)
	// One chunk at once (the one due), then real-time pacing again: no
	// burst of the 25 missed chunks.
	if len(clk.sleeps) != 3 {
		t.Fatalf("after a stall: sleeps %v, want three of 20 ms", clk.sleeps)
	}
	for _, d := range clk.sleeps {
		if d != 20*time.Millisecond {
			t.Fatalf("after a stall: sleeps %v, want 20 ms each", clk.sleeps)
		}
	}
	if s.Skipped() < 20 {
		t.Errorf("Skipped %d after a 500 ms stall", s.Skipped())
	}
}

// TestCloseWakesPacedRead: a Read waiting for its slot returns on Close.
func TestCloseWakesPacedRead(t *testing.T) {
	s := NewSilence(Options{})
	readPCM(t, s, 1)
	s.next = time.Now().Add(time.Hour) // the next slot is an hour away
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Read()
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	_ = s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Read after Close: %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake the paced Read")
	}
}

// TestToneAsOpusTrack runs a paced tone through mediadevices' Opus encoder.
func TestToneAsOpusTrack(t *testing.T) {
	src, err := NewTone(440, 0.3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := opus.NewParams()
	if err != nil {
		t.Fatal(err)
	}
	track := mediadevices.NewAudioTrack(src, mediadevices.NewCodecSelector(mediadevices.WithAudioEncoders(&op)))
	defer track.Close()
	r, err := track.NewEncodedReader(webrtc.MimeTypeOpus)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 10 {
		buf, release, err := r.Read()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if len(buf.Data) == 0 || buf.Samples != 960 {
			t.Fatalf("packet %d: %d bytes, %d samples", i, len(buf.Data), buf.Samples)
		}
		release()
	}
}

func TestWAVSourceFromFile(t *testing.T) {
	path := t.TempDir() + "/in.wav"
	w, err := CreateWAV(path, 16000, 2)
	if err != nil {
		t.Fatal(err)
	}
	st := make([]int16, 0, 2*16000)
	for _, v := range sine(500, 0.4*32767, 16000, 16000) {
		st = append(st, int16(v), int16(v))
	}
	if err := w.Write(st); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, f, err := NewWAVFile(path, Options{Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRate != 16000 || f.Channels != 2 {
		t.Errorf("format %+v", f)
	}
	pcm := readPCM(t, s, 50)
	if c := correlation(sine(500, 1, SampleRate, len(pcm)), pcm, 100); c < 0.999 {
		t.Errorf("correlation %.5f", c)
	}
	if _, _, err := s.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("after 1 s of a 1 s file: %v, want io.EOF", err)
	}
	if _, _, err := NewWAVFile(t.TempDir()+"/missing.wav", Options{}); err == nil {
		t.Error("missing file accepted")
	}
}
