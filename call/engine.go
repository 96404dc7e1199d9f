// Package call is the softphone client engine: a NeCallKit-shaped API
// (Login, Call, Accept, Reject, Cancel, Hangup, SwitchCallType, On/Off) over
// the signaling protocol of package call/protocol, with the kit's call
// state machine, an event bus, and automatic reconnection.
package call

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/rtc"
	"github.com/softphone/softphone/call/trace"
)

// Config configures an Engine. The zero value works against a local server.
type Config struct {
	// Server is ws://host:port or ws://host:port/v1/ws (the path is added
	// when empty); http(s) URLs are turned into ws(s). Several servers may
	// be listed, comma-separated: the engine fails over between them (see
	// failover.go).
	Server string
	// Device identifies this device across reconnects; default random per
	// Engine.
	Device string
	// CheckSum selects secure mode (token required); nil means true.
	CheckSum *bool
	// Language is "zh" (default) or "en": texts of MESSAGE_SENT records.
	Language string
	Logger   *slog.Logger
	// RequestTimeout bounds each request's wait for its reply; default 10s.
	RequestTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff (with
	// jitter); defaults 200ms and 5s.
	ReconnectMin, ReconnectMax time.Duration
	// PingInterval is the keepalive period; default 15s, negative disables.
	PingInterval time.Duration
	// DialContext, when set, opens the TCP connections (tests use it to cut
	// a live connection; proxies and custom transports too).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS configures wss:// connections (e.g. RootCAs with the CA of a
	// self-signed server certificate); nil uses the system's roots.
	TLS *tls.Config
	// Media, when set, gives every connected call a WebRTC media session
	// (capture, playback, recording, stats); nil keeps the engine
	// signaling-only.
	Media *MediaConfig
	// Trace, when set, records signaling frames, events, state transitions,
	// ICE candidates and STATS, with secrets redacted (see trace_hooks.go).
	// Several engines may share one; the engine flushes it on Close, the
	// caller closes it.
	Trace *trace.Writer
}

func (c *Config) withDefaults() {
	if c.Device == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.Device = "d" + hex.EncodeToString(b[:])
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = 200 * time.Millisecond
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 5 * time.Second
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.PingInterval == 0 {
		c.PingInterval = 15 * time.Second
	}
	c.Language = normLanguage(c.Language)
}

func (c *Config) checkSum() bool { return c.CheckSum == nil || *c.CheckSum }

// session is one Login: it lives until Logout, Close, or a refused re-login,
// across any number of connections.
type session struct {
	account string
	token   string
	ctx     context.Context // ends the supervisor
	cancel  context.CancelFunc
	done    chan struct{} // closed when the supervisor has returned
	// endedBy is set (under Engine.mu) when the server ended the session
	// for good (SESSION_ENDED): the supervisor then gives up instead of
	// reconnecting.
	endedBy *protocol.SessionEnded
}

// Engine is one device's call engine. Create it with New, release it with
// Close. All methods are safe for concurrent use.
type Engine struct {
	cfg    Config
	url    string   // the server list, for logs
	urls   []string // every server; the next attempt goes to urls[next]
	next   int      // guarded by mu
	urlErr error
	log    *slog.Logger
	bus    *bus

	ctx    context.Context // the Engine's lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the Engine owns

	lifecycle sync.Mutex // serialises Login, Logout and Close
	closeOnce sync.Once

	mu          sync.Mutex
	closed      bool
	sess        *session
	conn        *conn // nil while disconnected
	account     string
	login       protocol.LoginReply
	ice         iceCreds // from the login reply, refreshed on demand
	callTimeout time.Duration
	state       protocol.CallState
	cur         *CallInfo
	invite      *protocol.Invite
	early       []earlyEvent
	seen        map[string]struct{}
	seenOrder   []string
	records     recordBook // MESSAGE_SENT once per call (record_delivery.go)

	// Media (see media_controls.go).
	media      *rtc.Session
	earlyRelay []protocol.RelayEvent // negotiation that beat our session's start
	micMuted   bool
	camOff     bool
	camEntry   string // the camera SwitchCamera last chose (VideoIn syntax)
	frames     *rtc.FrameSlot

	tr *engineTracer // nil without Config.Trace
}

// New creates an engine and starts its event delivery. It does not connect;
// call Login.
func New(cfg Config) *Engine {
	cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger.With("device", cfg.Device),
		ctx:    ctx,
		cancel: cancel,
		seen:   make(map[string]struct{}),
		frames: rtc.NewFrameSlot(),
	}
	e.urls, e.urlErr = normalizeServers(cfg.Server)
	if e.urlErr == nil {
		e.url = strings.Join(e.urls, ",")
	}
	e.bus = newBus(e.log)
	e.startTrace()
	e.bus.run(ctx, &e.wg)
	return e
}

