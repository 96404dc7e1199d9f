package gateway

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// outbox is a session's outbound queue. Dispatchers, the presence loop and
// the reader only append to it, which never blocks on the network; a writer
// goroutine exists only while frames are waiting and exits when the queue is
// empty, so an idle connection costs no goroutine and no buffer. Because
// every frame of a session goes through one FIFO, an account's events keep
// the order in which its dispatcher delivered them, and a reply never
// overtakes an event queued before it (or the other way round).
//
// The outbox also holds the session's routing identity. Dispatchers check it
// under the lock they append with, so a session that logged out (and maybe
// in again as another account) never receives a frame routed to its former
// identity.
type outbox struct {
	mu     sync.Mutex
	queue  [][]byte // frames waiting for the writer (a nil entry is a ping); nil while idle
	frames int      // frames queued, held or being written
	bytes  int      // their size; both are bounded by the gateway

	// While a login is in progress, events for the new identity are held
	// here, so that the login reply is the first frame after the login; the
	// reply then releases them (session.releaseLogin).
	held    [][]byte
	holding bool

	writing bool // a writer goroutine runs
	closed  bool // the connection is gone: frames are refused
	resync  bool // close once settled (see session.resync)
	// final: the session is being ended (session.end); its notice is the
	// last frame, the writer closes the connection after it, and every
	// other frame is refused.
	final bool

	id identity // routing identity; zero when not logged in

	// Device kicks are ordered by presence revision (see kick.go): loginRev
	// is this login's, kickRev the newest kick seen before loginRev was known.
	loginRev, kickRev uint64
}

// identity is what a session receives events as.
type identity struct {
	account, device string
	created         time.Time // creation time of the account logged in to
	tokenHash       string    // the account's token hash at login
}

// overflow describes a session closed for not reading its frames.
type overflow struct {
	identity
	frames, bytes int
}

// send queues a frame (a reply, or an event via deliver) for writing.
func (s *session) send(frame []byte) {
	s.out.mu.Lock()
	ov := s.enqueueLocked(frame, false)
	s.out.mu.Unlock()
	s.closeIfSlow(ov)
}

// deliver queues an event frame routed to account if the session currently
// receives that account's events and the device filters admit it.
func (s *session) deliver(account, only, except string, frame []byte) {
	o := &s.out
	o.mu.Lock()
	if o.id.account == "" || o.id.account != account ||
		(only != "" && o.id.device != only) || (except != "" && o.id.device == except) {
		o.mu.Unlock()
		return
	}
	ov := s.enqueueLocked(frame, o.holding)
	o.mu.Unlock()
	s.closeIfSlow(ov)
}

// ping queues a WebSocket ping behind the frames already waiting, so the
// ping loop never blocks on a slow connection.
func (s *session) ping() {
	s.out.mu.Lock()
	ov := s.enqueueLocked(nil, false)
	s.out.mu.Unlock()
	s.closeIfSlow(ov)
}

// routedAs reports whether the session receives the events of account's
// device.
func (s *session) routedAs(account, device string) bool {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.id.account != "" && s.out.id.account == account && s.out.id.device == device
}

// identity returns the session's current routing identity.
func (s *session) identity() identity {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.id
}

// enqueueLocked appends frame to the queue, or to the held list while a
// login is in progress, and starts the writer when needed. Past the bounds
// it drops everything and returns what the caller must log before closing
// the session (outside the lock).
func (s *session) enqueueLocked(frame []byte, hold bool) *overflow {
	o := &s.out
	if o.closed || o.final {
		return nil
	}
	if o.frames+1 > s.g.queueFrames || o.bytes+len(frame) > s.g.queueBytes {
		ov := &overflow{identity: o.id, frames: o.frames, bytes: o.bytes}
		s.dropLocked()
		return ov
	}
	o.frames++
	o.bytes += len(frame)
	if hold {
		o.held = append(o.held, frame)
		return nil
	}
	o.queue = append(o.queue, frame)
	s.startWriterLocked()
	return nil
}

