package call

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/softphone/softphone/call/protocol"
)

// wsPath is the server's signaling endpoint.
const wsPath = "/v1/ws"

// errClosedByClient ends a connection the engine closed on purpose.
var errClosedByClient = errors.New("connection closed by client")

// normalizeServer turns the configured server into the WebSocket URL:
// http(s) becomes ws(s), a bare host:port gets ws://, and an empty path gets
// /v1/ws.
func normalizeServer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = "ws://127.0.0.1:7800"
	}
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", s, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("server address %q: scheme must be ws, wss, http or https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("server address %q: missing host", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = wsPath
	}
	return u.String(), nil
}

// reply is the outcome of one request.
type reply struct {
	data json.RawMessage
	err  error
}

// pendingRequest waits for its reply. apply, when set, runs on the read loop
// before the next frame is read, so state changes a reply implies (a call's
// channel id, an accept) are in place before any later event is handled.
type pendingRequest struct {
	done  chan reply // capacity 1
	apply func(data json.RawMessage, err error)
}

// conn is one signaling WebSocket: requests correlated to replies by id,
// events handed to onEvent, and a keepalive ping. It owns two goroutines
// (read loop and keepalive) which end when the connection fails or closes.
type conn struct {
	ws      *websocket.Conn
	log     *slog.Logger
	timeout time.Duration
	onEvent func(*protocol.Message)
	// trace, when set, sees every frame sent (out) and received.
	trace func(out bool, b []byte)

	wmu sync.Mutex // one writer at a time

	mu      sync.Mutex
	pending map[string]*pendingRequest
	seq     uint64

	failOnce sync.Once
	err      error         // set before closed is closed
	closed   chan struct{} // closed when the connection is unusable
	wg       sync.WaitGroup
}

// dial opens the WebSocket; it does not log in.
func dial(ctx context.Context, cfg *Config, rawURL string, log *slog.Logger) (*websocket.Conn, error) {
	d := websocket.Dialer{
		HandshakeTimeout: cfg.RequestTimeout,
		NetDialContext:   cfg.DialContext,
		Proxy:            http.ProxyFromEnvironment,
		TLSClientConfig:  cfg.TLS,
	}
	ws, resp, err := d.DialContext(ctx, rawURL, nil)
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
			return nil, fmt.Errorf("server %s refused the WebSocket handshake (HTTP %d): %w", rawURL, resp.StatusCode, err)
		}
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("server %s: its TLS certificate is not trusted (a self-signed CA needs --ca-file): %w", rawURL, err)
		}
		// Without a handshake response nothing answered at that address.
		return nil, fmt.Errorf("server %s is unreachable: %w", rawURL, err)
	}
	ws.SetReadLimit(protocol.MaxMessageSize)
	log.Debug("signaling connected", "url", rawURL)
	return ws, nil
}

func newConn(ws *websocket.Conn, log *slog.Logger, timeout time.Duration, onEvent func(*protocol.Message)) *conn {
	return &conn{
		ws:      ws,
		log:     log,
		timeout: timeout,
		onEvent: onEvent,
		pending: make(map[string]*pendingRequest),
		closed:  make(chan struct{}),
	}
}

// start runs the read loop.
func (c *conn) start() {
	c.wg.Add(1)
	go c.readLoop()
}

// startKeepalive runs the keepalive once logged in (a ping before login
// would be refused); interval <= 0 disables it.
func (c *conn) startKeepalive(interval time.Duration) {
	if interval <= 0 {
		return
	}
	c.wg.Add(1)
	go c.keepalive(interval)
}

func (c *conn) readLoop() {
	defer c.wg.Done()
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.fail(fmt.Errorf("read: %w", err))
			return
		}
		if c.trace != nil {
			c.trace(false, b)
		}
		m, err := protocol.Decode(b)
		if err != nil {
			c.log.Warn("dropping invalid frame from server", "err", err)
			continue
		}
		switch m.Type {
		case protocol.TypeReply:
			c.deliver(m)
		case protocol.TypeEvent:
			c.onEvent(m)
		default:
			c.log.Warn("dropping frame of unknown type", "type", m.Type)
		}
	}
}