// On registers h for events called name (AllEvents, "*", for every event).
// Handlers run one at a time on the engine's dispatcher goroutine, in
// emission order; a slow handler delays later handlers, never the engine.
func (e *Engine) On(name string, h func(Event)) HandlerID { return e.bus.on(name, h) }

// Off removes the handler id registered for name; id 0 removes all of
// name's handlers.
func (e *Engine) Off(name string, id HandlerID) { e.bus.off(name, id) }

// Events returns a channel carrying every event from New on, in order. It is
// fed from an unbounded queue, so a consumer that reads slowly (or not at
// all) never blocks the engine. It is closed by Close.
func (e *Engine) Events() <-chan Event { return e.bus.out }

// Device returns this engine's device id.
func (e *Engine) Device() string { return e.cfg.Device }

// Account returns the logged-in account ("" before Login).
func (e *Engine) Account() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.account
}

// State returns the current call state.
func (e *Engine) State() protocol.CallState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// CurrentCall returns the current call, if any.
func (e *Engine) CurrentCall() (CallInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return CallInfo{}, false
	}
	return *e.cur, true
}

// Session returns the last login reply (zero before Login).
func (e *Engine) Session() protocol.LoginReply {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.login
}

// Connected reports whether the signaling connection is up.
func (e *Engine) Connected() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conn != nil
}

// Login connects to the server and logs account in. A wrong or expired
// token yields the server's *protocol.Error (code 401); an unreachable
// server an error saying so. After a successful Login the engine keeps the
// session alive and reconnects on its own until Logout or Close.
func (e *Engine) Login(ctx context.Context, account, token string) error {
	if e.urlErr != nil {
		return e.urlErr
	}
	if !protocol.ValidID(account) {
		return protocol.Errorf(protocol.CodeBadRequest, "account %q: must be 1-64 characters of A-Z a-z 0-9 _ -", account)
	}
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return errors.New("login: engine closed")
	case e.sess != nil:
		acc := e.account
		e.mu.Unlock()
		return fmt.Errorf("login: already logged in as %s", acc)
	}
	e.account = account
	e.mu.Unlock()
	e.tr.login(account, token)

	sctx, cancel := context.WithCancel(e.ctx)
	s := &session{account: account, token: token, ctx: sctx, cancel: cancel, done: make(chan struct{})}
	var (
		c   *conn
		err error
	)
	// Each configured server once, until one takes the login.
	for range e.serverCount() {
		if c, err = e.connect(ctx, s, 0); err == nil || permanentLoginError(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		cancel()
		return fmt.Errorf("login %s: %w", account, err)
	}
	e.mu.Lock()
	e.sess = s
	e.mu.Unlock()
	e.wg.Add(1)
	go e.supervise(s, c)
	e.log.Info("logged in", "account", account, "server", e.url)
	return nil
}

