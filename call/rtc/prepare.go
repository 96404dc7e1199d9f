package rtc

import (
	"sync"
	"time"
)

// A caller's session may start while its call still rings (Params.Held):
// it builds the peer connection, opens the devices, makes its offer and
// gathers its candidates, and sends nothing until Activate (the callee
// accepted), when the offer and the candidates leave back to back. The
// STATS and the no-media watchdog count from Activate too.

// activation gates a held session's relays.
type activation struct {
	active chan struct{} // closed by Activate
	once   sync.Once
}

// Activate lets a held session's relays go out (a session that was not
// held is active from the start).
func (s *Session) Activate() {
	s.once.Do(func() {
		s.started = time.Now() // before close: readers wait on active
		close(s.active)
	})
}

// activated reports whether Activate ran.
func (s *Session) activated() bool {
	select {
	case <-s.active:
		return true
	default:
		return false
	}
}

// waitActive waits for Activate; false means the session closed first.
func (s *Session) waitActive() bool {
	select {
	case <-s.active:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// whenActive runs f on a session goroutine once the session is active.
func (s *Session) whenActive(f func()) {
	s.spawn(func() {
		if s.waitActive() {
			f()
		}
	})
}
