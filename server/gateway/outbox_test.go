package gateway

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// outboxState reads a session's queue accounting.
func outboxState(s *session) (frames, bytes int, writing, closed bool) {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.frames, s.out.bytes, s.out.writing, s.out.closed
}

// TestSlowClientDoesNotHoldUpOthers stalls a client that stops reading (with
// a write deadline so long that a write blocked on it would never return in
// the test), then checks that an account routed by the same dispatcher
// still gets its events, in order; and that the stalled session is closed,
// and logged, once its queue passes the bound, never buffering more.
func TestSlowClientDoesNotHoldUpOthers(t *testing.T) {
	tg := startGateway(t, func(g *Gateway) { g.writeTimeout = time.Hour })
	tg.user("slow")
	fast := ""
	for i := 0; fast == ""; i++ {
		if name := fmt.Sprintf("fast%d", i); tg.shardFor(name) == tg.shardFor("slow") {
			fast = name
		}
	}
	tg.user(fast)

	slow := dialRaw(t, tg.url, smallBufferDialer())
	slow.login("slow", "s1")
	ss := tg.session("slow", "s1")
	if tc, ok := ss.conn.NetConn().(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	f := dialRaw(t, tg.url, nil)
	f.login(fast, "f1")

	// Far more than the two sockets' buffers take, far less than the queue
	// bound: the slow session's writer blocks with frames queued.
	big := strings.Repeat("x", 32<<10)
	bigEvent := &protocol.RelayEvent{ChannelID: "c", From: "x", FromDevice: "y", Kind: "offer", Payload: json.RawMessage(`"` + big + `"`)}
	for range 20 {
		tg.publishEvent("slow", protocol.EvRelay, bigEvent)
	}
	waitUntil(t, "the slow client's writer is stuck with frames queued", func() bool {
		frames, _, _, _ := outboxState(ss)
		return frames >= 10
	})

	const n = 100
	for i := range n {
		tg.publishEvent(fast, protocol.EvPresence, &protocol.Presence{Account: fmt.Sprint(i), Presence: protocol.PresenceOnline})
	}
	for i := range n {
		var p protocol.Presence
		if err := json.Unmarshal(f.event(protocol.EvPresence).Data, &p); err != nil || p.Account != fmt.Sprint(i) {
			t.Fatalf("event %d: %+v %v", i, p, err)
		}
	}
	if _, _, _, closed := outboxState(ss); closed {
		t.Fatal("the slow session was closed before the other account got its events")
	}

	// Past the bound the slow session is dropped rather than buffered.
	for range 2 * tg.queueBytes / len(big) {
		tg.publishEvent("slow", protocol.EvRelay, bigEvent)
		frames, bytes, _, _ := outboxState(ss)
		if frames > tg.queueFrames || bytes > tg.queueBytes {
			t.Fatalf("outbox holds %d frames, %d bytes: over the bound", frames, bytes)
		}
	}
	waitUntil(t, "the slow session is closed", func() bool {
		_, _, _, closed := outboxState(ss)
		return closed
	})
	for {
		if _, err := slow.tryNext(); err != nil {
			break // the server closed it; whatever was in the socket was read first
		}
	}
	if !strings.Contains(tg.log.String(), "too slow") {
		t.Fatalf("closing the slow client was not logged:\n%s", tg.log)
	}
	f.quiet()
}

// TestIdleConnectionCost logs in many connections from bare sockets (no
// client-side goroutines or buffers in this process) and measures what the
// server keeps for them once idle: one goroutine each, the reader, and
// well under the 20 KB design target of memory.
func TestIdleConnectionCost(t *testing.T) {
	tg := startGateway(t, nil)
	const n = 200
	for i := range n {
		tg.user(fmt.Sprintf("idle%d", i))
	}
	addr := strings.TrimPrefix(tg.url, "ws://")
	// One connection first so that lazily created state (pools, NATS
	// subscription machinery) does not count.
	warm := dialBare(t, addr)
	warm.login(t, "idle0", "warm")

	settle := func() (goroutines int, mem uint64) {
		var ms runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc + ms.StackInuse
	}
	g0, m0 := settle()
	conns := make([]*bareConn, n)
	for i := range conns {
		conns[i] = dialBare(t, addr)
		conns[i].login(t, fmt.Sprintf("idle%d", i), "d")
	}
	waitUntil(t, "no writer runs", func() bool {
		for i := range n {
			for _, s := range tg.sessionsOf(fmt.Sprintf("idle%d", i)) {
				if frames, _, writing, _ := outboxState(s); frames > 0 || writing {
					return false
				}
			}
		}
		return true
	})
	g1, m1 := settle()
	// One reader each; the slack is for goroutines of NATS and JetStream
	// that come and go, far too few to be a writer per connection.
	if extra := g1 - g0; extra > n+n/10 {
		t.Errorf("%d idle connections run %d goroutines, want one each", n, extra)
	}
	perConn := int64(m1-m0) / n
	t.Logf("idle connection: %d bytes (heap+stacks)", perConn)
	limit := int64(20 << 10)
	if raceEnabled {
		limit = limit * 3 / 2 // the race detector's bookkeeping inflates heap and stacks
	}
	if perConn > limit {
		t.Errorf("an idle connection costs %d bytes, want < %d", perConn, limit)
	}
	runtime.KeepAlive(conns)
}

// bareConn is a WebSocket client on a plain socket, written by hand so it
// costs nothing in the test process beyond the socket.
type bareConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialBare(t *testing.T, addr string) *bareConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(waitFor))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	return &bareConn{c: c, br: br}
}

// login sends a masked text frame and reads the server's unmasked reply.
func (b *bareConn) login(t *testing.T, account, device string) {
	t.Helper()
	payload, err := protocol.EncodeRequest("1", protocol.ReqLogin, protocol.Login{Account: account, Device: device})
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{0x81, 0x80 | 126, 0, 0}
	binary.BigEndian.PutUint16(frame[2:], uint16(len(payload)))
	frame = append(frame, 0, 0, 0, 0) // a zero mask leaves the payload as is
	if _, err := b.c.Write(append(frame, payload...)); err != nil {
		t.Fatal(err)
	}
	var hdr [2]byte
	size := 0
	for {
		if _, err := io.ReadFull(b.br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		size = int(hdr[1] & 0x7f)
		if hdr[0]&0x08 == 0 {
			break
		}
		// A control frame (the server's ping may come first): skip it.
		if _, err := io.CopyN(io.Discard, b.br, int64(size)); err != nil {
			t.Fatal(err)
		}
	}
	switch size {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(b.br, ext[:]); err != nil {
			t.Fatal(err)
		}
		size = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		t.Fatal("unexpectedly large reply")
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(b.br, body); err != nil {
		t.Fatal(err)
	}
	var m protocol.Message
	if err := json.Unmarshal(body, &m); err != nil || m.Type != protocol.TypeReply || m.Code != 0 {
		t.Fatalf("login reply %s: %v", body, err)
	}
	_ = b.c.SetDeadline(time.Time{})
}
