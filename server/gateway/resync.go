package gateway

// After this node's NATS connection is re-established, events that other
// nodes published to its account subjects meanwhile are lost: core NATS
// keeps nothing for a subscriber that is away. Rather than guess what each
// device missed, every logged-in device is asked to reconnect. Its new
// login's reply carries the server's view of its call (ended while it was
// away, connected, ringing), from which the engine reconciles its state,
// and the engine fetches the records it is still owed. A device is closed
// only once its request in flight is answered and its queued frames are
// written, so nothing the server already decided is cut off.

// Reconnected is called when the NATS connection came back after a loss.
func (g *Gateway) Reconnected() {
	n := 0
	for _, s := range g.snapshotSessions(nil) {
		if s.loggedIn() {
			s.resync()
			n++
		}
	}
	g.log.Warn("NATS connection restored: devices reconnect to resynchronise their calls", "devices", n)
}

// resync closes the session once it is settled.
func (s *session) resync() {
	s.out.mu.Lock()
	s.out.resync = true
	s.out.mu.Unlock()
	s.closeIfSettled()
}

// closeIfSettled closes a session marked for resync that has no request in
// flight and nothing left to write.
func (s *session) closeIfSettled() {
	o := &s.out
	o.mu.Lock()
	settled := o.resync && !o.writing && len(o.queue) == 0 && !s.busy.Load()
	o.mu.Unlock()
	if settled {
		s.close()
	}
}
