package impair

import (
	"container/heap"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"

	"github.com/softphone/softphone/internal/netem"
)

// Shaper limits besides the configured ones.
const (
	// maxQueued bounds the packets one socket holds back (delay without a
	// rate cap would otherwise queue without bound); beyond it, tail drop.
	maxQueued = 8192
	// minBurst is the token bucket's depth in bytes when that is more than
	// burstTime at the rate: two full-size packets pass back to back.
	minBurst  = 3000
	burstTime = 10 * time.Millisecond
)

// Net wraps base so that the UDP sockets it opens (ListenUDP, ListenPacket
// on udp networks, DialUDP, Dial on udp networks — what pion's ICE agent
// uses for host, server-reflexive and relayed candidates) impair what they
// send as c says. Receiving is untouched: each side impairs its own sending
// direction, so impairing one client degrades what its peer receives.
// TCP passes through. base nil means the operating system's network. A
// zero c returns base as is.
//
// Each socket owns one goroutine while packets are held back; Close stops
// it and drops what is still queued.
func (c Config) Net(base transport.Net) transport.Net {
	if c.IsZero() {
		return base
	}
	n := &impairedNet{Net: base, cfg: c}
	if base == nil {
		std, err := stdnet.NewNet()
		if err != nil {
			// pion's own attempt fails the same way and reports it.
			return nil
		}
		n.Net = std
	}
	return n
}

type impairedNet struct {
	transport.Net
	cfg   Config
	conns atomic.Uint64 // numbers the sockets, for per-socket random streams
}

func (n *impairedNet) newShaper() *shaper {
	return newShaper(n.cfg, n.conns.Add(1))
}

func isUDP(network string) bool { return strings.HasPrefix(network, "udp") }

func (n *impairedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return newUDPConn(c, n.newShaper()), nil
}

func (n *impairedNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.DialUDP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return newUDPConn(c, n.newShaper()), nil
}

func (n *impairedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil || !isUDP(network) {
		return c, err
	}
	pc := &packetConn{PacketConn: c, sh: n.newShaper()}
	pc.sh.send = func(p *packet) error {
		_, err := c.WriteTo(p.b, p.addr)
		return err
	}
	return pc, nil
}

func (n *impairedNet) Dial(network, address string) (net.Conn, error) {
	c, err := n.Net.Dial(network, address)
	if err != nil || !isUDP(network) {
		return c, err
	}
	dc := &conn{Conn: c, sh: n.newShaper()}
	dc.sh.send = func(p *packet) error {
		_, err := c.Write(p.b)
		return err
	}
	return dc, nil
}

// udpConn impairs a transport.UDPConn's writes. It deliberately does not
// offer the allocation-free AddrPort methods, so ICE writes through WriteTo.
type udpConn struct {
	transport.UDPConn
	sh *shaper
}

func newUDPConn(c transport.UDPConn, sh *shaper) *udpConn {
	sh.send = func(p *packet) error {
		var err error
		switch {
		case p.oob != nil:
			ua, _ := p.addr.(*net.UDPAddr)
			_, _, err = c.WriteMsgUDP(p.b, p.oob, ua)
		case p.addr == nil:
			_, err = c.Write(p.b)
		default:
			_, err = c.WriteTo(p.b, p.addr)
		}
		return err
	}
	return &udpConn{UDPConn: c, sh: sh}
}

func (c *udpConn) Write(b []byte) (int, error) { return c.sh.submit(b, nil, nil) }

func (c *udpConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return c.sh.submit(b, nil, addr)
}

func (c *udpConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if addr == nil {
		return c.sh.submit(b, nil, nil)
	}
	return c.sh.submit(b, nil, addr)
}

func (c *udpConn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (int, int, error) {
	var a net.Addr
	if addr != nil {
		a = addr
	}
	n, err := c.sh.submit(b, oob, a)
	if err != nil {
		return n, 0, err
	}
	return n, len(oob), nil
}

func (c *udpConn) Close() error {
	c.sh.close()
	return c.UDPConn.Close()
}

// packetConn impairs a net.PacketConn's writes (pion's TURN client socket).
type packetConn struct {
	net.PacketConn
	sh *shaper
}

func (c *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return c.sh.submit(b, nil, addr)
}

func (c *packetConn) Close() error {
	c.sh.close()
	return c.PacketConn.Close()
}

// conn impairs a connected UDP net.Conn's writes.
type conn struct {
	net.Conn
	sh *shaper
}

func (c *conn) Write(b []byte) (int, error) { return c.sh.submit(b, nil, nil) }

func (c *conn) Close() error {
	c.sh.close()
	return c.Conn.Close()
}

// packet is one held-back datagram.
type packet struct {
	due  time.Time
	seq  uint64 // FIFO among equal due times
	b    []byte
	oob  []byte
	addr net.Addr
}

type packetHeap []*packet

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(*packet)) }
func (h *packetHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}