// connect dials, logs in and installs the connection. attempt > 0 marks a
// reconnect, which emits RECONNECTED. Reconciliation with the server's view
// (LoginReply.Calls) runs on the read loop before any later event.
func (e *Engine) connect(ctx context.Context, s *session, attempt int) (*conn, error) {
	url := e.serverURL()
	ws, err := dial(ctx, &e.cfg, url, e.log)
	if err != nil {
		e.nextServer(url)
		return nil, err
	}
	c := newConn(ws, e.log, e.cfg.RequestTimeout, e.handleEvent)
	if e.tr != nil {
		c.trace = e.tr.frame
	}
	c.start()
	req := protocol.Login{Account: s.account, Token: s.token, Device: e.cfg.Device, CheckSum: e.cfg.checkSum(), Client: "softphone-call/" + fmt.Sprint(protocol.Version)}
	_, err = c.request(ctx, protocol.ReqLogin, req, func(data json.RawMessage, rerr error) {
		if rerr != nil {
			return
		}
		var lr protocol.LoginReply
		if err := json.Unmarshal(data, &lr); err != nil {
			e.log.Warn("login reply not understood", "err", err)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if s.ctx.Err() != nil || e.closed {
			return
		}
		e.conn = c
		e.login = lr
		e.ice = newICECreds(lr.ICEServers, lr.ICEExpiresAt, lr.ServerTime, time.Now())
		if attempt > 0 {
			e.bus.emit(EvReconnected, ReconnectInfo{Account: s.account, Device: e.cfg.Device, Attempts: attempt, State: e.stateAfter(lr.Calls)})
		}
		e.reconcileLocked(lr.Calls)
	})
	if err == nil && s.ctx.Err() != nil {
		err = s.ctx.Err()
	}
	if err != nil {
		e.mu.Lock()
		if e.conn == c {
			e.conn = nil
		}
		e.mu.Unlock()
		c.close()
		if !permanentLoginError(err) {
			e.nextServer(url) // this server cannot serve the login now
		}
		return nil, err
	}
	c.startKeepalive(e.cfg.PingInterval)
	return c, nil
}

// stateAfter predicts the state reconcileLocked will leave, for the
// RECONNECTED event emitted just before it.
func (e *Engine) stateAfter(calls []protocol.ChannelState) string {
	if e.cur == nil || e.cur.ChannelID == "" {
		return e.state.String()
	}
	for _, cs := range calls {
		if cs.ChannelID == e.cur.ChannelID && cs.State != protocol.ChannelEnded {
			if cs.State == protocol.ChannelActive {
				return protocol.StateInCall.String()
			}
			return e.state.String()
		}
	}
	return protocol.StateIdle.String()
}

// handleEvent runs on the read loop for every event frame.
func (e *Engine) handleEvent(m *protocol.Message) {
	data, err := protocol.ParseEvent(m)
	if err != nil {
		e.log.Warn("dropping event", "event", m.Event, "err", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.handleEventLocked(m.Event, data)
}

// Logout ends the session: it tells the server, closes the connection and
// stops reconnecting. The call state returns to idle. Logging out while
// logged out is a no-op.
func (e *Engine) Logout(ctx context.Context) error {
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	return e.logoutLocked(ctx)
}

func (e *Engine) logoutLocked(ctx context.Context) error {
	e.mu.Lock()
	s := e.sess
	e.mu.Unlock()
	if s == nil {
		return nil
	}
	s.cancel()
	<-s.done
	e.mu.Lock()
	c := e.conn
	e.conn = nil
	e.sess = nil
	e.toIdleLocked()
	e.mu.Unlock()
	if c == nil {
		return nil
	}
	_, err := c.request(ctx, protocol.ReqLogout, nil, nil)
	c.close()
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	e.log.Info("logged out", "account", s.account)
	return nil
}

// Close logs out (briefly waiting for the server) and releases every
// goroutine of the engine; the Events channel is closed. The engine cannot
// be used afterwards. Close waits for the event dispatcher, so it must not be
// called from an event handler.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), min(e.cfg.RequestTimeout, 2*time.Second))
		defer cancel()
		e.lifecycle.Lock()
		err = e.logoutLocked(ctx)
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		e.lifecycle.Unlock()
		e.cancel()
		e.wg.Wait()
		e.tr.closed()
	})
	return err
}

// send issues a request on the current connection.
func (e *Engine) send(ctx context.Context, typ string, payload any, apply func(json.RawMessage, error)) (json.RawMessage, error) {
	await, err := e.begin(typ, payload, apply)
	if err != nil {
		return nil, err
	}
	return await(ctx)
}