// startWriterLocked runs a writer if frames wait and none runs. The writer
// joins the gateway's group under the outbox lock while the outbox is open;
// Gateway.Close closes every session before it waits for the group, so no
// writer can join once the wait has begun.
func (s *session) startWriterLocked() {
	o := &s.out
	if o.writing || o.closed || len(o.queue) == 0 {
		return
	}
	o.writing = true
	s.g.writers.Add(1)
	go s.writeLoop()
}

// dropLocked forgets queued frames and refuses new ones.
func (s *session) dropLocked() {
	o := &s.out
	o.closed = true
	o.queue, o.held, o.holding = nil, nil, false
	o.frames, o.bytes = 0, 0
}

// closeIfSlow closes a session whose outbox overflowed: a client that does
// not read must not make the server buffer without end, nor hold up anyone.
func (s *session) closeIfSlow(ov *overflow) {
	if ov == nil {
		return
	}
	s.g.log.Warn("closing connection: client too slow to read its frames",
		"account", ov.account, "device", ov.device, "queuedFrames", ov.frames, "queuedBytes", ov.bytes)
	s.close()
}

// writeLoop drains the queue: it takes everything queued, writes it without
// holding the lock, and exits when nothing is left, dropping the queue's
// memory with it.
func (s *session) writeLoop() {
	defer s.g.writers.Done()
	o := &s.out
	for {
		o.mu.Lock()
		if o.closed || len(o.queue) == 0 {
			o.writing = false
			o.queue = nil
			final := o.final && !o.closed
			resync := o.resync
			o.mu.Unlock()
			switch {
			case final:
				s.writeCloseFrame()
				s.close()
			case resync:
				s.closeIfSettled()
			}
			return
		}
		batch := o.queue
		o.queue = nil
		o.mu.Unlock()
		for i, frame := range batch {
			batch[i] = nil
			err := s.writeFrame(frame)
			o.mu.Lock()
			if !o.closed {
				o.frames--
				o.bytes -= len(frame)
			}
			o.mu.Unlock()
			if err != nil {
				s.close()
				break
			}
		}
	}
}

// writeFrame writes one entry. Only the writer goroutine calls it, so the
// connection has a single writer as gorilla requires.
func (s *session) writeFrame(frame []byte) error {
	deadline := time.Now().Add(s.g.writeTimeout)
	if frame == nil {
		return s.conn.WriteControl(websocket.PingMessage, nil, deadline)
	}
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return s.conn.WriteMessage(websocket.TextMessage, frame)
}

// beginLogin gives the session its new identity with events held, before it
// becomes reachable by routing: nothing that arrives for it from then on is
// lost, and nothing is written before the login reply.
func (s *session) beginLogin(id identity) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.id = id
	o.holding = true
	o.loginRev, o.kickRev = 0, 0
}

// releaseLogin ends the hold after the login reply was queued: first comes
// what first(held) returns (offline invites), then the held events in the
// order they arrived.
func (s *session) releaseLogin(first func(held [][]byte) [][]byte) {
	o := &s.out
	o.mu.Lock()
	if !o.holding {
		o.mu.Unlock()
		return
	}
	held := o.held
	o.held, o.holding = nil, false
	var ov *overflow
	for _, f := range first(held) {
		if ov = s.enqueueLocked(f, false); ov != nil {
			break
		}
	}
	if ov == nil && !o.closed {
		o.queue = append(o.queue, held...)
		s.startWriterLocked()
	}
	o.mu.Unlock()
	s.closeIfSlow(ov)
}

// loginInProgress reports whether a login holds the session's events.
func (s *session) loginInProgress() bool {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.holding
}

// clearIdentity takes the session out of event delivery (failed login,
// logout, disconnect) and drops events held for a login that failed.
func (s *session) clearIdentity() {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.id = identity{}
	o.loginRev, o.kickRev = 0, 0
	if o.holding {
		for _, f := range o.held {
			o.frames--
			o.bytes -= len(f)
		}
		o.held, o.holding = nil, false
	}
}
