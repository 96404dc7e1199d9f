package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
)

func newDemoCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try it with nothing set up: a local server with bots and the TUI",
		Long: `Start an embedded server with the bots in a temporary directory, create the
account "demo" with the bots as contacts, and open the terminal UI logged in:
calling echo is a sound-and-camera test, reject, busy, noanswer and hangup show
every call outcome. Everything is gone when the UI quits.

With --headless (the default without a terminal) it runs a scripted audio call
from alice to bob instead, prints both sides' events and exits 0 when the call
completed and both sides got the record.`,
		Example: `  softphone demo
  softphone demo --language en --timeout 10s
  softphone demo --headless --json`,
		Args:    noArgs,
		GroupID: groupCalls,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.bind("language", "language", uiLanguageUsage)
	cf.bind("debug", "debug", "TUI: open the event log pane and write a debug log to DATA/"+tuiLogName+" (env SOFTPHONE_DEBUG)")
	cf.bind("timeout", "callTimeout", "ring `TIMEOUT` of calls placed, 1s–120s (env SOFTPHONE_CALL_TIMEOUT)")
	completeWords(fs, "language", languages...)
	asJSON := fs.Bool("json", false, "headless: print each event as one JSON object per line (prefixed with the party)")
	talk := fs.Duration("talk", 2*time.Second, "headless: how long the call lasts before alice hangs up")
	headless := fs.Bool("headless", false, "no TUI: run the scripted alice → bob call and print its events (the default without a terminal)")
	media := addMediaFlags(fs)
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) {
		cfg, err := cf.load(c.getenv)
		if err != nil {
			return exitError, err
		}
		return runDemo(ctx, c, cfg, media, *talk, *headless, *asJSON)
	})
	return cmd
}

// runDemo gives a newcomer a working call with nothing set up. In a
// terminal it starts an embedded server with the bots, creates an account
// "demo" whose contacts are the bots, and opens the TUI logged in: calling
// echo is a sound-and-camera test, the other bots show every call outcome
// (runDemoTUI). With --headless, or when stdin/stdout is not a terminal, it
// shows the whole call flow as text: an audio call from alice to bob that
// bob accepts and alice hangs up; it exits 0 when the call completed and
// both sides got the record.
func runDemo(ctx context.Context, c *cli, cfg *Config, media *mediaFlags, talk time.Duration, headless, asJSON bool) (int, error) {
	if err := nonNegative("talk", talk); err != nil {
		return exitError, err
	}
	if !headless && !asJSON && c.stdout == io.Writer(os.Stdout) && isTerminal(os.Stdin) && isTerminal(os.Stdout) {
		return runDemoTUI(ctx, c, cfg, media)
	}

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "softphone-demo-")
	if err != nil {
		return exitError, fmt.Errorf("create temporary data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		return exitError, fmt.Errorf("configure embedded server: %w", err)
	}
	if err := srv.Start(sigCtx); err != nil {
		_ = srv.Close()
		return exitError, fmt.Errorf("start embedded server: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(c.stdout, "embedded server at %s (data in %s)\n", srv.URL(), dir)

	out := &sync.Mutex{}
	party := func(account string) (*call.Engine, *eventPrinter, error) {
		token, err := srv.CreateUser(sigCtx, account, account)
		if err != nil {
			return nil, nil, fmt.Errorf("create account %s: %w", account, err)
		}
		fmt.Fprintf(c.stdout, "created account %s\n", account)
		eng := call.New(call.Config{Server: srv.URL(), Language: cfg.Language, Logger: slog.New(slog.DiscardHandler)})
		if err := eng.Login(sigCtx, account, token); err != nil {
			_ = eng.Close()
			return nil, nil, fmt.Errorf("log in %s: %w", account, err)
		}
		if err := eng.SetCallTimeout(cfg.CallTimeout); err != nil {
			_ = eng.Close()
			return nil, nil, fmt.Errorf("callTimeout: %w", err)
		}
		return eng, &eventPrinter{w: c.stdout, mu: out, json: asJSON, prefix: fmt.Sprintf("%-6s", account)}, nil
	}
	alice, aliceOut, err := party("alice")
	if err != nil {
		return exitError, err
	}
	defer alice.Close()
	bob, bobOut, err := party("bob")
	if err != nil {
		return exitError, err
	}
	defer bob.Close()

	// bob answers on his own goroutine, owned here: it ends with its call,
	// and ctx bounds it if alice's side fails.
	bobCtx, cancelBob := context.WithCancel(sigCtx)
	defer cancelBob()
	var bobStatus int
	var bobErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := &follower{eng: bob, out: bobOut, events: bob.Events(), stopSignals: func() {}}
		inv, err := f.waitInvite(bobCtx)
		if err != nil {
			bobErr = err
			return
		}
		bobStatus, bobErr = f.follow(bobCtx, callPlan{
			channelID: inv.ChannelID,
			actAfter:  500 * time.Millisecond, // let it ring a moment
			act:       func(ctx context.Context) error { return bob.Accept(ctx, &inv) },
		})
	}()

	f := &follower{eng: alice, out: aliceOut, events: alice.Events(), signals: sigCtx.Done(), stopSignals: stop}
	reply, err := alice.Call(sigCtx, "bob", protocol.CallAudio, nil)
	if err != nil {
		cancelBob()
		wg.Wait()
		return exitError, fmt.Errorf("alice calls bob: %w", err)
	}
	status, err := f.follow(ctx, callPlan{channelID: reply.ChannelID, hangupAfter: talk})
	if err != nil {
		cancelBob()
	}
	wg.Wait()
	if err := errors.Join(err, bobErr); err != nil {
		return exitError, err
	}
	if status != exitOK || bobStatus != exitOK {
		return exitError, fmt.Errorf("call did not complete: alice exit status %d, bob %d", status, bobStatus)
	}
	fmt.Fprintln(c.stdout, "demo call completed: both sides got the record")
	return exitOK, nil
}
