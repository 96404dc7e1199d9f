package netem

import (
	"fmt"
	"strings"
	"time"
)

// Phase is a profile that applies from At, counted from the moment the
// link starts (the bridge's start).
type Phase struct {
	At      time.Duration
	Profile Profile
}

// ParsePlan reads a profile that changes during a run: phases separated
// by ";", each after the first prefixed by the time it starts,
// "rate=150kbps,queue=200ms;30s:clean" (150 kbit/s for 30 s, then no
// impairment). A phase without a seed takes the first phase's, so the
// loss pattern of a run stays reproducible from one seed (seed=0 is no
// seed). A spec without
// ";" is one phase at 0.
func ParsePlan(spec string) ([]Phase, error) {
	parts := strings.Split(spec, ";")
	out := make([]Phase, 0, len(parts))
	for i, part := range parts {
		var ph Phase
		body := part
		if i > 0 {
			at, rest, ok := strings.Cut(part, ":")
			if !ok {
				return nil, fmt.Errorf("%w: phase %q: want TIME:SPEC", ErrSpec, part)
			}
			d, err := parseDur(strings.TrimSpace(at))
			if err != nil {
				return nil, fmt.Errorf("%w: phase %q: start %q: %v", ErrSpec, part, at, err)
			}
			if d <= out[i-1].At {
				return nil, fmt.Errorf("%w: phase %q starts no later than the one before", ErrSpec, part)
			}
			ph.At, body = d, rest
		}
		p, err := ParseProfile(body)
		if err != nil {
			return nil, err
		}
		ph.Profile = p
		out = append(out, ph)
	}
	for i := 1; i < len(out); i++ {
		if out[i].Profile.Seed == 0 {
			out[i].Profile.Seed = out[0].Profile.Seed
		}
	}
	return out, nil
}

// PlanString gives a plan back in ParsePlan's syntax.
func PlanString(plan []Phase) string {
	parts := make([]string, len(plan))
	for i, ph := range plan {
		s := ph.Profile.String()
		if i > 0 {
			if ph.Profile.Seed == plan[0].Profile.Seed {
				// The seed is inherited: do not repeat it.
				q := ph.Profile
				q.Seed = 0
				s = q.String()
			}
			s = ph.At.String() + ":" + s
		}
		parts[i] = s
	}
	return strings.Join(parts, ";")
}

// SetProfile makes p the Link's profile from the next packet on. The
// counters, the random streams and the packets already queued behind a
// rate cap stay.
func (l *Link) SetProfile(p Profile) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p = withLinkDefaults(p)
}
