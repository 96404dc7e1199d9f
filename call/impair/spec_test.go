package impair

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/netem"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Config
	}{
		{"", Config{}},
		{"loss=5%,delay=80ms,jitter=20ms,rate=300kbps", Config{Loss: 5, Delay: 80 * time.Millisecond, Jitter: 20 * time.Millisecond, Rate: 300_000}},
		{" LOSS = 0.5 % , delay=1.5s ", Config{Loss: 0.5, Delay: 1500 * time.Millisecond}},
		{"loss=5", Config{Loss: 5}},
		{"delay=80", Config{Delay: 80 * time.Millisecond}},
		{"rate=1.5mbps,queue=100ms", Config{Rate: 1_500_000, Queue: 100 * time.Millisecond}},
		{"rate=64000bps", Config{Rate: 64_000}},
		{"rate=2Mbit", Config{Rate: 2_000_000}},
		{"rate=300kbit", Config{Rate: 300_000}},
		{"loss=100%,seed=42", Config{Loss: 100, Seed: 42}},
		{"jitter=20ms,", Config{Jitter: 20 * time.Millisecond}},
		{"ge=1%/30%", Config{GE: netem.Simple(0.01, 0.30)}},
		{"ge=5%/50%/80%/2%", Config{GE: netem.GilbertElliott{P: 0.05, R: 0.5, LossBad: 0.8, LossGood: 0.02}}},
		{"delay=40ms,jitter=20ms,dist=normal", Config{Delay: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Dist: netem.Normal}},
		{"dist=uniform,jitter=5ms", Config{Jitter: 5 * time.Millisecond}},
	} {
		got, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
		back, err := Parse(got.String())
		if err != nil || back != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v; want %+v", tc.spec, got.String(), back, err, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // substring of the error
	}{
		{"loss=abc", `loss="abc": want a percentage such as 5%`},
		{"loss=101%", `loss="101%": want a percentage between 0% and 100%`},
		{"loss=-1%", `loss="-1%"`},
		{"loss=NaN", `loss="NaN"`},
		{"delay=fast", `delay="fast": want a duration such as 80ms`},
		{"delay=-5ms", `delay="-5ms": want a duration between 0 and 10s`},
		{"delay=1h", `delay="1h"`},
		{"jitter=", `jitter="": want a duration`},
		{"rate=300", `rate="300": want a rate with a unit`},
		{"rate=0kbps", `rate="0kbps": want a rate between 1kbps and 10gbps`},
		{"rate=fastkbps", `rate="fastkbps": want a rate such as 300kbps`},
		{"queue=0", `queue="0"`},
		{"seed=-3", `seed="-3": want a non-negative integer`},
		{"speed=1", `unknown key "speed" (keys: loss, ge, delay, jitter, dist, rate, queue, seed)`},
		{"ge=1%", `ge="1%": want P/R[/BAD[/GOOD]]`},
		{"ge=1%/0%", `ge="1%/0%": the chance R to leave the bad state must be above 0%`},
		{"ge=1%/30%/x", `ge="1%/30%/x": want a percentage`},
		{"ge=1%/30%/100%/0%/5%", `ge="1%/30%/100%/0%/5%"`},
		{"loss=5%,ge=1%/30%", `loss and ge both set`},
		{"dist=pareto", `dist="pareto": want uniform or normal`},
		{"loss", `"loss" is not key=value`},
		{"loss=1%,loss=2%", "loss given twice"},
	} {
		_, err := Parse(tc.spec)
		if err == nil {
			t.Errorf("Parse(%q): no error", tc.spec)
			continue
		}
		if !errors.Is(err, ErrBadSpec) {
			t.Errorf("Parse(%q): error %v does not wrap ErrBadSpec", tc.spec, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", tc.spec, err, tc.want)
		}
	}
}

// FuzzParse: specs come from users and support tickets. Parse must never
// panic, and whatever it accepts must print back to the same config.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "loss=5%,delay=80ms,jitter=20ms,rate=300kbps", "rate=1.5mbps,queue=1s,seed=9", "delay=1e3", "loss=%", "rate=kbps", ",,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrBadSpec", spec, err)
			}
			return
		}
		if c.Loss < 0 || c.Loss > 100 || c.Delay < 0 || c.Jitter < 0 || c.Rate < 0 || c.Queue < 0 {
			t.Fatalf("Parse(%q) accepted out-of-range %+v", spec, c)
		}
		back, err := Parse(c.String())
		if err != nil || back != c {
			t.Fatalf("Parse(%q) = %+v; its String %q parses to %+v, %v", spec, c, c.String(), back, err)
		}
	})
}
