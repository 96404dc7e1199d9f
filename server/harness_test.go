package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/natstest"
	"github.com/softphone/softphone/server"
)

// waitFor bounds every wait of a test; it is a failure deadline, never an
// asserted timing.
const waitFor = 10 * time.Second

func startServer(t testing.TB, mod func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), ReconnectGrace: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// externalNATS runs a NATS/JetStream server on loopback that several server
// nodes and the test itself connect to.
func externalNATS(t *testing.T) *natsserver.Server { return natstest.Shared(t) }

// clusterNode configures a server as one node on the shared NATS server ns.
func clusterNode(ns *natsserver.Server, node string) func(*server.Config) {
	return func(c *server.Config) {
		c.NATSURL, c.DataDir, c.NodeID = ns.ClientURL(), "", node
		c.AppKey, c.AppSecret = "key", "secret"
		c.Replicas = 1 // a single NATS server
	}
}

func mustUser(t testing.TB, srv *server.Server, account string) string {
	t.Helper()
	tok, err := srv.CreateUser(context.Background(), account, "Nick "+account)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wsClient is a raw protocol client: it speaks JSON frames directly so the
// server is tested without the call engine.
type wsClient struct {
	t       *testing.T
	conn    *websocket.Conn
	wmu     sync.Mutex
	replies chan *protocol.Message
	events  chan *protocol.Message
	done    chan struct{}
	seq     int
	dev     string
	account string
	// closeErr is why the connection ended; read it after done is closed.
	closeErr error
}

func dial(t *testing.T, srv *server.Server) *wsClient {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &wsClient{t: t, conn: conn, replies: make(chan *protocol.Message, 64),
		events: make(chan *protocol.Message, 256), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = conn.Close(); <-c.done })
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.closeErr = err
			return
		}
		var m protocol.Message
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Errorf("server sent invalid JSON: %s", b)
			return
		}
		if m.Type == protocol.TypeEvent {
			c.events <- &m
		} else {
			c.replies <- &m
		}
	}
}

func (c *wsClient) sendRaw(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply waits for the next reply frame.
func (c *wsClient) reply() *protocol.Message {
	c.t.Helper()
	select {
	case m := <-c.replies:
		return m
	case <-time.After(waitFor):
		c.t.Fatal("no reply")
		return nil
	}
}

// do sends a request and returns the reply; out, if set, receives its data.
func (c *wsClient) do(typ string, data any, out any) (*protocol.Message, error) {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("r%d", c.seq)
	b, err := protocol.EncodeRequest(id, typ, data)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
	m := c.reply()
	if m.ID != id {
		c.t.Fatalf("reply id %q, want %q", m.ID, id)
	}
	if m.Code != 0 {
		return m, &protocol.Error{Code: m.Code, Message: m.Error}
	}
	if out != nil {
		if err := json.Unmarshal(m.Data, out); err != nil {
			c.t.Fatalf("decode %s reply: %v", typ, err)
		}
	}
	return m, nil
}

func (c *wsClient) mustDo(typ string, data, out any) {
	c.t.Helper()
	if _, err := c.do(typ, data, out); err != nil {
		c.t.Fatalf("%s: %v", typ, err)
	}
}

func (c *wsClient) wantCode(code protocol.Code, typ string, data any) {
	c.t.Helper()
	_, err := c.do(typ, data, nil)
	if protocol.CodeOf(err) != code {
		c.t.Fatalf("%s: got %v, want code %d", typ, err, code)
	}
}

func (c *wsClient) login(account, token, device string) *protocol.LoginReply {
	c.t.Helper()
	var r protocol.LoginReply
	c.mustDo(protocol.ReqLogin, protocol.Login{Account: account, Token: token, Device: device, CheckSum: true}, &r)
	c.dev, c.account = device, account
	return &r
}

// event waits for the next event and checks its name.
func (c *wsClient) event(name string) *protocol.Message {
	c.t.Helper()
	select {
	case m := <-c.events:
		if m.Event != name {
			c.t.Fatalf("event %s (%s), want %s", m.Event, m.Data, name)
		}
		return m
	case <-time.After(waitFor):
		c.t.Fatalf("no %s event", name)
		return nil
	}
}

func (c *wsClient) peerEvent(name string) *protocol.Peer {
	c.t.Helper()
	var p protocol.Peer
	if err := json.Unmarshal(c.event(name).Data, &p); err != nil {
		c.t.Fatal(err)
	}
	return &p
}

func (c *wsClient) invite() *protocol.Invite {
	c.t.Helper()
	var inv protocol.Invite
	if err := json.Unmarshal(c.event(protocol.EvInvited).Data, &inv); err != nil {
		c.t.Fatal(err)
	}
	return &inv
}

func (c *wsClient) record() *protocol.Record {
	c.t.Helper()
	var r protocol.Record
	if err := json.Unmarshal(c.event(protocol.EvMessageSent).Data, &r); err != nil {
		c.t.Fatal(err)
	}
	return &r
}

// quiet checks that no event is queued after a round trip: every event
// caused by earlier requests is published before their effects are
// observable, so a ping reply fences them.
func (c *wsClient) quiet() {
	c.t.Helper()
	c.mustDo(protocol.ReqPing, nil, nil)
	select {
	case m := <-c.events:
		c.t.Fatalf("unexpected event %s %s", m.Event, m.Data)
	default:
	}
}

func (c *wsClient) call(to string, t protocol.CallType, timeoutMs int64) *protocol.CallReply {
	c.t.Helper()
	var r protocol.CallReply
	c.mustDo(protocol.ReqCall, protocol.Call{To: to, CallType: t, TimeoutMs: timeoutMs}, &r)
	return &r
}

func ref(id string) protocol.ChannelRef { return protocol.ChannelRef{ChannelID: id} }

func (c *wsClient) device() string { return c.dev }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// aliceAndBob creates the accounts alice and bob and logs each in on its
// own connection (devices a1 and b1); it returns the clients and tokens.
func aliceAndBob(t *testing.T, srv *server.Server) (a, b *wsClient, ta, tb string) {
	t.Helper()
	ta, tb = mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	a, b = dial(t, srv), dial(t, srv)
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	return a, b, ta, tb
}
