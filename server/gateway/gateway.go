// Package gateway is the WebSocket side of the signaling server: one session
// per device connection, request handling, routing of events between
// gateways over NATS, and the channel decisions (compare-and-set on
// JetStream KV) including the server-side ring timeout.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// Config wires a gateway to its shared state.
type Config struct {
	Store           *store.Store
	Conn            *nats.Conn
	Signer          *auth.ChannelSigner
	NodeID          string
	Debug           bool          // admit checkSum=false logins
	ReconnectGrace  time.Duration // a party's device may be gone this long
	ChannelTokenTTL time.Duration
	Logger          *slog.Logger
	// ICE issues the STUN/TURN servers handed out at login and by the
	// iceServers request; nil when this node runs no relay.
	ICE ICEIssuer
	// AccountChanged, when set, is told of an account whose token was reset
	// or that was removed, before EndSessions is answered (the relay drops
	// what it remembers of the account).
	AccountChanged func(account string)
}

// ICEIssuer hands a device STUN/TURN servers with fresh credentials and
// their expiry (server/turn.Server is one). epoch (auth.Epoch) binds them
// to the account incarnation and token the device logged in with.
type ICEIssuer interface {
	ICEServers(account, epoch string) ([]protocol.ICEServer, time.Time)
}

// Tunables that are not worth a config field.
const (
	dispatchShards        = 8
	writeTimeout          = 5 * time.Second
	readTimeout           = 60 * time.Second
	pingInterval          = 20 * time.Second
	pingSlices            = 100 // a ping round is spread over pingInterval in this many steps
	loginTimeout          = 30 * time.Second
	requestTimeout        = 10 * time.Second
	sweepInterval         = time.Second
	endedRetention        = time.Minute     // ended channels answer late requests and record look-ups this long
	heartbeatEvery        = time.Second     // also how exactly a dead node's calls are billed
	recordRetryAfter      = 3 * time.Second // an ended channel's record still pending this long is rewritten
	queueFrames           = 1024            // outbound frames a session may have waiting: > MaxContacts PRESENCE events
	queueBytes            = 1 << 20         // and their total size (a relay frame is up to ~48 KiB)
	requestRate           = 50              // requests per second per connection
	requestBurst          = 100             // burst per connection
	hardFrameLimit        = 4 * protocol.MaxMessageSize
	channelIDLength       = 24
	requestIDLength       = 16
	presenceSessionLength = 12
	frameReadBufSize      = 2048
)

// Gateway serves device WebSockets.
type Gateway struct {
	cfg    Config
	st     *store.Store
	nc     *nats.Conn
	log    *slog.Logger
	node   string
	shards []chan *nats.Msg

	upgrader websocket.Upgrader

	mu       sync.Mutex
	local    map[string]*accountSessions    // logged-in sessions by account
	all      map[*session]struct{}          // every open connection
	timers   map[string]*time.Timer         // ring timers of channels created here
	watchers map[string]map[*session]string // contact → local sessions listing it → their account
	presSub  *nats.Subscription
	presCh   chan *nats.Msg
	endSub   *nats.Subscription // subjectEndSessions
	closing  bool
	sessions sync.WaitGroup // reader goroutines
	writers  sync.WaitGroup // outbox writer goroutines (see startWriterLocked)
	readBufs sync.Pool      // *bytes.Buffer for inbound frames

	// Outbound limits, fixed by New; tests of this package may lower the
	// bounds or lengthen the deadline before Start.
	writeTimeout time.Duration
	queueFrames  int
	queueBytes   int

	hooks hooks

	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup // background loops and dispatchers
	seq    uint64
}

// hooks let tests of this package act at points no client can reach
// deterministically. All are nil in production.
type hooks struct {
	routed func(s *session) // login: the session is reachable by routing, reply not yet queued
}

type accountSessions struct {
	sub      *nats.Subscription
	sessions map[*session]struct{}
}

// New builds a gateway; Start runs its background loops.
func New(cfg Config) *Gateway {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg:    cfg,
		st:     cfg.Store,
		nc:     cfg.Conn,
		log:    cfg.Logger,
		node:   cfg.NodeID,
		local:  map[string]*accountSessions{},
		all:    map[*session]struct{}{},
		timers: map[string]*time.Timer{},

		watchers: map[string]map[*session]string{},

		writeTimeout: writeTimeout,
		queueFrames:  queueFrames,
		queueBytes:   queueBytes,
	}
	g.readBufs.New = func() any { return new(bytes.Buffer) }
	g.upgrader = websocket.Upgrader{
		ReadBufferSize:  frameReadBufSize,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		// Devices are terminal clients, not browsers; the token is the guard.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return g
}

