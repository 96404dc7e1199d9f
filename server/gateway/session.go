package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/softphone/softphone/call/protocol"
)

// session is one device connection. Only its reader goroutine mutates the
// login fields below out; other goroutines go through out, whose lock
// guards the routing identity and the outbound queue.
type session struct {
	g      *Gateway
	conn   *websocket.Conn
	id     string
	opened time.Time

	out    outbox
	closed atomic.Bool
	authed atomic.Bool
	// heard is when the device last spoke (a frame or a pong, unix ms);
	// silent is set when the connection ended because it stopped speaking.
	// A device that vanished is present until heard, not until noticed.
	heard  atomic.Int64
	silent atomic.Bool
	busy   atomic.Bool // a request is being handled
	// ending is set once the server ends the session (see end): nothing it
	// sends is served any more. endReason holds the protocol reason.
	ending    atomic.Bool
	endReason atomic.Value

	account  string
	device   string
	nick     string
	checkSum bool
	// presSession identifies this login in the account's presence entry.
	presSession string
	watching    []string // contacts whose presence this session follows
	inc         string   // incarnation of the account logged in to

	limiter tokenBucket

	passed recordMemory // call records passed on (see firstRecord)
}

func (g *Gateway) newSession(conn *websocket.Conn) *session {
	s := &session{g: g, conn: conn, id: g.nextSessionID(), opened: time.Now(),
		limiter: newTokenBucket(requestRate, requestBurst)}
	conn.SetReadLimit(hardFrameLimit)
	s.heard.Store(s.opened.UnixMilli())
	conn.SetPongHandler(func(string) error {
		s.heard.Store(time.Now().UnixMilli())
		return conn.SetReadDeadline(time.Now().Add(readTimeout))
	})
	return s
}

func (s *session) loggedIn() bool { return s.authed.Load() }

func (s *session) writeError(id string, err error) { s.send(protocol.EncodeError(id, err)) }

// close closes the connection once; the reader then cleans up, and the
// writer, if any, fails its write and exits.
func (s *session) close() {
	if s.closed.CompareAndSwap(false, true) {
		s.out.mu.Lock()
		s.dropLocked()
		s.out.mu.Unlock()
		_ = s.conn.Close()
	}
}

// run is the reader loop. Frames larger than MaxMessageSize are drained and
// answered with 413 so the connection survives; only frames beyond the hard
// limit (4x) make gorilla close it. The frame buffer comes from a pool and
// goes back before the next read blocks, so an idle connection holds none.
func (s *session) run(ctx context.Context) {
	defer s.cleanup()
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(readTimeout))
		typ, r, err := s.conn.NextReader()
		if err != nil {
			var ne net.Error
			s.silent.Store(errors.As(err, &ne) && ne.Timeout())
			return
		}
		s.heard.Store(time.Now().UnixMilli())
		if !s.readFrame(ctx, typ, r) {
			return
		}
	}
}

// readFrame reads and answers one frame; false means the connection failed.
func (s *session) readFrame(ctx context.Context, typ int, r io.Reader) bool {
	buf := s.g.readBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4*frameReadBufSize {
			buf.Reset()
			s.g.readBufs.Put(buf)
		}
	}()
	n, err := buf.ReadFrom(io.LimitReader(r, protocol.MaxMessageSize+1))
	if err != nil {
		return false
	}
	if n > protocol.MaxMessageSize {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return false
		}
		s.writeError("", protocol.Errorf(protocol.CodeTooLarge, "message exceeds %d bytes", protocol.MaxMessageSize))
		return true
	}
	if typ != websocket.TextMessage {
		s.writeError("", protocol.Errorf(protocol.CodeBadRequest, "only JSON text frames are accepted"))
		return true
	}
	s.handleFrame(ctx, buf.Bytes())
	return true
}

