package quality_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/softphone/softphone/media/quality"
)

func TestListening(t *testing.T) {
	tests := []struct {
		name     string
		l        quality.Listening
		min, max float64 // MOS
	}{
		// Ro − Is − Ie = 93.2 − 3.7 = 89.5 → 4.32 (clean Opus WB scores 4.30–4.36 PESQ-WB)
		{"clean", quality.Listening{MouthToEarMs: 40}, 4.31, 4.33},
		// Delay up to 100 ms costs nothing; 300 ms a little.
		{"clean, 100 ms", quality.Listening{MouthToEarMs: 100}, 4.31, 4.33},
		{"clean, 300 ms", quality.Listening{MouthToEarMs: 300}, 3.8, 4.2},
		// 5.5 % random loss concealed: 2.3–3.0 PESQ-WB.
		{"5.5 % concealed", quality.Listening{ConcealedPct: 5.5, MouthToEarMs: 40}, 2.6, 3.0},
		// 1 % concealed: ≈ 3.6–4.1.
		{"1 % concealed", quality.Listening{ConcealedPct: 1, MouthToEarMs: 40}, 3.8, 4.1},
		{"stretching", quality.Listening{StretchPct: 2, MouthToEarMs: 40}, 3.9, 4.2},
		// The bridge's jittery path (40 ± 20 ms): 6–7 changes of delay in
		// 15 s of speech, half a percent stretched, scored 3.5–4.2 PESQ-WB.
		{"a jittery path's changes", quality.Listening{ConcealedPct: 0.2, StretchPct: 0.5, ShiftsPerMin: 26, MouthToEarMs: 120}, 3.6, 4.1},
		{"the same share in one change", quality.Listening{ConcealedPct: 0.2, StretchPct: 0.5, ShiftsPerMin: 4, MouthToEarMs: 120}, 4.1, 4.3},
		{"hopeless", quality.Listening{ConcealedPct: 60, MouthToEarMs: 900}, 1, 1.5},
		{"negative inputs count as none", quality.Listening{ConcealedPct: -3, StretchPct: math.NaN()}, 4.31, 4.33},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m := tt.l.MOS(); m < tt.min || m > tt.max || math.IsNaN(m) {
				t.Fatalf("MOS %.3f (R %.1f), want %.2f–%.2f", m, tt.l.R(), tt.min, tt.max)
			}
		})
	}
	// More concealment never scores better.
	prev := 5.0
	for c := 0.0; c <= 30; c += 0.5 {
		m := quality.Listening{ConcealedPct: c, MouthToEarMs: 50}.MOS()
		if m > prev {
			t.Fatalf("MOS rises from %v to %v at %v %% concealed", prev, m, c)
		}
		prev = m
	}
}

func TestIdd(t *testing.T) {
	tests := []struct{ ta, want float64 }{
		{0, 0}, {100, 0}, {math.NaN(), 0},
		// X = log2(2) = 1: 25·(2^(1/6) − 3·(1 + 3^-6)^(1/6) + 2)
		{200, 25 * (math.Pow(2, 1.0/6) - 3*math.Pow(1+math.Pow(1.0/3, 6), 1.0/6) + 2)},
	}
	for _, tc := range tests {
		if got := quality.Idd(tc.ta); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Idd(%v) = %v, want %v", tc.ta, got, tc.want)
		}
	}
}

func TestMOSFromRClamps(t *testing.T) {
	tests := []struct{ r, want float64 }{
		{math.NaN(), 1}, {-1, 1}, {0, 1}, {100, 4.5}, {100.1, 4.5}, {250, 4.5},
		// 1 + 2.1 + 7e-6·60·0·40
		{60, 3.1},
		// 1 + 1.75 + 7e-6·50·(−10)·50
		{50, 2.575},
		// the cubic gives 1.0175 − 0.0207 = 0.9968 here; MOS stays 1
		{0.5, 1},
	}
	for _, tc := range tests {
		if got := quality.MOSFromR(tc.r); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("MOSFromR(%v) = %v, want %v", tc.r, got, tc.want)
		}
	}
	// Monotonic over the valid range: a better R never scores worse.
	prev := 0.0
	for r := 0.0; r <= 100; r += 0.5 {
		m := quality.MOSFromR(r)
		if m < prev {
			t.Fatalf("MOS falls from %v to %v at R=%v", prev, m, r)
		}
		prev = m
	}
}

func TestStatsJSON(t *testing.T) {
	s := quality.Stats{SendKbps: 1, RecvKbps: 2, LossPct: 3, JitterMs: 4, RttMs: 40, Fps: 30, Width: 640, Height: 360, PlayoutDelayMs: 20, Mos: 4.2}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sendKbps", "recvKbps", "lossPct", "jitterMs", "rttMs", "fps", "width", "height", "playoutDelayMs", "mos",
		"concealedPct", "fecPct", "redPct", "stretchPct", "latePct", "targetDelayMs", "mouthToEarMs",
		"callConcealedPct", "callFecPct", "callRedPct", "callStretchPct", "callTimeStretches", "callMos", "redDistance"} {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("field %q missing or not a number in %s", k, b)
		}
	}
}

func TestKbps(t *testing.T) {
	tests := []struct {
		bytes   uint64
		seconds float64
		want    float64
	}{{4000, 1, 32}, {4000, 2, 16}, {0, 1, 0}, {100, 0, 0}, {100, -1, 0}}
	for _, tc := range tests {
		if got := quality.Kbps(tc.bytes, tc.seconds); got != tc.want {
			t.Errorf("Kbps(%d, %v) = %v, want %v", tc.bytes, tc.seconds, got, tc.want)
		}
	}
}
