package bwe

import (
	"testing"
	"time"
)

// A due probe waits for a pause in our own speech, but not for ever.
func TestProbeWaitsForAPause(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name    string
		talking bool
		after   time.Duration // since the last probe
		want    bool
	}{
		{"not due yet", false, probeInterval - time.Millisecond, false},
		{"due, silent", false, probeInterval, true},
		{"due, talking", true, probeInterval, false},
		{"talking, just before the wait ends", true, probeInterval + probeTalkWait - time.Millisecond, false},
		{"talking for too long", true, probeInterval + probeTalkWait, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := prober{enabled: true, last: t0}
			// Media at the rate (not idle), far below the maximum, no cut.
			_, got := p.due(t0.Add(tc.after), 100_000, 100_000, 1_000_000, 0, time.Time{}, usageNormal, tc.talking)
			if got != tc.want {
				t.Fatalf("probe due %v, want %v", got, tc.want)
			}
		})
	}
}

// A probe that arrived whole but would not raise the rate (over the known
// capacity, under the ceiling) is a failure: no confirming probe a second
// later, and the next one steps down the factors.
func TestProbeBelowTheCeilingFails(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name       string
		useful     bool
		wantFailed int
		wantNext   time.Duration // after the result, till the next probe is due
	}{
		{"raises the rate: confirm it soon", true, 0, probeConfirm},
		// The back-off after one failure, counted from when it was sent.
		{"under the ceiling: a failure", false, 1, probeMaxInterval - 200*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := prober{enabled: true, last: t0} // as due() left it
			// A cluster of 12 packets of 400 bytes sent and received 5 ms apart
			// (640 kbps) without queueing.
			c := &cluster{id: 1, rate: 640_000, started: t0, ends: t0.Add(60 * time.Millisecond)}
			p.clusters = map[int]*cluster{1: c}
			for i := range 12 {
				at := t0.Add(time.Duration(i) * 5 * time.Millisecond)
				p.sent(1, at, 400)
				p.feedback(result{sent: sentPacket{at: at, size: 400, probe: 1}, arrival: time.Duration(at.UnixNano()) + 20*time.Millisecond})
			}
			now := t0.Add(200 * time.Millisecond)
			got := p.results(now, func(float64) bool { return tc.useful })
			if got != 0 || p.failed != tc.wantFailed {
				t.Fatalf("result %.0f, failed %d; want 0 (unconfirmed or failed), %d", got, p.failed, tc.wantFailed)
			}
			if tc.useful && p.confirm == 0 {
				t.Fatalf("the first success was not kept for confirmation")
			}
			if next := p.last.Add(p.backoff(probeInterval)).Sub(now); next != tc.wantNext {
				t.Errorf("next probe %v after the result, want %v", next, tc.wantNext)
			}
		})
	}
}

// The local side counts as speaking through the pauses between phrases
// (talkHangover), so a probe waits for the end of a turn.
func TestTalkHangover(t *testing.T) {
	speaking := false
	e := New(Config{MinBps: 300_000, Talking: func() bool { return speaking }})
	t.Cleanup(func() { _ = e.Close() })
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at       time.Duration
		speaking bool
		want     bool
	}{
		{0, false, false},                                 // never spoke
		{time.Second, true, true},                         // a phrase
		{time.Second + 500*time.Millisecond, false, true}, // a pause between phrases
		{time.Second + talkHangover - time.Millisecond, false, true},
		{time.Second + talkHangover, false, false}, // the turn ended
	}
	for _, s := range steps {
		speaking = s.speaking
		if got := e.talking(t0.Add(s.at)); got != s.want {
			t.Errorf("at %v (speaking %v): talking %v, want %v", s.at, s.speaking, got, s.want)
		}
	}
}

// While the media use less than half the rate a probe asks for four times
// it first, else twice; after a failure the factors step down, but never
// below what could raise the rate.
func TestProbeFactor(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name   string
		acked  float64
		failed int
		least  float64 // what would count (probeLeast)
		want   float64
	}{
		{"media at the rate", 120_000, 0, 0, 2 * 130_000},
		{"picture suspended", 50_000, 0, 0, probeIdleFactor * 130_000},
		{"suspended, after a failure", 50_000, 1, 0, 1.5 * 130_000},
		{"after a failure, at a known capacity", 50_000, 1, 300_000, 300_000},
		{"a step that would count anyway", 120_000, 0, 200_000, 2 * 130_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := prober{enabled: true, last: t0, failed: tc.failed}
			pl, ok := p.due(t0.Add(probeMaxInterval), 130_000, tc.acked, 2_000_000, tc.least, time.Time{}, usageNormal, false)
			if !ok || pl.bps != tc.want {
				t.Fatalf("probe %v at %.0f kbps, want %.0f", ok, pl.bps/1000, tc.want/1000)
			}
		})
	}
}
