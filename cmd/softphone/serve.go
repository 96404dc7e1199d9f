package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/server"
)

func newServeCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the signaling server (embedded NATS/JetStream, TURN, bots)",
		Long: `Run the signaling server: WebSocket gateway, accounts, call records and the
admin API, over an embedded NATS/JetStream store in --data (or a NATS cluster
with --nats), with an embedded TURN relay and, with --bots, test accounts that
answer calls. It runs until SIGINT or SIGTERM, then shuts down gracefully.`,
		Example: `  softphone serve                                   # 127.0.0.1:7800, data in ~/.local/share/softphone
  softphone serve --bots --listen 0.0.0.0:7800 --turn-listen 0.0.0.0:3478 --turn-ip 10.0.0.5
  softphone serve --nats nats://n1:4222,nats://n2:4222   # one of several gateways (storage R3)
  softphone serve --nats nats://127.0.0.1:4222 --replicas 1  # on a single NATS server`,
		Args:    noArgs,
		GroupID: groupServer,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.bind("listen", "serve.listen", "`ADDR` to listen on; port 0 picks a free port (env SOFTPHONE_SERVE_LISTEN)")
	cf.bind("data", "serve.data", "`DIR`: data directory of the embedded NATS/JetStream store (env SOFTPHONE_SERVE_DATA)")
	cf.bind("nats", "serve.nats", "use the NATS cluster at `URL` instead of the embedded one; keeps no local state (env SOFTPHONE_SERVE_NATS)")
	cf.bind("debug", "serve.debug", "debug mode: also admit checkSum=false clients without a token (env SOFTPHONE_SERVE_DEBUG)")
	cf.bind("app-key", "serve.appKey", "admin API `KEY` (env SOFTPHONE_SERVE_APP_KEY); default generated once")
	cf.bind("app-secret", "serve.appSecret", "admin API `SECRET` (env SOFTPHONE_SERVE_APP_SECRET); default generated once")
	cf.bind("turn-listen", "serve.turn", "UDP `ADDR` of the embedded TURN relay, or off (env SOFTPHONE_SERVE_TURN; default "+defaultTURN+")")
	cf.bind("turn-ip", "serve.turnIp", "`IP` clients reach the TURN relay at (env SOFTPHONE_SERVE_TURN_IP); default the --turn-listen IP")
	cf.bind("turn-tcp-listen", "serve.turnTcp", "`ADDR` of TURN over TCP, for clients whose network blocks UDP (env SOFTPHONE_SERVE_TURN_TCP; default off)")
	cf.bind("turn-tls-listen", "serve.turnTls", "`ADDR` of TURN over TLS (turns:), e.g. 0.0.0.0:443; needs --tls-cert and --tls-key (env SOFTPHONE_SERVE_TURN_TLS; default off)")
	cf.bind("turn-host", "serve.turnHost", "`HOST` name in turns: URLs, which the certificate must cover (env SOFTPHONE_SERVE_TURN_HOST); default the relay IP")
	cf.bind("tls-cert", "serve.tlsCert", "certificate chain `FILE` (PEM) of the server (env SOFTPHONE_SERVE_TLS_CERT)")
	cf.bind("tls-key", "serve.tlsKey", "private key `FILE` (PEM) of the certificate (env SOFTPHONE_SERVE_TLS_KEY)")
	cf.bind("bots", "serve.bots", "run the built-in bot accounts echo, reject, busy, noanswer, hangup, outcomes (env SOFTPHONE_SERVE_BOTS)")
	cf.bind("bot-names", "serve.botNames", "only these bots: comma-separated `NAMES` (env SOFTPHONE_SERVE_BOT_NAMES; default all)")
	cf.bind("echo-delay", "serve.echoDelay", "how late the echo bot plays media back, `DELAY` up to 10s (env SOFTPHONE_SERVE_ECHO_DELAY; default 1s)")
	cf.bind("replicas", "serve.replicas", "JetStream replicas of every bucket and stream, `N` (env SOFTPHONE_SERVE_REPLICAS; default 3 with --nats, 1 embedded); an existing stream is never lowered")
	cf.bind("start-timeout", "serve.startTimeout", "how long to wait for a slow or unavailable NATS cluster at start-up, `DURATION` (env SOFTPHONE_SERVE_START_TIMEOUT; default 1m)")
	_ = cobra.MarkFlagDirname(fs, "data")
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) {
		cfg, err := cf.load(c.getenv)
		if err != nil {
			return exitError, err
		}
		return runServe(ctx, c, cfg)
	})
	return cmd
}

