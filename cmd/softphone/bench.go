package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/softphone/softphone/bench"
)

// runBench runs the signaling load generator. It is a tool for
// docs/benchmarks.md, not part of the test suite: `bench signaling` starts
// its own serve and worker processes; `bench hold` is that worker.
func runBench(ctx context.Context, c *cli, args []string) (int, error) {
	if len(args) == 0 {
		return exitError, usageError{fmt.Errorf("bench needs a mode: signaling or hold")}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "signaling":
		return benchSignaling(ctx, c, args[1:])
	case "hold":
		return benchHold(ctx, c, args[1:])
	}
	return exitError, usageError{fmt.Errorf("unknown bench mode %q (signaling, hold)", args[0])}
}

func benchSignaling(ctx context.Context, c *cli, args []string) (int, error) {
	fs := flag.NewFlagSet("bench signaling", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	p := bench.Plan{}
	fs.IntVar(&p.LoadClients, "clients", 1000, "logged-in clients taking part in the call load")
	fs.Float64Var(&p.Rate, "rate", 100, "call setups per second")
	fs.DurationVar(&p.Duration, "duration", 20*time.Second, "length of each measured phase")
	fs.DurationVar(&p.Hold, "hold", 2*time.Second, "how long each accepted call lasts")
	fs.IntVar(&p.IdleClients, "idle", 0, "idle connections to add from worker processes (0 = skip)")
	fs.IntVar(&p.PerWorker, "per-worker", 6000, "connections per worker process")
	fs.StringVar(&p.ServeLogPath, "serve-log", "", "write serve's log to `FILE`")
	if err := fs.Parse(args); err != nil {
		return exitError, usageError{err}
	}
	exe, err := os.Executable()
	if err != nil {
		return exitError, fmt.Errorf("find own binary: %w", err)
	}
	p.Exe = exe
	if err := bench.RunSignaling(ctx, p, c.stdout); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

func benchHold(ctx context.Context, c *cli, args []string) (int, error) {
	fs := flag.NewFlagSet("bench hold", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	url := fs.String("server", "", "WebSocket `URL` of the server")
	credsPath := fs.String("creds", "", "JSON `FILE` of [{account, token}]")
	from := fs.Int("from", 0, "first credential to use")
	count := fs.Int("count", 0, "number of credentials to use")
	if err := fs.Parse(args); err != nil {
		return exitError, usageError{err}
	}
	b, err := os.ReadFile(*credsPath)
	if err != nil {
		return exitError, fmt.Errorf("read credentials: %w", err)
	}
	var creds []bench.Cred
	if err := json.Unmarshal(b, &creds); err != nil {
		return exitError, fmt.Errorf("parse credentials: %w", err)
	}
	if *from < 0 || *count < 0 || *from+*count > len(creds) {
		return exitError, fmt.Errorf("--from %d --count %d outside the %d credentials", *from, *count, len(creds))
	}
	bench.Hold(ctx, *url, creds[*from:*from+*count], func(n int, err error) {
		// The parent reads exactly this line: "ready N [first error]".
		if err != nil {
			fmt.Fprintf(c.stdout, "ready %d %s\n", n, oneLine(err.Error()))
			return
		}
		fmt.Fprintf(c.stdout, "ready %d\n", n)
	})
	return exitOK, nil
}
