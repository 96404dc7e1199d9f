//go:build linux

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/softphone/softphone/bench/bridge"
	"github.com/softphone/softphone/bench/netem"
)

func runBridge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := fs.String("a", "", "interface towards namespace A")
	b := fs.String("b", "", "interface towards namespace B")
	both := fs.String("profile", "", "impairment of both directions (netem syntax, e.g. loss=5%,delay=40ms,jitter=20ms; phases: rate=150kbps;30s:clean)")
	ab := fs.String("ab", "", "impairment A→B (overrides -profile)")
	ba := fs.String("ba", "", "impairment B→A (overrides -profile)")
	all := fs.Bool("all", false, "impair every frame, not only UDP")
	statsFile := fs.String("stats", "", "write the counters as JSON to `FILE` every second and at exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *a == "" || *b == "" {
		return fmt.Errorf("bridge: -a and -b are required")
	}
	pick := func(own string) ([]netem.Phase, error) {
		if own == "" {
			own = *both
		}
		return netem.ParsePlan(own)
	}
	pab, err := pick(*ab)
	if err != nil {
		return err
	}
	pba, err := pick(*ba)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	br, err := bridge.New(bridge.Config{A: *a, B: *b, AtoB: pab[0].Profile, BtoA: pba[0].Profile,
		AtoBLater: pab[1:], BtoALater: pba[1:], All: *all, Log: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	write := func() {
		if *statsFile == "" {
			return
		}
		data, _ := json.MarshalIndent(br.Stats(), "", "  ")
		tmp := *statsFile + ".tmp"
		if os.WriteFile(tmp, append(data, '\n'), 0o644) == nil {
			_ = os.Rename(tmp, *statsFile)
		}
	}
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	fmt.Fprintf(stdout, "bridge %s⇄%s ready: A→B %s, B→A %s\n", *a, *b, netem.PlanString(pab), netem.PlanString(pba))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			write()
			return err
		case <-tick.C:
			write()
		}
	}
}
