package turn

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// streamListener hands pion the TCP or TLS connections of a stream listener
// within bounds: at most max are open at once (one beyond that is closed on
// accept), one that sends nothing for idle is closed, and a TLS connection
// is handed over only once its handshake finished within handshakeTimeout
// (a failed one is closed here: pion would leave it open). pion reads each
// connection in a goroutine of its own without a deadline, so without these
// a client could hold any number of them open for free.
type streamListener struct {
	ln    net.Listener
	tls   *tls.Config // nil: plain TCP
	idle  time.Duration
	slots chan struct{}
	ready chan net.Conn

	ctx    context.Context // ends the accept loop and the handshakes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[*idleConn]struct{} // open connections, closed with the listener
}

const handshakeTimeout = 10 * time.Second

func newStreamListener(ln net.Listener, tc *tls.Config, max int, idle time.Duration) *streamListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &streamListener{ln: ln, tls: tc, idle: idle, slots: make(chan struct{}, max),
		ready: make(chan net.Conn), ctx: ctx, cancel: cancel, conns: map[*idleConn]struct{}{}}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *streamListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			// A failing listener (out of file descriptors): back off.
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		select {
		case l.slots <- struct{}{}:
		default:
			_ = c.Close()
			continue
		}
		ic := &idleConn{Conn: c, idle: l.idle}
		ic.release = func() {
			l.mu.Lock()
			delete(l.conns, ic)
			l.mu.Unlock()
			<-l.slots
		}
		l.mu.Lock()
		l.conns[ic] = struct{}{}
		l.mu.Unlock()
		if l.tls == nil {
			l.handOver(ic)
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tc := tls.Server(ic, l.tls)
			ctx, cancel := context.WithTimeout(l.ctx, handshakeTimeout)
			err := tc.HandshakeContext(ctx)
			cancel()
			if err != nil {
				_ = tc.Close()
				return
			}
			l.handOver(tc)
		}()
	}
}

// handOver gives c to Accept, or closes it when the listener closed.
func (l *streamListener) handOver(c net.Conn) {
	select {
	case l.ready <- c:
	case <-l.ctx.Done():
		_ = c.Close()
	}
}

// Accept returns the next connection ready for TURN.
func (l *streamListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting, waits for the handshakes in progress and closes
// every connection (pion's Close leaves accepted ones open).
func (l *streamListener) Close() error {
	l.cancel()
	err := l.ln.Close()
	l.wg.Wait()
	l.mu.Lock()
	open := make([]*idleConn, 0, len(l.conns))
	for c := range l.conns {
		open = append(open, c)
	}
	l.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
	return err
}

func (l *streamListener) Addr() net.Addr { return l.ln.Addr() }

// idleConn pushes its read deadline forward on every read and frees its
// slot once when closed.
type idleConn struct {
	net.Conn
	idle    time.Duration
	once    sync.Once
	release func()
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
