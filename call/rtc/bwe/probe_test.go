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
			_, got := p.due(t0.Add(tc.after), 100_000, 100_000, 1_000_000, time.Time{}, usageNormal, tc.talking)
			if got != tc.want {
				t.Fatalf("probe due %v, want %v", got, tc.want)
			}
		})
	}
}
