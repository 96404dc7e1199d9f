// Package server is `softphone serve`: the WebSocket signaling gateway and
// the admin API on one listener, over NATS JetStream (embedded on the data
// directory, or an external cluster).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/softphone/softphone/server/admin"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/bots"
	"github.com/softphone/softphone/server/gateway"
	"github.com/softphone/softphone/server/store"
	"github.com/softphone/softphone/server/turn"
	"github.com/softphone/softphone/web"
)

// Config configures a server. Zero values get the documented defaults.
type Config struct {
	Listen          string        // default "127.0.0.1:7800"; "127.0.0.1:0" picks a port
	DataDir         string        // embedded NATS/JetStream store dir (required when NATSURL == "")
	NATSURL         string        // "" = embedded NATS+JetStream; else external cluster, no local state
	AppKey          string        // admin API key; AppSecret signs admin requests and channel tokens
	AppSecret       string        // if both empty: generated once, kept in KV "meta" and <DataDir>/credentials.json
	Debug           bool          // accept checkSum=false logins without a token
	NodeID          string        // default random
	ReconnectGrace  time.Duration // default 15s
	ChannelTokenTTL time.Duration // default 10m
	Logger          *slog.Logger  // default discard

	// TURNListen is the UDP host:port of the embedded TURN relay ("" or
	// "off": none; port 0 picks one). The CLI's default is DefaultTURNListen.
	TURNListen string
	// TURNTCPListen and TURNTLSListen add TURN over TCP and over TLS
	// (turns:, e.g. on port 443) to the relay, for networks that block UDP;
	// "" or "off": none. TLS uses TLSCert and TLSKey.
	TURNTCPListen string
	TURNTLSListen string
	// TURNPublicIP is the relay's address as clients reach it; default the
	// IP of its first listener (required when that is 0.0.0.0 or ::).
	TURNPublicIP string
	// TURNHost is the host name in turns: URLs, which the certificate must
	// cover; default TURNPublicIP.
	TURNHost string
	// TLSCert and TLSKey are PEM files of the server's certificate chain
	// and private key. With them the listener speaks TLS: https for the
	// browser client and the admin API, wss for devices (and turns: for
	// the relay's TLS listener).
	TLSCert string
	TLSKey  string
	// TURNCredentialTTL is the validity of the TURN credentials handed out
	// at login; default 10m.
	TURNCredentialTTL time.Duration

	// Bots runs the built-in bot accounts (echo, reject, busy, …; package
	// server/bots) in this process when Bots.Enabled.
	Bots bots.Config

	// Replicas is the JetStream replica count of every bucket and the
	// records stream: default 3 with NATSURL, 1 (the only choice) embedded.
	// An existing stream with more replicas is never lowered: Start fails.
	Replicas int
	// StartTimeout bounds how long Start waits for a slow or briefly
	// unavailable NATS cluster; default 60s.
	StartTimeout time.Duration

	// HTTPIdleTimeout closes an idle keep-alive HTTP connection (admin
	// API, browser client; WebSockets have their own pings); default 2m.
	// HTTPBodyTimeout bounds reading an admin request's body; default 10s.
	HTTPIdleTimeout time.Duration
	HTTPBodyTimeout time.Duration
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:7800"
	DefaultReconnectGrace  = 15 * time.Second
	DefaultChannelTokenTTL = 10 * time.Minute
	DefaultTURNListen      = "127.0.0.1:3478"
	DefaultClusterReplicas = 3
	DefaultStartTimeout    = time.Minute
	DefaultHTTPIdleTimeout = 2 * time.Minute
)

// Server is one signaling node.
type Server struct {
	cfg Config
	log *slog.Logger

	embedded *embeddedNATS
	nc       *nats.Conn
	st       *store.Store
	gw       *gateway.Gateway
	turn     *turn.Server
	bots     *bots.Runner
	ln       net.Listener
	http     *http.Server
	serveErr chan error

	appKey, appSecret string
	closeOnce         sync.Once
	closeErr          error
	gwMu              sync.Mutex // guards gw for the NATS reconnect handler
	replicas          []store.StreamReplicas

	dataLock  *dataDirLock
	bgCancel  context.CancelFunc // ends the background loops below
	bg        sync.WaitGroup
	relayAuth *accountEpochs

	cert *tls.Certificate // from TLSCert and TLSKey; nil: plain HTTP
}

