package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/bench"
	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/internal/termsafe"
)

// newBenchCmd: the load generators. They are tools for docs/benchmarks.md,
// not part of the test suite: `bench signaling` and `bench media` start
// their own serve and worker processes; `bench hold` and `bench peer` are
// those workers. Each mode is one subcommand.
func newBenchCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure signaling and media figures (for docs/benchmarks.md)",
		Long: `Load generators and media measurements behind docs/benchmarks.md. signaling
and media start their own serve and worker processes; hold and peer are those
workers. They take minutes and the whole machine: not part of the tests.`,
		Example: `  softphone bench signaling --clients 1000 --rate 100 --duration 20s
  softphone bench media --only setup --calls 10`,
		Args:    unknownCommand,
		GroupID: groupOther,
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("bench needs a mode: signaling, media, hold, peer, cluster or soak")}
		},
	}
	cmd.AddCommand(newBenchSignalingCmd(c), newBenchMediaCmd(c), newBenchHoldCmd(c), newBenchPeerCmd(c),
		newBenchClusterCmd(c), newBenchSoakCmd(c))
	return cmd
}

// benchAction runs a bench body with SIGINT/SIGTERM cancelling its context.
func benchAction(c *cli, body func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return c.action(func(ctx context.Context, _ []string) (int, error) {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := body(ctx); err != nil {
			return exitError, err
		}
		return exitOK, nil
	})
}

func newBenchSignalingCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signaling",
		Short: "Call setups per second and connections one serve holds",
		Args:  noArgs,
	}
	fs := cmd.Flags()
	p := bench.Plan{}
	fs.IntVar(&p.LoadClients, "clients", 1000, "logged-in clients taking part in the call load")
	fs.Float64Var(&p.Rate, "rate", 100, "call setups per second")
	fs.DurationVar(&p.Duration, "duration", 20*time.Second, "length of each measured phase")
	fs.DurationVar(&p.Hold, "hold", 2*time.Second, "how long each accepted call lasts")
	fs.IntVar(&p.IdleClients, "idle", 0, "idle connections to add from worker processes (0 = skip)")
	fs.IntVar(&p.PerWorker, "per-worker", 6000, "connections per worker process")
	fs.StringVar(&p.ServeLogPath, "serve-log", "", "write serve's log to `FILE`")
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
		p.Exe = exe
		return bench.RunSignaling(ctx, p, c.stdout)
	})
	return cmd
}

func newBenchHoldCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "hold",
		Short:  "Worker of bench signaling: hold idle logged-in connections",
		Args:   noArgs,
		Hidden: true,
	}
	fs := cmd.Flags()
	url := fs.String("server", "", "WebSocket `URL` of the server")
	credsPath := fs.String("creds", "", "JSON `FILE` of [{account, token}]")
	from := fs.Int("from", 0, "first credential to use")
	count := fs.Int("count", 0, "number of credentials to use")
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		b, err := os.ReadFile(*credsPath)
		if err != nil {
			return fmt.Errorf("read credentials: %w", err)
		}
		var creds []bench.Cred
		if err := json.Unmarshal(b, &creds); err != nil {
			return fmt.Errorf("parse credentials: %w", err)
		}
		if *from < 0 || *count < 0 || *from+*count > len(creds) {
			return fmt.Errorf("--from %d --count %d outside the %d credentials", *from, *count, len(creds))
		}
		bench.Hold(ctx, *url, creds[*from:*from+*count], func(n int, err error) {
			// The parent reads exactly this line: "ready N [first error]".
			if err != nil {
				fmt.Fprintf(c.stdout, "ready %d %s\n", n, termsafe.String(oneLine(err.Error())))
				return
			}
			fmt.Fprintf(c.stdout, "ready %d\n", n)
		})
		return nil
	})
	return cmd
}

func newBenchMediaCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "media",
		Short: "Call setup, mouth-to-ear, glass-to-glass, CPU and memory of calls",
		Args:  noArgs,
	}
	fs := cmd.Flags()
	p := bench.MediaPlan{}
	fs.StringVar(&p.Only, "only", "", "run one `PART`: "+strings.Join(bench.MediaParts, ", ")+" (default all)")
	fs.IntVar(&p.SetupCalls, "calls", 10, "setup: calls for accept → first audio / video (p50)")
	fs.IntVar(&p.M2ECalls, "m2e-calls", 3, "m2e: calls for mouth-to-ear")
	fs.DurationVar(&p.M2EDuration, "m2e-duration", 8*time.Second, "m2e: length of each call")
	fs.DurationVar(&p.G2GDuration, "g2g-duration", 15*time.Second, "g2g: length of the glass-to-glass call")
	fs.DurationVar(&p.CPUDuration, "cpu-duration", 20*time.Second, "cpu: length of each CPU / RSS call")
	fs.DurationVar(&p.VideoDuration, "video-duration", 30*time.Second, "video: length of each impaired video call")
	fs.StringSliceVar(&p.VideoProfiles, "video-profiles", nil, "video: the `PROFILES` to run (comma-separated; default all: "+videoProfileNames()+")")
	fs.StringVar(&p.ServeLogPath, "serve-log", "", "write serve's log to `FILE`")
	fs.BoolVar(&p.Debug, "debug", false, "engine debug logs (in-process parts) to stderr")
	fs.BoolVar(&p.KeepDir, "keep", false, "keep the working directory (recordings, peer logs)")
	fs.BoolVar(&p.CPUWorkers, "cpu-workers", false, "cpu: run every case with `bench peer` processes instead of call/answer")
	fs.BoolVar(&p.Profile, "profile", false, "cpu: with --cpu-workers, write each peer's CPU profile into the working directory (implies --keep)")
	fs.BoolVar(&p.MemProfile, "memprofile", false, "cpu: with --cpu-workers, write each peer's in-call heap profile into the working directory and its memory figures into its log (implies --keep and --cpu-workers)")
	completeWords(fs, "only", bench.MediaParts...)
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		if p.SetupCalls < 1 || p.M2ECalls < 1 {
			return usageError{fmt.Errorf("--calls and --m2e-calls must be at least 1")}
		}
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
		p.Exe = exe
		return bench.RunMedia(ctx, p, c.stdout)
	})
	return cmd
}

func videoProfileNames() string {
	var n []string
	for _, p := range bench.VideoProfiles {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

// newBenchPeerCmd is one peer of `bench media`'s CPU part: a headless
// engine with every media setting on the command line (the frame rate has
// no config key).
func newBenchPeerCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "peer",
		Short:  "Worker of bench media: one headless caller or callee",
		Args:   noArgs,
		Hidden: true,
	}
	fs := cmd.Flags()
	p := bench.PeerConfig{}
	var typ string
	fs.StringVar(&p.Server, "server", "", "signaling server `URL`")
	fs.StringVar(&p.Account, "account", "", "`ACCOUNT` to log in as")
	fs.StringVar(&p.Token, "token", "", "the account's `TOKEN`")
	fs.StringVar(&p.Role, "role", "", "caller or callee")
	fs.StringVar(&p.Peer, "peer", "", "account to call (caller)")
	fs.StringVar(&typ, "type", "audio", "call type: audio or video (caller)")
	fs.DurationVar(&p.Duration, "duration", 20*time.Second, "hang up this long after the accept (caller); --memprofile's clock")
	fs.StringVar(&p.Media.AudioIn, "audio-in", call.SourceTone, "audio source")
	fs.StringVar(&p.Media.AudioOut, "audio-out", call.SourceNone, "audio sink")
	fs.StringVar(&p.Media.VideoIn, "video-in", call.SourceTestsrc, "video source")
	fs.IntVar(&p.Media.VideoWidth, "width", 640, "video width")
	fs.IntVar(&p.Media.VideoHeight, "height", 360, "video height")
	fs.Float64Var(&p.Media.FPS, "fps", 30, "video frame rate")
	fs.IntVar(&p.Media.MinBitrate, "min-bitrate", 600, "video minimum bitrate, kbps (the CLI default)")
	fs.IntVar(&p.Media.MaxBitrate, "max-bitrate", 900, "video maximum bitrate, kbps (the CLI default)")
	fs.StringVar(&p.Media.RecordDir, "record", "", "record the call into `DIR`")
	debug := fs.Bool("debug", false, "engine debug log to stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE`")
	memProfile := fs.String("memprofile", "", "write a heap profile to `FILE` three quarters of --duration into the call, and the memory figures of that moment to stderr")
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		return benchPeer(ctx, c, p, typ, *debug, *cpuProfile, *memProfile)
	})
	return cmd
}

func benchPeer(ctx context.Context, c *cli, p bench.PeerConfig, typ string, debug bool, cpuProfile, memProfile string) error {
	if memProfile != "" {
		p.InCall = func() { writeMemProfile(memProfile, c.stderr) }
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t, err := parseCallType(typ)
	if err != nil {
		return err
	}
	p.Type = t
	log := slog.New(slog.DiscardHandler)
	if debug {
		log = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return bench.RunPeer(ctx, p, c.stdout, log)
}
