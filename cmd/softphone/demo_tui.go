package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/bots"
	"github.com/softphone/softphone/ui"
)

// demoAccount is the account the TUI demo logs in as.
const demoAccount = "demo"

// runDemoTUI starts an embedded server with the bots in a temporary
// directory, creates the demo account with the bots as contacts, and opens
// the TUI logged in as it. Everything is gone when the TUI quits.
func runDemoTUI(ctx context.Context, c *cli, cfg *Config, media *mediaFlags) (int, error) {
	logW, closeLog, err := openTUILog(cfg)
	if err != nil {
		return exitError, err
	}
	defer closeLog()
	var log *slog.Logger
	if cfg.Debug {
		log = slog.New(slog.NewTextHandler(logW, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dir, err := os.MkdirTemp("", "softphone-demo-")
	if err != nil {
		return exitError, fmt.Errorf("create temporary data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	srv, err := server.New(server.Config{
		Listen: "127.0.0.1:0", DataDir: dir, Logger: log,
		Bots: bots.Config{Enabled: true, Language: cfg.Language},
	})
	if err != nil {
		return exitError, fmt.Errorf("configure embedded server: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		_ = srv.Close()
		return exitError, fmt.Errorf("start embedded server: %w", err)
	}
	defer srv.Close()
	nick := "演示用户"
	if cfg.Language == "en" {
		nick = "Demo user"
	}
	token, err := srv.CreateUser(ctx, demoAccount, nick)
	if err != nil {
		return exitError, fmt.Errorf("create account %s: %w", demoAccount, err)
	}

	// From here on nothing but the UI may reach the screen (see runTUI).
	restoreStderr, err := redirectStderr(logW)
	if err != nil {
		return exitError, err
	}
	defer restoreStderr()
	quiet := &cli{stdout: io.Discard, stderr: logW, getenv: c.getenv}
	lc := *cfg
	lc.Server, lc.Account, lc.IMToken, lc.CheckSum = srv.URL(), demoAccount, token, true
	mc := media.config(&lc)
	defer lc.trace.close() // after the engine below is closed
	if mc != nil && media.videoIn == "" && len(mc.Cameras) == 0 && !haveCamera() {
		// No camera (and no cameras list): send the test pattern, so the
		// echo shows a picture.
		mc.VideoIn = call.SourceTestsrc
	}
	if err := checkSources(mc); err != nil {
		return exitError, err
	}
	eng, err := connect(ctx, quiet, &lc, mc)
	if err != nil {
		return exitError, err
	}
	defer eng.Close()
	for _, b := range srv.BotNames() {
		if _, err := eng.AddContact(ctx, b); err != nil {
			return exitError, fmt.Errorf("add contact %s: %w", b, err)
		}
	}
	return runUI(ctx, ui.Options{Engine: eng, Server: lc.Server, Account: demoAccount, Language: cfg.Language, Debug: cfg.Debug, Getenv: c.getenv})
}

// haveCamera reports whether a V4L2 device node exists.
func haveCamera() bool {
	m, _ := filepath.Glob("/dev/video*")
	return len(m) > 0
}