// New validates cfg and fills defaults; Start does the work.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.NATSURL == "" && cfg.DataDir == "" {
		return nil, errors.New("server: DataDir is required for the embedded NATS server (or set NATSURL)")
	}
	if (cfg.AppKey == "") != (cfg.AppSecret == "") {
		return nil, errors.New("server: set both AppKey and AppSecret, or neither to generate them")
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "node-" + auth.RandomID(8)
	}
	if cfg.ReconnectGrace <= 0 {
		cfg.ReconnectGrace = DefaultReconnectGrace
	}
	if cfg.ChannelTokenTTL <= 0 {
		cfg.ChannelTokenTTL = DefaultChannelTokenTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, l := range []*string{&cfg.TURNListen, &cfg.TURNTCPListen, &cfg.TURNTLSListen} {
		if turn.Disabled(*l) {
			*l = ""
		}
	}
	if cfg.TURNTLSListen != "" && (cfg.TLSCert == "" || cfg.TLSKey == "") {
		return nil, errors.New("server: TURN over TLS needs TLSCert and TLSKey")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("server: set both TLSCert and TLSKey, or neither")
	}
	if cfg.TURNCredentialTTL <= 0 {
		cfg.TURNCredentialTTL = turn.DefaultTTL
	}
	if err := cfg.Bots.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	switch {
	case cfg.Replicas < 0 || cfg.Replicas > 5:
		return nil, fmt.Errorf("server: replicas %d: must be between 1 and 5", cfg.Replicas)
	case cfg.NATSURL == "" && cfg.Replicas > 1:
		return nil, fmt.Errorf("server: replicas %d needs a NATS cluster (--nats); the embedded server keeps one copy", cfg.Replicas)
	case cfg.Replicas == 0 && cfg.NATSURL != "":
		cfg.Replicas = DefaultClusterReplicas
	case cfg.Replicas == 0:
		cfg.Replicas = 1
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.HTTPIdleTimeout <= 0 {
		cfg.HTTPIdleTimeout = DefaultHTTPIdleTimeout
	}
	return &Server{cfg: cfg, log: cfg.Logger}, nil
}

// Start connects to (or starts) NATS, creates the buckets, and listens. It
// returns once the server accepts connections.
func (s *Server) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.cfg.NATSURL == "" {
		if s.dataLock, err = lockDataDir(s.cfg.DataDir); err != nil {
			return err
		}
		s.embedded, err = startEmbedded(s.cfg.DataDir, s.cfg.NodeID)
		if err != nil {
			return err
		}
		if s.nc, err = s.embedded.connect(s.cfg.NodeID); err != nil {
			return fmt.Errorf("server: connect NATS: %w", err)
		}
	}
	// On a cluster every step may meet a leader election or a node that is
	// down; each is retried until the start deadline.
	sctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	if s.cfg.NATSURL != "" {
		deadline, _ := sctx.Deadline()
		s.log.Info("connecting to the NATS cluster", "nats", RedactURLs(s.cfg.NATSURL), "replicas", s.cfg.Replicas, "deadline", deadline.Format(time.RFC3339))
		if err := s.startStep(sctx, "connect NATS", func(ctx context.Context) (err error) {
			s.nc, err = s.connectCluster()
			return err
		}); err != nil {
			return err
		}
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("server: jetstream: %w", err)
	}
	if err := s.startStep(sctx, "open storage", func(ctx context.Context) (err error) {
		s.st, err = store.Open(ctx, js, s.cfg.Replicas)
		return err
	}); err != nil {
		return err
	}
	if err := s.reportReplicas(sctx); err != nil {
		return err
	}
	if err := s.startStep(sctx, "move records to per-account subjects", func(ctx context.Context) error {
		n, err := s.st.MigrateRecords(ctx)
		if n > 0 {
			s.log.Info("call records moved to per-account subjects", "records", n)
		}
		return err
	}); err != nil {
		return err
	}
	if err := s.startStep(sctx, "load credentials", s.loadCredentials); err != nil {
		return err
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("server: TLS certificate %s and key %s: %w", s.cfg.TLSCert, s.cfg.TLSKey, err)
		}
		s.cert = &cert
	}
	gwCfg := gateway.Config{
		Store: s.st, Conn: s.nc, Signer: auth.NewChannelSigner(s.appSecret), NodeID: s.cfg.NodeID,
		Debug: s.cfg.Debug, ReconnectGrace: s.cfg.ReconnectGrace, ChannelTokenTTL: s.cfg.ChannelTokenTTL,
		Logger: s.log.With("component", "gateway"),
	}
	if err := s.startTURN(ctx); err != nil {
		return err
	}
	if s.turn != nil {
		gwCfg.ICE = s.turn
		gwCfg.AccountChanged = s.relayAuth.forget
	}
	gw := gateway.New(gwCfg)
	if err := s.startStep(sctx, "start gateway", gw.Start); err != nil {
		return err
	}
	s.gwMu.Lock()
	s.gw = gw
	s.gwMu.Unlock()
	mux := http.NewServeMux()
	mux.Handle("/v1/ws", s.gw)
	mux.Handle("/admin/", admin.NewHandler(admin.Config{
		Store: s.st, AppKey: s.appKey, AppSecret: s.appSecret, Logger: s.log.With("component", "admin"), Sessions: s.gw,
		BodyTimeout: s.cfg.HTTPBodyTimeout,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.Handle("/", web.Handler()) // the browser client
	var lc net.ListenConfig
	s.ln, err = lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.cfg.Listen, err)
	}
	if s.cert != nil {
		// HTTP/1.1 only: WebSockets upgrade from it (Go's HTTP/2 server has
		// no WebSocket support), and browsers then open one for them anyway.
		s.ln = tls.NewListener(s.ln, &tls.Config{Certificates: []tls.Certificate{*s.cert},
			MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: s.cfg.HTTPIdleTimeout,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.http.Serve(s.ln) }()
	if err := s.startBots(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.log.Info("softphone server listening", "addr", s.Addr(), "node", s.cfg.NodeID, "embedded", s.embedded != nil, "debug", s.cfg.Debug, "turn", s.TURNURLs())
	return nil
}

// startTURN starts the embedded relay when a TURN listener is configured,
// with an accounts watch that revokes the credentials of accounts whose
// token was reset or that were removed.
func (s *Server) startTURN(ctx context.Context) error {
	if s.cfg.TURNListen == "" && s.cfg.TURNTCPListen == "" && s.cfg.TURNTLSListen == "" {
		return nil
	}
	tc := turn.Config{
		Listen: s.cfg.TURNListen, TCPListen: s.cfg.TURNTCPListen, TLSListen: s.cfg.TURNTLSListen,
		PublicIP: s.cfg.TURNPublicIP, Host: s.cfg.TURNHost,
		Credentials: turn.NewCredentials(s.appSecret, s.cfg.TURNCredentialTTL),
		Logger:      s.log.With("component", "turn"),
	}
	if s.cfg.TURNTLSListen != "" {
		tc.TLS = &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12}
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	updates, err := s.st.WatchAccounts(bgCtx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.relayAuth = newAccountEpochs(s.st)
	s.bg.Add(1)
	go func() { defer s.bg.Done(); s.relayAuth.run(updates) }()
	tc.Epochs = s.relayAuth
	if s.turn, err = turn.Start(ctx, tc); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Addr is the bound host:port.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is the device WebSocket URL (wss:// with TLS).
func (s *Server) URL() string {
	if s.cert != nil {
		return "wss://" + s.Addr() + "/v1/ws"
	}
	return "ws://" + s.Addr() + "/v1/ws"
}

// TURNURL is the embedded relay's first TURN URI ("" when it runs none).
func (s *Server) TURNURL() string {
	if s.turn == nil {
		return ""
	}
	return s.turn.URL()
}

// TURNURLs are the embedded relay's TURN URIs (UDP, TCP, TLS as
// configured; none when it runs no relay).
func (s *Server) TURNURLs() []string {
	if s.turn == nil {
		return nil
	}
	return s.turn.URLs()
}

// AdminURL is the base URL of the admin API (and of the browser client):
// https:// with TLS.
func (s *Server) AdminURL() string {
	if s.cert != nil {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Credentials returns the admin key pair in use.
func (s *Server) Credentials() (appKey, appSecret string) { return s.appKey, s.appSecret }

// CreateUser creates an account directly (tests, bots) and returns its token.
func (s *Server) CreateUser(ctx context.Context, account, nick string) (string, error) {
	if s.st == nil {
		return "", errors.New("server: not started")
	}
	u, err := admin.NewUser(ctx, s.st, account, nick)
	if err != nil {
		return "", fmt.Errorf("create user %s: %w", account, err)
	}
	return u.Token, nil
}

// AddContact lists contact in owner's contact list directly (tests, demos);
// devices use the contact.add request.
func (s *Server) AddContact(ctx context.Context, owner, contact string) error {
	if s.st == nil {
		return errors.New("server: not started")
	}
	_, err := s.st.UpdateAccount(ctx, owner, func(a *store.Account) error {
		if !slices.Contains(a.Contacts, contact) {
			a.Contacts = append(a.Contacts, contact)
		}
		a.Revoked = slices.DeleteFunc(a.Revoked, func(c string) bool { return c == contact })
		return nil
	})
	if err != nil {
		return fmt.Errorf("add contact %s to %s: %w", contact, owner, err)
	}
	return nil
}

// Close stops accepting, closes every device connection, stops the TURN
// relay, drains NATS and stops the embedded server.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		// Bots first: they hang up their calls while the gateway still runs.
		if s.bots != nil {
			errs = append(errs, s.bots.Close())
		}
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			// Shutdown does not touch hijacked WebSockets; the gateway closes them.
			if err := s.http.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
			cancel()
			if err := <-s.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
			}
		}
		if s.gw != nil {
			errs = append(errs, s.gw.Close())
		}
		if s.turn != nil {
			errs = append(errs, s.turn.Close())
		}
		if s.bgCancel != nil {
			s.bgCancel()
		}
		if s.nc != nil {
			if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, err)
			}
			for i := 0; i < 200 && !s.nc.IsClosed(); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			s.nc.Close()
		}
		s.bg.Wait()
		if s.embedded != nil {
			s.embedded.shutdown()
		}
		// Last: the data directory is free once the store is shut.
		errs = append(errs, s.dataLock.release())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
