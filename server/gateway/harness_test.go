package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/natstest"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// waitFor bounds every wait; it turns a hang into a failure and is never an
// asserted timing.
const waitFor = 10 * time.Second

// testGateway is a gateway on an embedded NATS/JetStream server, served over
// a real HTTP listener. Tests of this package use it to reach points of the
// gateway (hooks, a session's outbox) that no client can reach on demand.
type testGateway struct {
	*Gateway
	t   *testing.T
	st  *store.Store
	url string
	log *syncBuffer
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startGateway runs a debug-mode gateway; mod may change it before Start.
func startGateway(t *testing.T, mod func(g *Gateway)) *testGateway {
	t.Helper()
	ns := natstest.Run(t, &natsserver.Options{DontListen: true, JetStream: true, StoreDir: t.TempDir()})
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := store.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	g := New(Config{
		Store: st, Conn: nc, Signer: auth.NewChannelSigner("test secret"), NodeID: "n1", Debug: true,
		ReconnectGrace: time.Second, ChannelTokenTTL: time.Minute,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if mod != nil {
		mod(g)
	}
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(g)
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("gateway close: %v", err)
		}
		hs.Close()
	})
	return &testGateway{Gateway: g, t: t, st: st, url: "ws" + strings.TrimPrefix(hs.URL, "http"), log: logs}
}

func (tg *testGateway) user(account string) {
	tg.t.Helper()
	err := tg.st.CreateAccount(context.Background(), &store.Account{
		Account: account, TokenHash: auth.HashToken("token-" + account), CreatedAt: time.Now().UTC()})
	if err != nil {
		tg.t.Fatal(err)
	}
}

// session returns the local session of account's device.
func (tg *testGateway) session(account, device string) *session {
	tg.t.Helper()
	for _, s := range tg.sessionsOf(account) {
		if s.routedAs(account, device) {
			return s
		}
	}
	tg.t.Fatalf("no session %s/%s", account, device)
	return nil
}

// publishEvent sends an event to the devices of account through NATS, the
// way every event travels.
func (tg *testGateway) publishEvent(account, event string, payload any) {
	tg.t.Helper()
	b, err := protocol.EncodeEvent(event, payload)
	if err != nil {
		tg.t.Fatal(err)
	}
	tg.publish(account, b, route{})
}

// rawClient reads frames in the test goroutine, in order, so a test sees
// exactly which frame came first.
type rawClient struct {
	t    *testing.T
	conn *websocket.Conn
	seq  int
}

func dialRaw(t *testing.T, url string, dialer *websocket.Dialer) *rawClient {
	t.Helper()
	if dialer == nil {
		dialer = websocket.DefaultDialer
	}
	conn, _, err := dialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, conn: conn}
}

// send writes a request and returns its id.
func (c *rawClient) send(typ string, data any) string {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("r%d", c.seq)
	b, err := protocol.EncodeRequest(id, typ, data)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
	return id
}

// next reads the next frame, whatever it is.
func (c *rawClient) next() *protocol.Message {
	c.t.Helper()
	m, err := c.tryNext()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *rawClient) tryNext() (*protocol.Message, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m protocol.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("invalid frame %s: %w", b, err)
	}
	return &m, nil
}

// reply reads the next frame and checks that it is the reply to id.
func (c *rawClient) reply(id string) *protocol.Message {
	c.t.Helper()
	m := c.next()
	if m.Type != protocol.TypeReply || m.ID != id {
		c.t.Fatalf("got %s %s %s (%s), want the reply to %s", m.Type, m.ID, m.Event, m.Data, id)
	}
	return m
}

// event reads the next frame and checks that it is event name.
func (c *rawClient) event(name string) *protocol.Message {
	c.t.Helper()
	m := c.next()
	if m.Type != protocol.TypeEvent || m.Event != name {
		c.t.Fatalf("got %s %s %s (%s), want event %s", m.Type, m.ID, m.Event, m.Data, name)
	}
	return m
}

func (c *rawClient) do(typ string, data any) *protocol.Message {
	c.t.Helper()
	m := c.reply(c.send(typ, data))
	if m.Code != 0 {
		c.t.Fatalf("%s: %s (code %d)", typ, m.Error, m.Code)
	}
	return m
}

// login logs in without a token (the test gateway runs in debug mode).
func (c *rawClient) login(account, device string) {
	c.t.Helper()
	c.do(protocol.ReqLogin, protocol.Login{Account: account, Device: device})
}

// quiet checks that the next frame is the reply to a ping: nothing else was
// queued before it.
func (c *rawClient) quiet() {
	c.t.Helper()
	c.do(protocol.ReqPing, nil)
}

// smallBufferDialer dials with a small socket receive buffer, so a client
// that stops reading stalls the server's writes early.
func smallBufferDialer() *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: waitFor,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			return c, nil
		},
	}
}

// waitUntil polls cond until it holds; the deadline only turns a hang into
// a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
