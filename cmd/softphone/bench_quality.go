package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/bench"
)

// newBenchQualityCmd: audio quality of softphone-to-softphone calls over
// impaired networks (issue 9's profiles).
func newBenchQualityCmd(c *cli) *cobra.Command {
	var names []string
	for _, p := range bench.QualityProfiles {
		names = append(names, p.Name)
	}
	cmd := &cobra.Command{
		Use:   "quality",
		Short: "Audio quality of calls over impaired networks (fidelity, time shifts, concealment, STATS mos)",
		Long: `Runs softphone-to-softphone audio calls (call and answer processes sending
speech and recording what they play) with both directions impaired per
profile, and prints per profile the received speech's fidelity, the time
shifts a listener hears, the concealed and stretched shares, the STATS mos
and mouth-to-ear. Profiles: ` + strings.Join(names, ", ") + `.`,
		Example: `  softphone bench quality --calls 3
  softphone bench quality --profile loss5,bursty --speech talk.wav --pesq /opt/pesq/pesq`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	p := bench.QualityPlan{}
	fs.StringSliceVar(&p.Profiles, "profile", nil, "profiles to run, comma-separated (default all)")
	fs.IntVar(&p.Calls, "calls", 3, "calls per profile")
	fs.DurationVar(&p.Duration, "duration", 20*time.Second, "length of each call")
	fs.StringVar(&p.Speech, "speech", "", "speech `WAV` both sides send (default synthetic speech)")
	fs.StringVar(&p.PESQ, "pesq", "", "an ITU-T P.862.2 scorer `COMMAND` (run as COMMAND +16000 +wb REF DEG) to score the received speech as well")
	fs.StringVar(&p.ServeLogPath, "serve-log", "", "write serve's log to `FILE`")
	fs.BoolVar(&p.KeepDir, "keep", false, "keep the working directory (recordings, peer logs)")
	completeWords(fs, "profile", names...)
	cmd.RunE = benchAction(c, func(ctx context.Context) error {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
		p.Exe = exe
		return bench.RunQuality(ctx, p, c.stdout)
	})
	return cmd
}