// begin writes a request on the current connection and returns the wait
// for its reply (conn.begin).
func (e *Engine) begin(typ string, payload any, apply func(json.RawMessage, error)) (func(context.Context) (json.RawMessage, error), error) {
	e.mu.Lock()
	c, s := e.conn, e.sess
	e.mu.Unlock()
	if s == nil {
		return nil, protocol.Errorf(protocol.CodeNotLoggedIn, "not logged in")
	}
	if c == nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "signaling connection lost; reconnecting")
	}
	return c.begin(typ, payload, apply)
}

// isChannelGone reports codes meaning the channel can no longer be acted on
// by this device.
func isChannelGone(err error) bool {
	switch protocol.CodeOf(err) {
	case protocol.CodeChannelNotFound, protocol.CodeInviteExpired, protocol.CodeAlreadyRejected,
		protocol.CodeAlreadyAccepted, protocol.CodeNotInChannel:
		return true
	}
	return false
}

// SetCallTimeout sets the ring timeout of the next Call (1s..120s). The
// server enforces it.
func (e *Engine) SetCallTimeout(d time.Duration) error {
	if d < protocol.MinCallTimeout || d > protocol.MaxCallTimeout {
		return protocol.Errorf(protocol.CodeBadRequest, "call timeout %v: must be between %v and %v", d, protocol.MinCallTimeout, protocol.MaxCallTimeout)
	}
	e.mu.Lock()
	e.callTimeout = d
	e.mu.Unlock()
	return nil
}

// Call invites userID. On success the state is calling until an answer
// event (USER_ACCEPT, USER_REJECT, USER_BUSY, CALLING_TIMEOUT) arrives.
func (e *Engine) Call(ctx context.Context, userID string, t protocol.CallType, attachment json.RawMessage) (*protocol.CallReply, error) {
	e.mu.Lock()
	if err := protocol.CheckState(protocol.OpCall, e.state); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if e.sess == nil {
		e.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeNotLoggedIn, "not logged in")
	}
	if !t.Valid() {
		e.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeCallTypeNA, "call type %d: must be 1 (audio) or 2 (video)", t)
	}
	ci := &CallInfo{Peer: userID, CallType: t, Outgoing: true}
	e.state = protocol.StateCalling
	e.cur = ci
	e.tr.stateLocked(e.state, e.cur)
	req := protocol.Call{To: userID, CallType: t, Attachment: attachment, TimeoutMs: e.callTimeout.Milliseconds()}
	e.mu.Unlock()

	var cr protocol.CallReply
	_, err := e.send(ctx, protocol.ReqCall, req, func(data json.RawMessage, rerr error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.cur != ci {
			return
		}
		if rerr == nil {
			if uerr := json.Unmarshal(data, &cr); uerr != nil || cr.ChannelID == "" {
				e.log.Warn("call reply without channel", "err", uerr)
				rerr = errors.New("bad call reply")
			}
		}
		if rerr != nil {
			e.toIdleLocked()
			return
		}
		ci.ChannelID, ci.RequestID, ci.ChannelName = cr.ChannelID, cr.RequestID, cr.ChannelName
		e.oweRecordLocked(cr.ChannelID)
		e.replayEarlyLocked()
		if e.cur == ci {
			e.startMediaLocked() // prepares the offer while it rings
		}
	})
	if err == nil && cr.ChannelID == "" {
		err = errors.New("server sent no channel id")
	}
	if err != nil {
		e.mu.Lock()
		if e.cur == ci && ci.ChannelID == "" {
			early := e.early
			e.toIdleLocked()
			e.early = early
			e.replayEarlyLocked()
		}
		e.mu.Unlock()
		return nil, fmt.Errorf("call %s: %w", userID, err)
	}
	return &cr, nil
}

// ringing returns the current call after checking op against the state
// table and, when inv is given, that inv is the ringing invite.
func (e *Engine) ringing(op protocol.Op, inv *protocol.Invite) (*CallInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := protocol.CheckState(op, e.state); err != nil {
		return nil, err
	}
	if inv != nil && inv.ChannelID != e.cur.ChannelID {
		return nil, protocol.Errorf(protocol.CodeInviteExpired, "invite %s is not the ringing call (%s)", inv.ChannelID, e.cur.ChannelID)
	}
	return e.cur, nil
}

