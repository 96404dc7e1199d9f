package audiosrc

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadWAVFormats decodes a 440 Hz tone in every supported encoding,
// rate and channel layout and compares the 48 kHz mono result with the
// ideal tone.
func TestLoadWAVFormats(t *testing.T) {
	encodings := []struct {
		name       string
		float      bool
		bits       int
		extensible bool
		minCorr    float64
	}{
		{"pcm8", false, 8, false, 0.995},
		{"pcm16", false, 16, false, 0.9999},
		{"pcm24", false, 24, false, 0.9999},
		{"pcm32", false, 32, false, 0.9999},
		{"float32", true, 32, false, 0.9999},
		{"float64", true, 64, false, 0.9999},
		{"ext-pcm16", false, 16, true, 0.9999},
		{"ext-float32", true, 32, true, 0.9999},
	}
	for _, enc := range encodings {
		for _, rate := range []int{8000, 16000, 22050, 44100, 48000, 96000} {
			for _, ch := range []int{1, 2, 6} {
				t.Run(fmt.Sprintf("%s/%d/%dch", enc.name, rate, ch), func(t *testing.T) {
					const secs = 0.2
					n := int(secs * float64(rate))
					mono := sine(440, 0.5, rate, n)
					inter := make([]float64, 0, n*ch)
					for _, v := range mono {
						for range ch {
							inter = append(inter, v)
						}
					}
					f := WAVFormat{Float: enc.float, Channels: ch, SampleRate: rate, BitsPerSample: enc.bits}
					pcm, got, err := LoadWAV(bytes.NewReader(encodeWAV(f, enc.extensible, inter)))
					if err != nil {
						t.Fatal(err)
					}
					if got != f {
						t.Errorf("format %+v, want %+v", got, f)
					}
					wantLen := int(secs * SampleRate)
					if d := len(pcm) - wantLen; d < -1 || d > 1 {
						t.Errorf("%d samples at 48 kHz, want %d", len(pcm), wantLen)
					}
					ideal := sine(440, 0.5*32767, SampleRate, len(pcm))
					if c := correlation(ideal, pcm, 200); c < enc.minCorr {
						t.Errorf("correlation with the ideal tone %.5f < %.4f", c, enc.minCorr)
					}
					want := 0.5 * 32767 / math.Sqrt2
					if r := rms16(pcm[200 : len(pcm)-200]); math.Abs(r-want)/want > 0.02 {
						t.Errorf("RMS %.1f, want %.1f ±2%%", r, want)
					}
				})
			}
		}
	}
}

func TestResampleAntiAliasing(t *testing.T) {
	// 30 kHz cannot exist at 48 kHz: it must be filtered, not folded to 18 kHz.
	in := make([]float32, 96000)
	for i, v := range sine(30000, 0.5, 96000, len(in)) {
		in[i] = float32(v)
	}
	out := Resample(in, 96000, 48000)
	if r := rms32(out[100 : len(out)-100]); r > 0.5/math.Sqrt2*0.01 {
		t.Errorf("30 kHz tone leaked through 96→48 kHz with RMS %.5f (>1%%)", r)
	}
	// A 1 kHz tone passes unchanged in level.
	for i, v := range sine(1000, 0.5, 96000, len(in)) {
		in[i] = float32(v)
	}
	out = Resample(in, 96000, 48000)
	want := 0.5 / math.Sqrt2
	if r := rms32(out[100 : len(out)-100]); math.Abs(r-want)/want > 0.01 {
		t.Errorf("1 kHz RMS %.4f after resampling, want %.4f", r, want)
	}
}