func (c *conn) deliver(m *protocol.Message) {
	c.mu.Lock()
	p, ok := c.pending[m.ID]
	delete(c.pending, m.ID)
	c.mu.Unlock()
	if !ok {
		c.log.Debug("reply without a waiting request (timed out?)", "id", m.ID)
		return
	}
	r := reply{data: m.Data}
	if m.Code != protocol.CodeOK {
		r.err = &protocol.Error{Code: m.Code, Message: m.Error}
	}
	if p.apply != nil {
		p.apply(r.data, r.err)
	}
	p.done <- r
}

// keepalive sends an application ping every interval; a missing answer
// means a half-open connection, which is closed so reconnecting starts.
func (c *conn) keepalive(interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
			_, err := c.request(context.Background(), protocol.ReqPing, nil, nil)
			var pe *protocol.Error
			if err != nil && !errors.As(err, &pe) {
				c.fail(fmt.Errorf("keepalive: %w", err))
				return
			}
		}
	}
}

// request sends typ with payload and waits for its reply, the request
// timeout, ctx, or the connection's end. A non-zero reply code is returned
// as *protocol.Error.
func (c *conn) request(ctx context.Context, typ string, payload any, apply func(json.RawMessage, error)) (json.RawMessage, error) {
	await, err := c.begin(typ, payload, apply)
	if err != nil {
		return nil, err
	}
	return await(ctx)
}

// begin writes a request and returns the wait for its reply. The server
// answers a connection's requests in the order they arrive, so requests
// begun one after another take effect in that order without waiting for
// each reply: a media session pipelines its offer and candidates this way.
func (c *conn) begin(typ string, payload any, apply func(json.RawMessage, error)) (func(context.Context) (json.RawMessage, error), error) {
	p := &pendingRequest{done: make(chan reply, 1), apply: apply}
	c.mu.Lock()
	c.seq++
	id := strconv.FormatUint(c.seq, 10)
	c.pending[id] = p
	c.mu.Unlock()

	b, err := protocol.EncodeRequest(id, typ, payload)
	if err != nil {
		c.forget(id)
		return nil, err
	}
	if err := c.write(b); err != nil {
		c.forget(id)
		return nil, fmt.Errorf("send %s: %w", typ, err)
	}
	return func(ctx context.Context) (json.RawMessage, error) {
		timer := time.NewTimer(c.timeout)
		defer timer.Stop()
		var cause error
		select {
		case r := <-p.done:
			return r.data, r.err
		case <-ctx.Done():
			cause = ctx.Err()
		case <-timer.C:
			cause = fmt.Errorf("no reply within %v", c.timeout)
		case <-c.closed:
			cause = fmt.Errorf("connection lost: %w", c.err)
		}
		if !c.forget(id) {
			// The read loop claimed the reply concurrently; its apply already
			// ran, so report the reply rather than the timeout.
			r := <-p.done
			return r.data, r.err
		}
		return nil, fmt.Errorf("%s request: %w", typ, cause)
	}, nil
}

// forget removes a pending request and reports whether it was still there.
func (c *conn) forget(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[id]
	delete(c.pending, id)
	return ok
}

func (c *conn) write(b []byte) error {
	select {
	case <-c.closed:
		return fmt.Errorf("connection lost: %w", c.err)
	default:
	}
	if c.trace != nil {
		c.trace(true, b)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// fail marks the connection dead with err and closes the socket; it never
// waits, so the read loop and keepalive may call it.
func (c *conn) fail(err error) {
	c.failOnce.Do(func() {
		c.err = err
		close(c.closed)
		_ = c.ws.Close()
	})
}

// close says goodbye with a close frame, closes the socket and waits for
// the connection's goroutines.
func (c *conn) close() {
	select {
	case <-c.closed:
	default:
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
		c.wmu.Unlock()
	}
	c.fail(errClosedByClient)
	c.wg.Wait()
}

// failure returns why the connection ended (nil while it is alive).
func (c *conn) failure() error {
	select {
	case <-c.closed:
		return c.err
	default:
		return nil
	}
}