// Accept answers the ringing invite (inv may be nil for "the current one").
func (e *Engine) Accept(ctx context.Context, inv *protocol.Invite) error {
	cur, err := e.ringing(protocol.OpAccept, inv)
	if err != nil {
		return err
	}
	_, err = e.send(ctx, protocol.ReqAccept, protocol.ChannelRef{ChannelID: cur.ChannelID}, func(data json.RawMessage, rerr error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.cur != cur {
			return
		}
		if rerr != nil {
			if isChannelGone(rerr) {
				e.toIdleLocked()
			}
			return
		}
		var ar protocol.AcceptReply
		if err := json.Unmarshal(data, &ar); err != nil {
			e.log.Warn("accept reply not understood", "err", err)
		}
		cur.MediaToken = ar.MediaToken
		e.state = protocol.StateInCall
		e.tr.stateLocked(e.state, e.cur)
		e.invite = nil
		if e.media != nil {
			e.media.Activate() // prepared while it rang
		} else {
			e.startMediaLocked()
		}
	})
	if err != nil {
		return fmt.Errorf("accept %s: %w", cur.ChannelID, err)
	}
	return nil
}

// Reject declines the ringing invite (inv may be nil for "the current one").
func (e *Engine) Reject(ctx context.Context, inv *protocol.Invite) error {
	cur, err := e.ringing(protocol.OpReject, inv)
	if err != nil {
		return err
	}
	_, err = e.send(ctx, protocol.ReqReject, protocol.ChannelRef{ChannelID: cur.ChannelID}, func(_ json.RawMessage, rerr error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.cur == cur && (rerr == nil || isChannelGone(rerr)) {
			e.toIdleLocked()
		}
	})
	if err != nil {
		return fmt.Errorf("reject %s: %w", cur.ChannelID, err)
	}
	return nil
}

// Cancel withdraws our ringing call; USER_CANCEL is emitted locally with
// userId = this account (the callee's devices get it from the server).
func (e *Engine) Cancel(ctx context.Context) error {
	cur, err := e.ringing(protocol.OpCancel, nil)
	if err != nil {
		return err
	}
	if cur.ChannelID == "" {
		return protocol.Errorf(protocol.CodeConflict, "call setup still in progress")
	}
	_, err = e.send(ctx, protocol.ReqCancel, protocol.ChannelRef{ChannelID: cur.ChannelID}, func(_ json.RawMessage, rerr error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.cur != cur || e.state != protocol.StateCalling {
			return
		}
		switch {
		case rerr == nil:
			e.toIdleLocked()
			e.bus.emit(protocol.EvUserCancel, protocol.Peer{ChannelID: cur.ChannelID, UserID: e.account, Device: e.cfg.Device})
		case protocol.CodeOf(rerr) != protocol.CodeAlreadyAccepted && isChannelGone(rerr):
			e.toIdleLocked()
		}
	})
	if err != nil {
		return fmt.Errorf("cancel %s: %w", cur.ChannelID, err)
	}
	return nil
}

// Hangup ends whatever is going on: calling → Cancel, called → Reject,
// inCall → hang up (CALL_END is emitted locally after the reply and reaches
// the peer from the server).
func (e *Engine) Hangup(ctx context.Context) error {
	e.mu.Lock()
	st := e.state
	err := protocol.CheckState(protocol.OpHangup, st)
	cur := e.cur
	e.mu.Unlock()
	if err != nil {
		return err
	}
	switch st {
	case protocol.StateCalling:
		return e.Cancel(ctx)
	case protocol.StateCalled:
		return e.Reject(ctx, nil)
	}
	_, err = e.send(ctx, protocol.ReqHangup, protocol.ChannelRef{ChannelID: cur.ChannelID}, func(_ json.RawMessage, rerr error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.cur != cur {
			return
		}
		switch {
		case rerr == nil:
			e.toIdleLocked()
			e.bus.emit(protocol.EvCallEnd, protocol.Peer{ChannelID: cur.ChannelID, UserID: e.account, Device: e.cfg.Device, Reason: "hangup"})
		case isChannelGone(rerr) || protocol.CodeOf(rerr) == protocol.CodeChannelNotActive:
			e.toIdleLocked()
		}
	})
	if err != nil {
		return fmt.Errorf("hangup %s: %w", cur.ChannelID, err)
	}
	return nil
}

