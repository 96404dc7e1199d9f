package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/mediadevices"
	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/impair"
	"github.com/softphone/softphone/call/trace"
	"github.com/softphone/softphone/internal/termsafe"
	"github.com/softphone/softphone/media/pa"
)

// traceSink is the --trace file of one command run. It is opened on the
// first connect and shared by every engine of the run (the accounts of a
// scenario, the TUI's re-logins), each record naming its account. Engines
// flush it when they close; the file itself is closed when the process
// exits.
type traceSink struct {
	path string

	mu  sync.Mutex
	w   *trace.Writer
	err error
}

// open returns the writer (nil without --trace) after recording the
// configuration and devices this engine is about to use.
func (s *traceSink) open(cfg *Config, media *call.MediaConfig) (*trace.Writer, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	if s.w == nil && s.err == nil {
		s.w, s.err = trace.Create(s.path)
		if s.err != nil {
			s.err = fmt.Errorf("--trace: %w", s.err)
		}
	}
	w, err := s.w, s.err
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// Redaction by field name covers these; by value is belt and braces.
	w.AddSecret(cfg.IMToken)
	w.AddSecret(cfg.Serve.AppSecret)
	src := trace.Source{Account: cfg.Account}
	now := time.Now()
	w.Log(now, src, trace.KindConfig, configRecord(cfg, media))
	w.Log(now, src, trace.KindDevices, devicesRecord(media))
	return w, nil
}

// close flushes and closes the trace file once every engine of the run is
// closed; nil-safe, and a sink never opened has nothing to close.
func (s *traceSink) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		_ = s.w.Close()
		s.w, s.err = nil, errors.New("--trace: file already closed")
	}
}

// configRecord is the effective configuration under the keys of
// config.yaml (secrets are redacted by the writer), where each explicitly
// set key came from, and the media settings of this run.
func configRecord(cfg *Config, media *call.MediaConfig) map[string]any {
	keys := map[string]any{}
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range configFields() {
		fv := v.FieldByIndex(f.index)
		if f.typ == durationType {
			keys[f.key] = time.Duration(fv.Int()).String()
			continue
		}
		keys[f.key] = fv.Interface()
	}
	rec := map[string]any{"config": keys, "origin": cfg.origin}
	if media == nil {
		rec["media"] = "none (signaling only)"
		return rec
	}
	m := map[string]any{
		"audioIn": media.AudioIn, "audioOut": media.AudioOut, "videoIn": media.VideoIn, "cameras": media.Cameras,
		"videoWidth": media.VideoWidth, "videoHeight": media.VideoHeight, "resolution": media.Resolution,
		"audioQuality": media.AudioQuality, "minBitrate": media.MinBitrate, "maxBitrate": media.MaxBitrate,
		"record": media.RecordDir, "relayOnly": media.RelayOnly, "iceServers": media.ICEServers,
	}
	if ic, ok := impair.ConfigOf(media.Net); ok {
		m["impair"] = ic.String()
	}
	rec["media"] = m
	return rec
}

// devicesRecord names the sources and sinks in use and, when a real device
// is involved, what PortAudio and the camera driver offer.
func devicesRecord(media *call.MediaConfig) map[string]any {
	if media == nil {
		return map[string]any{"media": "none"}
	}
	rec := map[string]any{"audioIn": media.AudioIn, "audioOut": media.AudioOut, "videoIn": media.VideoIn}
	synthetic := []string{"", call.SourceNone, call.SourceTone, call.SourceSilence}
	isDevice := func(s string) bool {
		return !slices.Contains(synthetic, s) && !strings.HasSuffix(strings.ToLower(s), ".wav")
	}
	if isDevice(media.AudioIn) || (media.AudioOut != "" && media.AudioOut != call.SourceNone) {
		sys, err := pa.Open(pa.Options{})
		if err != nil {
			rec["portaudio"] = "unavailable: " + err.Error()
		} else {
			rec["portaudio"] = sys.Devices()
			_ = sys.Close()
		}
	}
	if media.VideoIn == call.SourceDefault || strings.HasPrefix(media.VideoIn, "/dev/") {
		var cams []string
		for _, d := range mediadevices.EnumerateDevices() {
			if d.Kind == mediadevices.VideoInput {
				cams = append(cams, d.Label)
			}
		}
		rec["cameras"] = cams
	}
	return rec
}

func newTraceCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Read a --trace file: the timeline, or the quality over time",
		Long: `Read a trace written with --trace (call, answer, run, tui, demo): show prints
the timeline of signaling, events, ICE and state; stats the call quality over
time. FILE - reads stdin.`,
		Example: `  softphone call bob --trace call.trace
  softphone trace show call.trace --kind signal,state
  softphone trace stats call.trace --interval 1s`,
		Args:    unknownCommand,
		GroupID: groupInfo,
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("want: trace show FILE | trace stats FILE (FILE - reads stdin)")}
		},
	}
	var kinds, account string
	var interval time.Duration
	show := &cobra.Command{
		Use:     "show FILE",
		Short:   "Print the timeline of a trace",
		Example: `  softphone trace show call.trace --kind signal,state,ice --account alice`,
		Args:    exactArgs(1, "one trace FILE (- reads stdin)"),
		RunE: c.action(func(_ context.Context, args []string) (int, error) {
			if err := checkKinds(kinds); err != nil {
				return exitError, err
			}
			return runTrace(c, args[0], func(w io.Writer, recs []trace.Record) error {
				if err := checkAccount(recs, account); err != nil {
					return err
				}
				return trace.Show(w, filterRecords(recs, kinds, account))
			})
		}),
	}
	show.Flags().StringVar(&kinds, "kind", "", "only records whose kind starts with one of these, comma-separated `KINDS` (e.g. signal,state,ice)")
	show.Flags().StringVar(&account, "account", "", "only records of this `ACCOUNT`")
	completeWords(show.Flags(), "kind", trace.Kinds...)
	stats := &cobra.Command{
		Use:     "stats FILE",
		Short:   "Print the call quality over time as a table",
		Example: `  softphone trace stats call.trace --interval 1s --account bob`,
		Args:    exactArgs(1, "one trace FILE (- reads stdin)"),
		RunE: c.action(func(_ context.Context, args []string) (int, error) {
			if interval < 0 {
				return exitError, usageError{errors.New("--interval must not be negative")}
			}
			return runTrace(c, args[0], func(w io.Writer, recs []trace.Record) error {
				if err := checkAccount(recs, account); err != nil {
					return err
				}
				return trace.WriteStats(w, filterRecords(recs, "", account), interval)
			})
		}),
	}
	stats.Flags().DurationVar(&interval, "interval", 0, "row `INTERVAL` of the table (default: at most 30 rows)")
	stats.Flags().StringVar(&account, "account", "", "only records of this `ACCOUNT`")
	cmd.AddCommand(show, stats)
	return cmd
}

// runTrace reads the trace in path ("-" is stdin) and writes it with write.
func runTrace(c *cli, path string, write func(io.Writer, []trace.Record) error) (int, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return exitError, fmt.Errorf("open trace: %w", err)
		}
		defer f.Close()
		in = f
	}
	recs, readErr := trace.Read(in)
	// Traces come from customers: whatever the formatting missed is still
	// escaped on its way to the terminal.
	out := termsafe.NewWriter(c.stdout)
	err := write(out, recs)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	var notIn notInTrace
	if errors.As(err, &notIn) {
		return exitError, err
	}
	if err != nil {
		return exitError, fmt.Errorf("write: %w", err)
	}
	if readErr != nil {
		// What came before the bad line was printed: a truncated trace
		// still helps, but the exit status says it is incomplete.
		return exitError, fmt.Errorf("%s: %w (the records before it are shown)", path, readErr)
	}
	return exitOK, nil
}

func filterRecords(recs []trace.Record, kinds, account string) []trace.Record {
	var prefixes []string
	for k := range strings.SplitSeq(kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			prefixes = append(prefixes, k)
		}
	}
	if len(prefixes) == 0 && account == "" {
		return recs
	}
	out := recs[:0:0]
	for _, r := range recs {
		if account != "" && r.Account != account {
			continue
		}
		if len(prefixes) > 0 && !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(r.Kind, p) }) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// checkKinds refuses a --kind that matches no record kind: a typo would
// otherwise filter everything out and print an empty trace.
func checkKinds(kinds string) error {
	for k := range strings.SplitSeq(kinds, ",") {
		k = strings.TrimSpace(k)
		if k != "" && !slices.ContainsFunc(trace.Kinds, func(kind string) bool { return strings.HasPrefix(kind, k) }) {
			return usageError{fmt.Errorf("--kind %q: no record kind starts with it (kinds: %s)", k, strings.Join(trace.Kinds, ", "))}
		}
	}
	return nil
}

// notInTrace is an --account the trace does not hold.
type notInTrace struct{ account, have string }

func (e notInTrace) Error() string {
	return fmt.Sprintf("--account %q: not in this trace (accounts: %s)", e.account, e.have)
}

// checkAccount says so when --account names nobody in the trace, rather
// than print an empty timeline or table.
func checkAccount(recs []trace.Record, account string) error {
	if account == "" {
		return nil
	}
	var have []string
	for _, r := range recs {
		if r.Account == account {
			return nil
		}
		if r.Account != "" && !slices.Contains(have, r.Account) {
			have = append(have, r.Account)
		}
	}
	if len(have) == 0 {
		have = []string{"none"}
	}
	return notInTrace{account: account, have: strings.Join(have, ", ")}
}
