package rtc

import (
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/opus"
)

func TestREDDistance(t *testing.T) {
	tests := []struct {
		name        string
		loss, burst float64
		want        int
	}{
		{"clean", 0, 0, 1},
		{"0.3 % loss", 0.003, 1, 1},
		{"5 % random", 0.05, 1.05, 1},
		{"10 % random", 0.10, 1.11, 2},
		{"unknown runs (receiver report only)", 0.10, 0, 1},
		{"Gilbert 1 %/30 %: 3.2 % in runs of 3.3", 0.032, 3.3, maxRED},
		{"runs of 2 at 2 %", 0.02, 2, 2},
		{"hopeless", 0.5, 10, maxRED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redDistance(tt.loss, tt.burst); got != tt.want {
				t.Fatalf("distance %d, want %d", got, tt.want)
			}
		})
	}
}

// The distance rises at once with the reports and comes down a step per
// redHold once they are clean; FEC is on without RED only.
func TestREDControl(t *testing.T) {
	enc := &opus.EncoderBuilder{}
	c := newRedControl(enc, 32000)
	c.bound(true)
	t0 := time.Unix(0, 0)
	c.report(t0, 0.032, 3.3)
	if d := c.distance.Load(); d != maxRED {
		t.Fatalf("distance %d after bursty reports, want %d", d, maxRED)
	}
	c.report(t0.Add(time.Second), 0, 0)
	if d := c.distance.Load(); d != maxRED {
		t.Fatalf("distance %d right after a clean report, want it held", d)
	}
	for i := 1; i <= 10; i++ {
		c.report(t0.Add(time.Duration(i)*(redHold+time.Second)), 0, 0)
	}
	if d := c.distance.Load(); d != minRED {
		t.Fatalf("distance %d after a long clean spell, want %d", d, minRED)
	}
}

// Lean audio is for video calls on a narrow path only, with hysteresis.
func TestLeanAudio(t *testing.T) {
	tests := []struct {
		name   string
		video  bool
		target int
		lean   bool
		want   bool
	}{
		{"audio-only call keeps RED however narrow", false, 60_000, false, false},
		{"audio-only call leaves lean", false, 60_000, true, false},
		{"video at the configured floor", true, 632_000, false, false},
		{"video behind 300 kbit/s", true, 270_000, false, true},
		{"video behind 150 kbit/s", true, 127_000, false, true},
		{"a 300 kbit/s estimate's overshoot stays lean", true, 323_000, true, true},
		{"lean holds inside the band", true, 440_000, true, true},
		{"no lean above the threshold", true, 360_000, false, false},
		{"lean ends above the band", true, 460_000, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := leanAudio(tt.video, tt.target, tt.lean); got != tt.want {
				t.Fatalf("lean %v, want %v", got, tt.want)
			}
		})
	}
}

// Going lean turns the RED copies off and Opus' in-band FEC on with its
// higher bitrate (the real encoder then puts LBRR in its packets), and
// video's reserve for the audio follows; back above the band RED returns
// with the distance the loss reports asked for.
func TestLeanSwitchesREDForFEC(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  []int16
		loss float64 // the receiver's report before the switches
	}{
		{"speech, 10 % loss reported", audiocmp.Speech(48000, 48000, 3), 0.10},
		// libopus codes what it takes for music in CELT, without LBRR,
		// unless the expected loss is high enough: lean audio must carry
		// FEC for any signal, from a clean report on.
		{"two tones, clean report", audiocmp.Signal(1, 0), 0},
	} {
		t.Run(tc.name, func(t *testing.T) { testLeanSwitch(t, tc.sig, tc.loss) })
	}
}

func testLeanSwitch(t *testing.T, sig []int16, loss float64) {
	// As the session builds it (session.go).
	enc := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{
		Bitrate: 32000, FEC: true, LossPerc: fecMinLoss, Complexity: -1, MaxBandwidth: opus.Wideband}}
	c := newRedControl(enc, 32000)
	c.bound(true)
	c.report(time.Unix(0, 0), loss, 1.1)
	d := 2
	if loss == 0 {
		d = minRED
	}
	steps := []struct {
		lean     bool
		distance int
		fec      bool
		reserve  int
	}{
		{false, d, false, (1+d)*32000 + audioHeaderBps},
		{true, 0, true, 40000 + audioHeaderBps},
		{false, d, false, (1+d)*32000 + audioHeaderBps},
	}
	for i, st := range steps {
		c.setLean(st.lean)
		if d := c.sendDistance(); d != st.distance {
			t.Fatalf("step %d: sending distance %d, want %d", i, d, st.distance)
		}
		if r := audioReserve(32000, c); r != st.reserve {
			t.Errorf("step %d: video leaves %d bps for audio, want %d", i, r, st.reserve)
		}
		pos := 0
		src := audio.ReaderFunc(func() (wave.Audio, func(), error) {
			chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: 960, Channels: 1, SamplingRate: 48000})
			copy(chunk.Data, sig[pos%len(sig):])
			pos += 960
			return chunk, func() {}, nil
		})
		rc, err := enc.BuildAudioEncoder(src, prop.Media{Audio: prop.Audio{SampleRate: 48000, ChannelCount: 1}})
		if err != nil {
			t.Fatal(err)
		}
		fec := 0
		for range 40 {
			pkt, _, err := rc.Read()
			if err != nil {
				t.Fatal(err)
			}
			if opus.PacketHasFEC(pkt) {
				fec++
			}
		}
		_ = rc.Close()
		if (fec > 0) != st.fec {
			t.Errorf("step %d (lean %v): %d of 40 packets carry FEC", i, st.lean, fec)
		}
	}
}
