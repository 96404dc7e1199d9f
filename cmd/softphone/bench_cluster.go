package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/bench"
)

// newBenchClusterCmd: the cluster fault figures of issue 14.
func newBenchClusterCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Stale reads and NATS node kills on a 3-node cluster under two serve nodes",
		Long: `Start three nats-server processes (JetStream, R3) and two serve --nats nodes,
then: place --calls cross-node calls whose every step follows the event that
allows it at once, and count refused steps (stale reads); and for each
--faults run, kill a NATS node while call setups run at --rate and report what
the setups around it cost. Needs nats-server on PATH (scripts/test installs it
into bin/) or --nats-server.`,
		Example: `  softphone bench cluster --calls 1000
  softphone bench cluster --calls 0 --faults leader,node --rate 20`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	p := bench.ClusterPlan{}
	fs.IntVar(&p.Calls, "calls", 1000, "cross-node calls of the stale-read run (0 = skip)")
	fs.IntVar(&p.Parallel, "parallel", 10, "pairs calling at once in the stale-read run")
	fs.Float64Var(&p.Rate, "rate", 20, "call setups per second during the fault runs")
	faults := fs.String("faults", "follower,leader,leader-term,node,node-leader", "fault runs, comma-separated: follower, leader, leader-term, node, node-leader")
	fs.StringVar(&p.NATSServer, "nats-server", "", "the nats-server `BINARY` (default: from PATH)")
	fs.BoolVar(&p.KeepDir, "keep", false, "keep the data directory and logs")
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
		p.Exe = exe
		if p.NATSServer == "" {
			if p.NATSServer, err = exec.LookPath("nats-server"); err != nil {
				return fmt.Errorf("nats-server not found: put it on PATH (./scripts/test builds bin/nats-server) or give --nats-server")
			}
		}
		if *faults != "" {
			p.Faults = strings.Split(*faults, ",")
		}
		return bench.RunCluster(ctx, p, c.stdout)
	})
	return cmd
}

// newBenchSoakCmd: the long soak of issue 14.
func newBenchSoakCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Many complete calls on one serve, sampling its memory",
		Long: `Start one serve (embedded NATS/JetStream) and place --calls complete calls at
--rate (call, accept, hangup, both records), printing the server's RSS every
1,000 calls and after --idle, with its plateau.`,
		Example: `  softphone bench soak --calls 10000 --rate 50`,
		Args:    noArgs,
	}
	fs := cmd.Flags()
	p := bench.SoakPlan{}
	fs.IntVar(&p.Calls, "calls", 10000, "complete calls to place")
	fs.IntVar(&p.Pairs, "pairs", 20, "caller/callee pairs taking turns")
	fs.Float64Var(&p.Rate, "rate", 50, "calls per second")
	fs.DurationVar(&p.Idle, "idle", 30*time.Second, "how long to keep sampling after the last call")
	fs.StringVar(&p.ServeLogPath, "serve-log", "", "write serve's log to `FILE`")
	fs.BoolVar(&p.KeepDir, "keep", false, "keep the data directory")
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
		p.Exe = exe
		return bench.RunSoak(ctx, p, c.stdout)
	})
	return cmd
}
