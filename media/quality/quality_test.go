package quality_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/softphone/softphone/media/quality"
)

func TestEModel(t *testing.T) {
	// Expected values worked by hand from issue 3's formula.
	tests := []struct {
		name                  string
		latency, jitter, loss float64
		wantR, wantMOS        float64
	}{
		// effLat 10 → R = 93.2 − 0.25 = 92.95;
		// MOS = 1 + 3.25325 + 7e-6·92.95·32.95·7.05 = 4.404394368375
		{"perfect network", 0, 0, 0, 92.95, 4.404394368375},
		// effLat 20+10+10 = 40 → R = 93.2 − 1 = 92.2; MOS = 1 + 3.227 + 7e-6·92.2·32.2·7.8
		{"lan", 20, 5, 0, 92.2, 4.389098664},
		// effLat 100+20+10 = 130 → 93.2 − 3.25 = 89.95; − 2.5 = 87.45
		{"one percent loss", 100, 10, 1, 87.45, 4.271634144625},
		// effLat 150 (< 160) → 93.2 − 3.75 = 89.45
		{"just below the knee", 140, 0, 0, 89.45, 4.325293239625},
		// effLat 160 (not below) → 93.2 − (160−120)/10 = 89.2; the two branches meet here
		{"at the knee", 150, 0, 0, 89.2, 4.318910784},
		// effLat 200+40+10 = 250 → 93.2 − 13 = 80.2; − 5 = 75.2
		{"long haul", 200, 20, 2, 75.2, 3.830431744},
		// effLat 60 → 91.7; − 12.5 = 79.2
		{"five percent loss", 40, 5, 5, 79.2, 3.993405184},
		// effLat 510 → 93.2 − 39 = 54.2; − 25 = 29.2
		{"terrible", 400, 50, 10, 29.2, 1.576277184},
		// R = 92.95 − 100 = −7.05 → MOS clamps to 1
		{"R below zero", 0, 0, 40, -7.05, 1},
		// negatives and NaN count as 0
		{"negative inputs", -5, math.NaN(), -1, 92.95, 4.404394368375},
		// loss capped at 100 %
		{"loss over 100", 0, 0, 200, 92.95 - 250, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := quality.RFactor(tc.latency, tc.jitter, tc.loss); math.Abs(r-tc.wantR) > 1e-9 {
				t.Errorf("R = %.12f, want %.12f", r, tc.wantR)
			}
			if m := quality.MOS(tc.latency, tc.jitter, tc.loss); math.Abs(m-tc.wantMOS) > 1e-9 {
				t.Errorf("MOS = %.12f, want %.12f", m, tc.wantMOS)
			}
		})
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
	s := quality.Stats{SendKbps: 1, RecvKbps: 2, LossPct: 3, JitterMs: 4, RttMs: 40, Fps: 30, Width: 640, Height: 360, PlayoutDelayMs: 20}
	s.ComputeMOS()
	// one-way 20 + 20 = 40 ms, jitter 4, loss 3 → effLat 58 → R = 93.2 − 1.45 − 7.5 = 84.25
	if want := quality.MOSFromR(84.25); math.Abs(s.Mos-want) > 1e-9 {
		t.Errorf("Mos = %v, want %v", s.Mos, want)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sendKbps", "recvKbps", "lossPct", "jitterMs", "rttMs", "fps", "width", "height", "playoutDelayMs", "mos"} {
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
