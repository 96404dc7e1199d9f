package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/scenario"
	"github.com/softphone/softphone/internal/termsafe"
)

// Exit status of `run` when a scenario step failed (a file that cannot be
// read or is invalid is an error: status 1 with one line on stderr).
const exitScenarioFailed = 3

func newRunCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run FILE.yaml...",
		Short: "Play scenario files: several accounts and devices, steps and expectations",
		Long: `Play scenario files: each names accounts and their devices, and steps (call,
accept, reject, hangup, switch type, wait for an event within a time). Prints a
report per step; exits 0 when every step passed, 3 when one failed, 1 when a
file cannot be read or is invalid (checked before anything connects).`,
		Example: `  softphone run examples/*.yaml
  softphone run busy.yaml --junit report.xml --no-media`,
		GroupID: groupCalls,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	// The file names the accounts and their tokens; of the identity flags
	// only these apply to every device.
	cf.bind("server", "server", "signaling server `URL` for files without server: (overrides theirs when given; env SOFTPHONE_SERVER)")
	cf.bind("language", "language", "`LANG` of the engines' record texts: zh or en (env SOFTPHONE_LANGUAGE)")
	cf.bind("checksum", "checkSum", "secure mode: log in with the tokens (--checksum=false only on a --debug server)")
	completeWords(fs, "language", languages...)
	junit := fs.String("junit", "", "also write a JUnit XML report (one testsuite per file, one testcase per step) to `FILE`")
	asJSON := fs.Bool("json", false, "print the report as JSON lines (start, step, end objects)")
	events := fs.Bool("events", false, "also print every engine event of every device as it arrives")
	media := addMediaFlags(fs)
	cmd.Args = func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{errors.New("want at least one scenario FILE.yaml")}
		}
		return nil
	}
	cmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	}
	cmd.RunE = c.action(func(ctx context.Context, files []string) (int, error) {
		cfg, err := cf.load(c.getenv)
		if err != nil {
			return exitError, err
		}
		return runScenario(ctx, c, cfg, media, files, *junit, *asJSON, *events)
	})
	return cmd
}

// runScenario plays scenario files: `softphone run FILE.yaml...`.
func runScenario(ctx context.Context, c *cli, cfg *Config, media *mediaFlags, files []string, junit string, asJSON, events bool) (int, error) {
	// Validate every file before anything connects.
	parsed := make([]*scenario.File, 0, len(files))
	for _, path := range files {
		f, err := scenario.ParseFile(path, c.getenv)
		if err != nil {
			return exitError, err
		}
		parsed = append(parsed, f)
	}

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	base := media.config(cfg) // nil with --no-media; also opens --trace lazily
	defer cfg.trace.close()   // after the runner closed its engines
	if err := checkSources(base); err != nil {
		return exitError, err
	}
	r := &scenario.Runner{
		Factory: scenarioFactory(c, cfg, media, base),
		Server:  cfg.Server,
		// A --server flag beats the file's server:; the environment and
		// the config file only fill in for files that name none.
		ForceServer: strings.HasPrefix(cfg.origin["server"], "flag"),
		NoMedia:     base == nil,
		Out:         c.stdout,
		JSON:        asJSON,
	}
	if events {
		r.Events = c.stdout
	}
	var results []*scenario.Result
	for _, f := range parsed {
		results = append(results, r.Run(sigCtx, f))
	}
	if junit != "" {
		if err := writeJUnitFile(junit, results); err != nil {
			return exitError, err
		}
	}
	if len(results) > 1 {
		r.WriteTotal(results)
	}
	for _, res := range results {
		if !res.Passed() {
			if len(results) > 1 {
				fmt.Fprintln(c.stderr, termsafe.String(scenario.Summary(results)))
			}
			return exitScenarioFailed, nil
		}
	}
	return exitOK, nil
}

// scenarioFactory builds each scenario device with connect, as `call` and
// `answer` do, so --trace, --impair, --relay-only and the config's video
// settings apply; the file picks each account's sources.
func scenarioFactory(c *cli, cfg *Config, mf *mediaFlags, base *call.MediaConfig) scenario.Factory {
	return func(ctx context.Context, s scenario.EngineSpec) (*call.Engine, error) {
		dc := *cfg // shares the trace sink: one --trace file for every device
		dc.Server, dc.Account, dc.IMToken = s.Server, s.Account, s.Token
		dc.device = s.Account + "-" + s.Device // the file's names show in server logs and traces
		var mc *call.MediaConfig
		if s.Media != nil && base != nil {
			m := *base
			m.AudioIn, m.AudioOut, m.VideoIn = s.Media.AudioIn, s.Media.AudioOut, s.Media.VideoIn
			if m.RecordDir != "" { // one recording directory per device
				m.RecordDir = filepath.Join(m.RecordDir, s.Account+"-"+s.Device)
			}
			m.Net = nil
			mf.applyImpair(&m) // a network of its own per device
			mc = &m
		}
		eng, err := connect(ctx, c, &dc, mc)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", s.Account, s.Device, err)
		}
		return eng, nil
	}
}

func writeJUnitFile(path string, results []*scenario.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := scenario.WriteJUnit(f, results); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