// runServe runs the signaling server until SIGINT or SIGTERM, then shuts it
// down gracefully (WebSockets closed, NATS drained, embedded store stopped).
func runServe(ctx context.Context, c *cli, cfg *Config) (int, error) {
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: logLevel(cfg.Debug)}))
	sc := server.Config{
		Listen:    cfg.Serve.Listen,
		NATSURL:   cfg.Serve.NATS,
		AppKey:    cfg.Serve.AppKey,
		AppSecret: cfg.Serve.AppSecret,
		Debug:     cfg.Serve.Debug,
		Logger:    log,

		TURNListen:    cfg.Serve.TURN,
		TURNTCPListen: cfg.Serve.TURNTCP,
		TURNTLSListen: cfg.Serve.TURNTLS,
		TURNPublicIP:  cfg.Serve.TURNIP,
		TURNHost:      cfg.Serve.TURNHost,
		TLSCert:       cfg.Serve.TLSCert,
		TLSKey:        cfg.Serve.TLSKey,
		Bots:          botsConfig(cfg),

		Replicas:     cfg.Serve.Replicas,
		StartTimeout: cfg.Serve.StartTimeout,
	}
	// With an external NATS the server keeps no state of its own, so it gets
	// no data directory (and writes no credentials file).
	if sc.NATSURL == "" {
		sc.DataDir = cfg.Serve.Data
		if err := os.MkdirAll(sc.DataDir, 0o700); err != nil {
			return exitError, fmt.Errorf("create data directory: %w", err)
		}
	}
	srv, err := server.New(sc)
	if err != nil {
		return exitError, fmt.Errorf("configure server: %w", err)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		_ = srv.Close()
		return exitError, startError(err, map[string]string{
			"listen": sc.Listen, "turn-listen": sc.TURNListen, "turn-tcp-listen": sc.TURNTCPListen, "turn-tls-listen": sc.TURNTLSListen,
		})
	}
	attrs := []any{"url", srv.URL(), "admin", srv.AdminURL(), "debug", sc.Debug}
	if u := srv.TURNURLs(); len(u) > 0 {
		attrs = append(attrs, "turn", u)
	}
	if reps := srv.Replicas(); len(reps) > 0 {
		attrs = append(attrs, "replicas", reps[0].Configured)
	}
	if sc.NATSURL != "" {
		attrs = append(attrs, "nats", server.RedactURLs(sc.NATSURL))
	} else {
		attrs = append(attrs, "data", sc.DataDir)
	}
	log.Info("ready", attrs...)
	if sc.DataDir != "" {
		// Local commands (user) find this server from its data directory.
		if err := writeServeAddr(sc.DataDir, srv.URL(), srv.AdminURL()); err != nil {
			log.Warn("cannot record the server's address", "err", err)
		}
		defer removeServeAddr(sc.DataDir)
	}

	<-ctx.Done()
	stop() // a second signal kills the process at once
	log.Info("shutting down")
	if err := srv.Close(); err != nil {
		return exitError, fmt.Errorf("shut down: %w", err)
	}
	log.Info("stopped")
	return exitOK, nil
}

// logLevel maps the config's debug switch to a slog level.
func logLevel(debug bool) slog.Level {
	if debug {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// startError is serve's one line for a server that did not start. An
// address in use names the flag that chose it (the usual case: another
// serve, or a TURN server on 3478, is running); anything else is the
// server's reason without the layers that repeat "server".
func startError(err error, flags map[string]string) error {
	var op *net.OpError
	if errors.Is(err, syscall.EADDRINUSE) && errors.As(err, &op) && op.Addr != nil {
		addr := op.Addr.String()
		for _, name := range []string{"listen", "turn-listen", "turn-tcp-listen", "turn-tls-listen"} {
			if flags[name] == addr {
				return fmt.Errorf("--%s %s: address already in use: stop what uses it or choose another --%s", name, addr, name)
			}
		}
		return fmt.Errorf("%s: address already in use: stop what uses it or choose other --listen/--turn-listen addresses", addr)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "server: "))
}