// TestResamplerStreaming checks that feeding in small pieces gives the same
// result as one call.
func TestResamplerStreaming(t *testing.T) {
	in := make([]float32, 44100)
	for i, v := range sine(997, 0.7, 44100, len(in)) {
		in[i] = float32(v)
	}
	whole := Resample(in, 44100, 48000)
	r := NewResampler(44100, 48000)
	var parts []float32
	for i := 0; i < len(in); i += 441 {
		parts = r.Process(parts, in[i:min(i+441, len(in))])
	}
	parts = r.Flush(parts)
	if len(parts) != len(whole) {
		t.Fatalf("streamed %d samples, whole %d", len(parts), len(whole))
	}
	for i := range whole {
		if math.Abs(float64(parts[i]-whole[i])) > 1e-6 {
			t.Fatalf("sample %d: streamed %v, whole %v", i, parts[i], whole[i])
		}
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	good := encodeWAV(WAVFormat{Channels: 1, SampleRate: 8000, BitsPerSample: 16}, false, sine(100, 0.5, 8000, 100))
	badBits := bytes.Clone(good)
	badBits[34] = 12 // 12-bit PCM
	zeroCh := bytes.Clone(good)
	zeroCh[22] = 0
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNotWAV},
		{"not riff", []byte("RIFX\x00\x00\x00\x00WAVEfmt "), ErrNotWAV},
		{"no chunks", []byte("RIFF\x04\x00\x00\x00WAVE"), nil},
		{"12-bit", badBits, ErrUnsupportedWAV},
		{"0 channels", zeroCh, ErrUnsupportedWAV},
		{"data before fmt", []byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x01\x02"), nil},
		{"truncated fmt", good[:30], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeWAV(bytes.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeWAVTruncatedData(t *testing.T) {
	f := WAVFormat{Channels: 2, SampleRate: 8000, BitsPerSample: 24}
	b := encodeWAV(f, false, sine(100, 0.5, 8000, 200))
	b = b[:len(b)-4] // 1 full frame + 1 partial sample lost
	_, s, err := DecodeWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 198 {
		t.Errorf("%d samples from a data chunk truncated mid-frame, want 198", len(s))
	}
}

func TestWAVWriterRoundTrip(t *testing.T) {
	for _, ch := range []int{1, 2} {
		t.Run(fmt.Sprint(ch), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.wav")
			w, err := CreateWAV(path, 48000, ch)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int16, 0, 4800*ch)
			for i := range 4800 * ch {
				want = append(want, int16(i*7-16000))
			}
			for i := 0; i < len(want); i += 960 * ch {
				if err := w.Write(want[i:min(i+960*ch, len(want))]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Write([]int16{1, 2, 3}[:ch+1]); ch == 2 && err == nil {
				t.Error("odd sample count accepted for stereo")
			}
			if ch == 1 {
				want = append(want, 1, 2)
			}
			if got := w.Frames(); got != int64(len(want)/ch) {
				t.Errorf("Frames %d, want %d", got, len(want)/ch)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if err := w.Write(want[:ch]); !errors.Is(err, ErrWriterClosed) {
				t.Errorf("Write after Close: %v", err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := int(raw[4]) | int(raw[5])<<8 | int(raw[6])<<16; got != len(raw)-8 {
				t.Errorf("RIFF size %d, file %d", got, len(raw))
			}
			f, s, err := DecodeWAV(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if f != (WAVFormat{Channels: ch, SampleRate: 48000, BitsPerSample: 16}) {
				t.Errorf("format %+v", f)
			}
			got := ToInt16(s)
			if len(got) != len(want) {
				t.Fatalf("%d samples back, want %d", len(got), len(want))
			}
			for i := range want {
				// int16 → [-1,1] → int16 scales by 32767/32768: ±1 LSB.
				if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
					t.Fatalf("sample %d: %d, want %d", i, got[i], want[i])
				}
			}
		})
	}
}

func FuzzDecodeWAV(f *testing.F) {
	for _, fm := range []WAVFormat{
		{Channels: 1, SampleRate: 8000, BitsPerSample: 8},
		{Channels: 2, SampleRate: 44100, BitsPerSample: 16},
		{Channels: 3, SampleRate: 22050, BitsPerSample: 24},
		{Float: true, Channels: 1, SampleRate: 48000, BitsPerSample: 32},
	} {
		f.Add(encodeWAV(fm, false, sine(300, 0.9, fm.SampleRate, 64)))
		f.Add(encodeWAV(fm, true, sine(300, 0.9, fm.SampleRate, 64)))
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		format, s, err := DecodeWAV(bytes.NewReader(b))
		if err != nil {
			return
		}
		if format.Channels < 1 || len(s)%format.Channels != 0 {
			t.Fatalf("%d samples for %d channels", len(s), format.Channels)
		}
		for _, v := range s {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("sample %v out of range", v)
			}
		}
		// The full conversion must not crash either (bounded work: the
		// input is small).
		if len(s) < 1<<16 {
			_, _, _ = LoadWAV(bytes.NewReader(b))
		}
	})
}

func BenchmarkResample44100to48000(b *testing.B) {
	in := make([]float32, 44100)
	for i, v := range sine(440, 0.5, 44100, len(in)) {
		in[i] = float32(v)
	}
	b.SetBytes(int64(len(in) * 4))
	for b.Loop() {
		Resample(in, 44100, 48000)
	}
}