// SwitchCallType asks to change the call type. Video→audio applies at once;
// audio→video needs state "invite" here and "agree" (or "reject") from the
// peer, which answers with SwitchCallType(ctx, CallVideo, "agree"). The
// change itself arrives as CALL_TYPE_CHANGE on both sides.
func (e *Engine) SwitchCallType(ctx context.Context, t protocol.CallType, state string) error {
	e.mu.Lock()
	err := protocol.CheckState(protocol.OpSwitchCallType, e.state)
	cur := e.cur
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if !t.Valid() {
		return protocol.Errorf(protocol.CodeCallTypeNA, "call type %d: must be 1 (audio) or 2 (video)", t)
	}
	switch state {
	case "", protocol.SwitchInvite, protocol.SwitchAgree, protocol.SwitchReject:
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "switch state %q: must be invite, agree or reject", state)
	}
	if _, err := e.send(ctx, protocol.ReqSwitch, protocol.Switch{ChannelID: cur.ChannelID, CallType: t, State: state}, nil); err != nil {
		return fmt.Errorf("switch %s to %s: %w", cur.ChannelID, t, err)
	}
	return nil
}

// Relay sends media negotiation (offer, answer, candidate) to the peer
// device of the active call, with the channel token.
func (e *Engine) Relay(ctx context.Context, kind string, payload json.RawMessage) error {
	await, err := e.beginRelay(kind, payload)
	if err != nil {
		return err
	}
	return await(ctx)
}

// beginRelay sends a relay and returns the wait for the server's answer, so
// a media session can send its description and candidates back to back.
func (e *Engine) beginRelay(kind string, payload json.RawMessage) (func(context.Context) error, error) {
	e.mu.Lock()
	st, cur := e.state, e.cur
	e.mu.Unlock()
	if st != protocol.StateInCall {
		return nil, protocol.Errorf(protocol.CodeChannelNotActive, "relay is only possible in a call (state %s)", st)
	}
	req := protocol.Relay{ChannelID: cur.ChannelID, Token: cur.MediaToken, Kind: kind, Payload: payload}
	await, err := e.begin(protocol.ReqRelay, req, nil)
	if err != nil {
		return nil, fmt.Errorf("relay %s: %w", kind, err)
	}
	return func(ctx context.Context) error {
		if _, err := await(ctx); err != nil {
			return fmt.Errorf("relay %s: %w", kind, err)
		}
		return nil
	}, nil
}

// Ping measures one request round trip and returns the server's clock.
func (e *Engine) Ping(ctx context.Context) (time.Time, error) {
	data, err := e.send(ctx, protocol.ReqPing, nil, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("ping: %w", err)
	}
	var pr protocol.PingReply
	if err := json.Unmarshal(data, &pr); err != nil {
		return time.Time{}, fmt.Errorf("ping reply: %w", err)
	}
	return time.UnixMilli(pr.ServerTime), nil
}

func (e *Engine) contactsRequest(ctx context.Context, typ string, payload any) ([]protocol.Contact, error) {
	data, err := e.send(ctx, typ, payload, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	var cr protocol.ContactsReply
	if err := json.Unmarshal(data, &cr); err != nil {
		return nil, fmt.Errorf("%s reply: %w", typ, err)
	}
	return cr.Contacts, nil
}

// Contacts lists the account's contacts with their presence.
func (e *Engine) Contacts(ctx context.Context) ([]protocol.Contact, error) {
	return e.contactsRequest(ctx, protocol.ReqContacts, nil)
}

// AddContact adds account to the contact list and returns the new list.
func (e *Engine) AddContact(ctx context.Context, account string) ([]protocol.Contact, error) {
	return e.contactsRequest(ctx, protocol.ReqContactAdd, protocol.ContactRef{Account: account})
}

// RemoveContact removes account from the contact list and returns the new
// list.
func (e *Engine) RemoveContact(ctx context.Context, account string) ([]protocol.Contact, error) {
	return e.contactsRequest(ctx, protocol.ReqContactRemove, protocol.ContactRef{Account: account})
}