// handleFrame validates one frame and answers it with exactly one reply.
func (s *session) handleFrame(ctx context.Context, frame []byte) {
	if s.ending.Load() {
		return // ended by the server: its notice and close frame are on the way
	}
	s.busy.Store(true)
	defer func() {
		s.busy.Store(false)
		s.closeIfSettled()
	}()
	m, err := protocol.Decode(frame)
	if err != nil {
		id := ""
		if m != nil {
			id = m.ID
		}
		s.writeError(id, err)
		return
	}
	if !s.limiter.allow(time.Now()) {
		s.writeError(m.ID, protocol.Errorf(protocol.CodeRateLimited, "more than %d requests per second", requestRate))
		return
	}
	payload, err := protocol.ParseRequest(m)
	if err != nil {
		s.writeError(m.ID, err)
		return
	}
	if !s.loggedIn() && m.Type != protocol.ReqLogin {
		s.writeError(m.ID, protocol.Errorf(protocol.CodeNotLoggedIn, "log in first"))
		return
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	reply, after, err := s.handleSafely(rctx, m.Type, payload)
	if err == nil {
		var b []byte
		if b, err = protocol.EncodeReply(m.ID, reply); err == nil {
			s.send(b)
		}
	}
	if err != nil {
		if pe := (*protocol.Error)(nil); !errors.As(err, &pe) {
			// A store or NATS failure: the details stay in the log.
			s.g.log.Error("request failed", "type", m.Type, "account", s.account, "err", err)
			err = protocol.Errorf(protocol.CodeUnavailable, "server state unavailable, try again")
		}
		s.writeError(m.ID, err)
	}
	// after runs even if the reply could not be encoded: what the request
	// did has happened, and a login must not keep its events held.
	if after != nil {
		after()
	}
}

// handleSafely runs handle and turns a panic into an internal error, so a
// bug answers one request with 500 instead of leaving it unanswered and
// dropping the connection.
func (s *session) handleSafely(ctx context.Context, typ string, p any) (reply any, after func(), err error) {
	defer func() {
		if v := recover(); v != nil {
			s.g.log.Error("request handler panicked", "type", typ, "account", s.account, "panic", v, "stack", string(debug.Stack()))
			reply, err = nil, protocol.Errorf(protocol.CodeInternal, "internal server error")
			after = s.settleAfterPanic
		}
	}()
	return s.handle(ctx, typ, p)
}

// settleAfterPanic settles a login that a panic interrupted: its reply
// said it failed, so the session must not stay logged in or routed. After
// any other request it changes nothing.
func (s *session) settleAfterPanic() {
	if !s.loginInProgress() {
		return
	}
	if s.loggedIn() {
		s.leave(true)
		return
	}
	s.g.removeLocal(s)
	s.clearIdentity()
}

// handle dispatches a parsed request. after, when set, runs once the reply
// is queued, so events caused by a request never overtake its reply.
func (s *session) handle(ctx context.Context, typ string, p any) (reply any, after func(), err error) {
	switch typ {
	case protocol.ReqLogin:
		return s.login(ctx, p.(*protocol.Login))
	case protocol.ReqLogout:
		return s.logout(ctx)
	case protocol.ReqPing:
		return protocol.PingReply{ServerTime: time.Now().UnixMilli()}, nil, nil
	case protocol.ReqCall:
		return s.call(ctx, p.(*protocol.Call))
	case protocol.ReqCancel:
		return s.cancelCall(ctx, p.(*protocol.ChannelRef))
	case protocol.ReqAccept:
		return s.accept(ctx, p.(*protocol.ChannelRef))
	case protocol.ReqReject:
		return s.reject(ctx, p.(*protocol.ChannelRef))
	case protocol.ReqHangup:
		return s.hangup(ctx, p.(*protocol.ChannelRef))
	case protocol.ReqSwitch:
		return s.switchType(ctx, p.(*protocol.Switch))
	case protocol.ReqRelay:
		return s.relay(ctx, p.(*protocol.Relay))
	case protocol.ReqContacts:
		r, err := s.contacts(ctx)
		return r, nil, err
	case protocol.ReqContactAdd:
		r, err := s.addContact(ctx, p.(*protocol.ContactRef).Account)
		return r, nil, err
	case protocol.ReqContactRemove:
		r, err := s.removeContact(ctx, p.(*protocol.ContactRef).Account)
		return r, nil, err
	case protocol.ReqRecords:
		r, err := s.records(ctx, p.(*protocol.RecordsQuery))
		return r, nil, err
	case protocol.ReqICEServers:
		servers, exp := s.g.iceServers(s)
		if servers == nil {
			servers = []protocol.ICEServer{}
		}
		return protocol.ICEServersReply{ICEServers: servers, ExpiresAt: exp, ServerTime: time.Now().UnixMilli()}, nil, nil
	}
	return nil, nil, protocol.Errorf(protocol.CodeBadRequest, "unknown request type %q", typ)
}

// cleanup runs when the reader ends: the device leaves routing and its
// presence is marked gone, which starts the reconnect grace of its call.
func (s *session) cleanup() {
	s.close()
	s.g.forget(s)
	if !s.loggedIn() {
		return
	}
	if !s.ending.Load() {
		s.leave(false)
		return
	}
	// Ended by the server (token reset, account removed): no reconnect
	// grace, the device's calls end now, as after a logout.
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	after := s.endCalls(ctx)
	s.leave(true)
	if after != nil {
		after()
	}
}
