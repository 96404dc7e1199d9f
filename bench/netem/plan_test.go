package netem

import (
	"errors"
	"testing"
	"time"
)

func TestParsePlan(t *testing.T) {
	tests := []struct {
		spec string
		want []Phase
		back string // PlanString of the result
	}{
		{"loss=5%", []Phase{{0, Profile{Loss: 0.05}}}, "loss=5%"},
		{"rate=150kbps,queue=200ms;30s:clean", []Phase{
			{0, Profile{RateBps: 150000, Queue: 200 * time.Millisecond}},
			{30 * time.Second, Profile{}},
		}, "rate=150kbps,queue=200ms;30s:clean"},
		// The bench script puts the seed first; the later phases inherit it.
		{"seed=101,rate=150kbps,queue=200ms;32s:", []Phase{
			{0, Profile{RateBps: 150000, Queue: 200 * time.Millisecond, Seed: 101}},
			{32 * time.Second, Profile{Seed: 101}},
		}, "rate=150kbps,queue=200ms,seed=101;32s:clean"},
		{"seed=5,loss=10%;10s:loss=1%,seed=6;20000:clean", []Phase{
			{0, Profile{Loss: 0.1, Seed: 5}},
			{10 * time.Second, Profile{Loss: 0.01, Seed: 6}},
			{20 * time.Second, Profile{Seed: 5}},
		}, "loss=10%,seed=5;10s:loss=1%,seed=6;20s:clean"},
	}
	for _, tt := range tests {
		got, err := ParsePlan(tt.spec)
		if err != nil {
			t.Errorf("ParsePlan(%q): %v", tt.spec, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParsePlan(%q) = %+v, want %+v", tt.spec, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParsePlan(%q) phase %d = %+v, want %+v", tt.spec, i, got[i], tt.want[i])
			}
		}
		if s := PlanString(got); s != tt.back {
			t.Errorf("PlanString = %q, want %q", s, tt.back)
		}
	}
}

func TestParsePlanErrors(t *testing.T) {
	for _, spec := range []string{
		"loss=5%;clean",              // no start time
		"loss=5%;x:clean",            // bad start time
		"loss=5%;-1s:clean",          // negative
		"loss=5%;10s:clean;5s:clean", // out of order
		"loss=5%;0s:clean",           // not after the first
		"loss=5%;10s:colour=red",     // bad phase
		"colour=red;10s:clean",
	} {
		if _, err := ParsePlan(spec); !errors.Is(err, ErrSpec) {
			t.Errorf("ParsePlan(%q) = %v, want ErrSpec", spec, err)
		}
	}
}

// A cap lifted mid-run: packets wait behind the 150 kbit/s cap, and the
// ones after SetProfile pass at once; the counters go on.
func TestSetProfileLiftsTheCap(t *testing.T) {
	l := NewLink(Profile{RateBps: 150_000, Queue: 200 * time.Millisecond})
	now := t0
	var waited time.Duration
	for range 50 { // 1200-byte packets every 20 ms: 480 kbit/s offered
		at, v := l.Admit(now, 1200)
		if v == Pass {
			waited = max(waited, at.Sub(now))
		}
		now = now.Add(20 * time.Millisecond)
	}
	before := l.Counters()
	if before.LostQueue == 0 || waited < 100*time.Millisecond {
		t.Fatalf("under the cap: %d tail drops, longest wait %v", before.LostQueue, waited)
	}
	l.SetProfile(Profile{})
	for range 50 {
		at, v := l.Admit(now, 1200)
		if v != Pass || !at.Equal(now) {
			t.Fatalf("after the lift: %v, held %v", v, at.Sub(now))
		}
		now = now.Add(20 * time.Millisecond)
	}
	if c := l.Counters(); c.Packets != 100 || c.LostQueue != before.LostQueue {
		t.Errorf("counters after the lift %+v", c)
	}
}

// FuzzParsePlan: any accepted plan prints back to an equal plan, and
// nothing panics on arbitrary input.
func FuzzParsePlan(f *testing.F) {
	for _, s := range []string{"", "loss=5%", "rate=150kbps,queue=200ms;30s:clean", "seed=1,loss=1%;10s:;20s:loss=2%,seed=3", "x;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		plan, err := ParsePlan(spec)
		if err != nil {
			return
		}
		again, err := ParsePlan(PlanString(plan))
		if err != nil {
			t.Fatalf("%q → %q: %v", spec, PlanString(plan), err)
		}
		if PlanString(again) != PlanString(plan) {
			t.Fatalf("%q → %q → %q", spec, PlanString(plan), PlanString(again))
		}
	})
}
