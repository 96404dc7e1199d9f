package bridge

import (
	"math"
	"time"
)

// meter counts bytes per whole second since start: what the sender put on
// the wire (offered) and what the bridge passed on (delivered).
type meter struct {
	start     time.Time
	offered   []uint64
	delivered []uint64
}

func (m *meter) slot(s *[]uint64, at time.Time, n int) {
	i := int(at.Sub(m.start) / time.Second)
	if i < 0 {
		return
	}
	for len(*s) <= i {
		*s = append(*s, 0)
	}
	(*s)[i] += uint64(n)
}

func kbps(s []uint64) []float64 {
	out := make([]float64, len(s))
	for i, b := range s {
		out[i] = math.Round(float64(b)*8/100) / 10
	}
	return out
}