// Start runs dispatchers, the node heartbeat, the sweeper and the pinger.
func (g *Gateway) Start(ctx context.Context) error {
	g.ctx, g.cancel = context.WithCancel(context.Background())
	if err := g.st.Heartbeat(ctx, g.node); err != nil {
		g.cancel()
		return err
	}
	updates, err := g.st.WatchChannels(g.ctx)
	if err != nil {
		g.cancel()
		return err
	}
	accounts, err := g.st.WatchAccounts(g.ctx)
	if err != nil {
		g.cancel()
		return err
	}
	g.presCh = make(chan *nats.Msg, shardBuffer)
	if g.presSub, err = g.nc.ChanSubscribe(presencePrefix+"*", g.presCh); err != nil {
		g.cancel()
		return fmt.Errorf("subscribe presence: %w", err)
	}
	_ = g.presSub.SetPendingLimits(-1, -1)
	if g.endSub, err = g.nc.Subscribe(subjectEndSessions, g.onEndSessions); err != nil {
		g.cancel()
		_ = g.presSub.Unsubscribe()
		return fmt.Errorf("subscribe %s: %w", subjectEndSessions, err)
	}
	for range dispatchShards {
		ch := make(chan *nats.Msg, shardBuffer)
		g.shards = append(g.shards, ch)
		g.bg.Add(1)
		go func() { defer g.bg.Done(); g.dispatch(ch) }()
	}
	g.bg.Add(5)
	go func() { defer g.bg.Done(); g.presenceLoop(g.presCh) }()
	go func() { defer g.bg.Done(); g.accountLoop(accounts) }()
	go func() { defer g.bg.Done(); g.heartbeatLoop() }()
	go func() { defer g.bg.Done(); g.sweepLoop(updates) }()
	go func() { defer g.bg.Done(); g.pingLoop() }()
	return nil
}

// Close ends every session, stops the loops and forgets this node so its
// devices count as gone at once.
func (g *Gateway) Close() error {
	g.mu.Lock()
	g.closing = true
	for s := range g.all {
		s.close()
	}
	for id, t := range g.timers {
		t.Stop()
		delete(g.timers, id)
	}
	g.mu.Unlock()
	g.sessions.Wait()
	g.writers.Wait()
	if g.cancel != nil {
		g.cancel()
	}
	g.mu.Lock()
	for acct, as := range g.local {
		_ = as.sub.Unsubscribe()
		delete(g.local, acct)
	}
	g.mu.Unlock()
	if g.endSub != nil {
		_ = g.endSub.Unsubscribe()
	}
	if g.presSub != nil {
		_ = g.presSub.Unsubscribe()
		close(g.presCh)
	}
	for _, ch := range g.shards {
		close(ch)
	}
	g.bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.st.RemoveNode(ctx, g.node); err != nil {
		return fmt.Errorf("gateway close: %w", err)
	}
	return nil
}

// ServeHTTP upgrades a device connection and hands it to a reader goroutine
// of its own, then returns: net/http's per-request state (its buffered
// reader and writer, the request) is released instead of staying pinned
// under a reader that runs for the life of the connection. An idle
// connection thus costs one goroutine, the reader, with a fresh small stack;
// a writer exists only while frames wait to be written.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered with an HTTP error
	}
	s := g.newSession(conn)
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		_ = conn.Close()
		return
	}
	g.all[s] = struct{}{}
	g.sessions.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.sessions.Done()
		s.run(g.ctx)
	}()
}

func (g *Gateway) heartbeatLoop() {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(g.ctx, 2*heartbeatEvery)
			err := g.st.Heartbeat(ctx, g.node)
			cancel()
			switch {
			case err != nil && !failing && !errors.Is(err, context.Canceled):
				g.log.Warn("heartbeat failed; retrying every second", "err", err)
				failing = true
			case err == nil && failing:
				g.log.Info("heartbeat restored")
				failing = false
			}
		}
	}
}

// pingLoop pings every connection once per pingInterval from one goroutine
// (the ping goes through the session's outbox, so this never blocks on a
// slow client) and closes connections that never logged in. A round is
// spread over the interval in pingSlices steps: pinging 18,000 connections
// at once took the process about a second of both cores (a writer
// goroutine and a write per connection, then as many pongs to read), and
// every request in flight waited behind it.
func (g *Gateway) pingLoop() {
	t := time.NewTicker(pingInterval / pingSlices)
	defer t.Stop()
	var (
		round []*session // this round's connections; those opened since wait for the next round
		next  int
		step  int
	)
	for {
		select {
		case <-g.ctx.Done():
			return
		case now := <-t.C:
			if next >= len(round) {
				round, next = g.snapshotSessions(round[:0]), 0
				step = (len(round) + pingSlices - 1) / pingSlices
			}
			end := min(next+step, len(round))
			for i, s := range round[next:end] {
				round[next+i] = nil // no reference to a closed session stays behind
				if !s.loggedIn() && now.Sub(s.opened) > loginTimeout {
					s.close()
					continue
				}
				s.ping()
			}
			next = end
		}
	}
}

// snapshotSessions appends every open connection to buf.
func (g *Gateway) snapshotSessions(buf []*session) []*session {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range g.all {
		buf = append(buf, s)
	}
	return buf
}

func (g *Gateway) nextSessionID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	return fmt.Sprintf("%s-%d", g.node, g.seq)
}

func (g *Gateway) forget(s *session) {
	g.mu.Lock()
	delete(g.all, s)
	g.mu.Unlock()
}
