package gateway

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/softphone/softphone/call/protocol"
)

// session is one device connection. Only its reader goroutine mutates the
// login fields; other goroutines read them after finding the session in the
// gateway's maps (under the gateway lock), which orders the accesses.
type session struct {
	g      *Gateway
	conn   *websocket.Conn
	id     string
	opened time.Time

	wmu    sync.Mutex // serialises writes; there is no writer goroutine
	closed atomic.Bool
	authed atomic.Bool

	account string
	device  string
	// routeDevice is device as the dispatchers read it: they may still hold
	// a session that logged out and in again on this connection.
	routeDevice atomic.Pointer[string]
	nick        string
	checkSum    bool
	presRev     uint64
	watching    []string // contacts whose presence this session follows

	limiter tokenBucket
}

func (g *Gateway) newSession(conn *websocket.Conn) *session {
	s := &session{g: g, conn: conn, id: g.nextSessionID(), opened: time.Now(),
		limiter: newTokenBucket(requestRate, requestBurst)}
	conn.SetReadLimit(hardFrameLimit)
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(readTimeout))
	})
	return s
}

func (s *session) loggedIn() bool { return s.authed.Load() }

// write sends one text frame; a failed or slow write closes the connection
// (its reader then cleans up).
func (s *session) write(frame []byte) {
	if s.closed.Load() {
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		s.close()
	}
}

func (s *session) writeError(id string, err error) { s.write(protocol.EncodeError(id, err)) }

func (s *session) ping() {
	if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
		s.close()
	}
}

func (s *session) close() {
	if s.closed.CompareAndSwap(false, true) {
		_ = s.conn.Close()
	}
}

// run is the reader loop. Frames larger than MaxMessageSize are drained and
// answered with 413 so the connection survives; only frames beyond the hard
// limit (4x) make gorilla close it.
func (s *session) run(ctx context.Context) {
	defer s.cleanup()
	var buf bytes.Buffer
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(readTimeout))
		typ, r, err := s.conn.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		n, err := buf.ReadFrom(io.LimitReader(r, protocol.MaxMessageSize+1))
		if err != nil {
			return
		}
		if n > protocol.MaxMessageSize {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			s.writeError("", protocol.Errorf(protocol.CodeTooLarge, "message exceeds %d bytes", protocol.MaxMessageSize))
			continue
		}
		if typ != websocket.TextMessage {
			s.writeError("", protocol.Errorf(protocol.CodeBadRequest, "only JSON text frames are accepted"))
			continue
		}
		s.handleFrame(ctx, buf.Bytes())
		if buf.Cap() > 4*frameReadBufSize {
			buf = bytes.Buffer{} // do not pin a large buffer on an idle connection
		}
	}
}

// handleFrame validates one frame and answers it with exactly one reply.
func (s *session) handleFrame(ctx context.Context, frame []byte) {
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
	reply, after, err := s.handle(rctx, m.Type, payload)
	if err != nil {
		if protocol.CodeOf(err) == protocol.CodeInternal {
			s.g.log.Error("request failed", "type", m.Type, "account", s.account, "err", err)
			err = protocol.Errorf(protocol.CodeUnavailable, "server state unavailable, try again")
		}
		s.writeError(m.ID, err)
		return
	}
	b, err := protocol.EncodeReply(m.ID, reply)
	if err != nil {
		s.writeError(m.ID, err)
		return
	}
	s.write(b)
	if after != nil {
		after()
	}
}

// handle dispatches a parsed request. after, when set, runs once the reply
// is written, so events caused by a request never overtake its reply.
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
	}
	return nil, nil, protocol.Errorf(protocol.CodeBadRequest, "unknown request type %q", typ)
}

// cleanup runs when the reader ends: the device leaves routing and its
// presence is marked gone, which starts the reconnect grace of its call.
func (s *session) cleanup() {
	s.close()
	s.g.forget(s)
	if s.loggedIn() {
		s.leave(false)
	}
}