// shaper decides each outgoing packet's fate: dropped at random, dropped
// at the full rate-cap queue, sent now, or held until its due time by the
// socket's sender goroutine.
type shaper struct {
	cfg   Config
	burst time.Duration // token bucket depth as sending time at the rate
	send  func(*packet) error

	mu      sync.Mutex
	rng     *rand.Rand
	loss    netem.Loss
	delay   netem.Delay
	q       packetHeap
	seq     uint64
	tat     time.Time // GCRA theoretical arrival time of the rate cap
	closed  bool
	running bool
	wake    chan struct{} // capacity 1
	done    chan struct{}
	wg      sync.WaitGroup

	// Counters, for tests and figures.
	sent, lost, tailDropped atomic.Uint64
}

func newShaper(c Config, stream uint64) *shaper {
	seed := c.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	if c.Queue <= 0 {
		c.Queue = DefaultQueue
	}
	s := &shaper{
		cfg:   c,
		rng:   rand.New(rand.NewPCG(seed, stream)),
		loss:  netem.Loss{Random: c.Loss / 100, GE: c.GE},
		delay: netem.Delay{Base: c.Delay, Jitter: c.Jitter, Dist: c.Dist},
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	if c.Rate > 0 {
		s.burst = max(burstTime, txTime(minBurst, c.Rate))
	}
	return s
}

// txTime is how long size bytes take at rate bit/s.
func txTime(size int, rate int64) time.Duration {
	return time.Duration(float64(size) * 8 * float64(time.Second) / float64(rate))
}

// submit takes a datagram the caller writes; like a network, it reports
// success for packets it drops.
func (s *shaper) submit(b, oob []byte, addr net.Addr) (int, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, net.ErrClosed
	}
	if s.loss.Drop(s.rng) {
		s.mu.Unlock()
		s.lost.Add(1)
		return len(b), nil
	}
	now := time.Now()
	depart := now
	if s.cfg.Rate > 0 {
		// A token bucket as GCRA: the packet leaves when the bucket
		// (burst deep) has room; its bits then occupy the link.
		tat := s.tat
		if tat.Before(now) {
			tat = now
		}
		if d := tat.Add(-s.burst); d.After(depart) {
			depart = d
		}
		if depart.Sub(now) > s.cfg.Queue {
			s.mu.Unlock()
			s.tailDropped.Add(1)
			return len(b), nil
		}
		s.tat = tat.Add(txTime(len(b), s.cfg.Rate))
	}
	due := depart.Add(s.delay.Draw(s.rng))
	if !due.After(now) && len(s.q) == 0 {
		s.mu.Unlock()
		s.sent.Add(1)
		return len(b), s.send(&packet{b: b, oob: oob, addr: addr})
	}
	if len(s.q) >= maxQueued {
		s.mu.Unlock()
		s.tailDropped.Add(1)
		return len(b), nil
	}
	p := &packet{due: due, seq: s.seq, b: append([]byte(nil), b...), addr: addr}
	if oob != nil {
		p.oob = append([]byte(nil), oob...)
	}
	s.seq++
	heap.Push(&s.q, p)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.run()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// run sends held-back packets at their due times until close.
func (s *shaper) run() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ready []*packet
	for {
		s.mu.Lock()
		now := time.Now()
		ready = ready[:0]
		for len(s.q) > 0 && !s.q[0].due.After(now) {
			ready = append(ready, heap.Pop(&s.q).(*packet))
		}
		wait := time.Duration(-1)
		if len(s.q) > 0 {
			wait = s.q[0].due.Sub(now)
		}
		s.mu.Unlock()
		for _, p := range ready {
			// A failed send is a lost packet, as on a network.
			_ = s.send(p)
			s.sent.Add(1)
		}
		if len(ready) > 0 {
			continue // sending took time; look again
		}
		var timeout <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			timeout = timer.C
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-timeout:
		}
	}
}

// close stops the sender goroutine and drops what is still held back.
func (s *shaper) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.q = nil
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
}

// ConfigOf returns the impairment of a Net made by Config.Net (ok false
// for any other Net), so a trace can record what was applied.
func ConfigOf(n transport.Net) (Config, bool) {
	in, ok := n.(*impairedNet)
	if !ok {
		return Config{}, false
	}
	return in.cfg, true
}
