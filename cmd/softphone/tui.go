package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/ui"
)

// uiLanguageUsage is --language of the commands that open the TUI: there
// it is the language of every screen, not only of the record texts.
const uiLanguageUsage = "`LANG` of the terminal UI and its call record texts: zh or en (env SOFTPHONE_LANGUAGE)"

// tuiLogName is the debug log of the terminal UI, in the data directory.
const tuiLogName = "softphone-tui.log"

// errNoTerminal is the one line printed when the TUI is started without a
// terminal (in a pipe, under CI): point at the headless commands instead.
var errNoTerminal = errors.New("the terminal UI needs a terminal on stdin and stdout; " +
	"in scripts use the headless commands: softphone call PEER, softphone answer, softphone records (softphone help lists them)")

// tuiFlags are the flags of the terminal UI (softphone and softphone tui).
type tuiFlags struct {
	cf    *commandFlags
	media *mediaFlags
}

func addTUIFlags(fs *pflag.FlagSet) *tuiFlags {
	cf := newCommandFlags(fs)
	cf.identity()
	fs.Lookup("language").Usage = uiLanguageUsage
	cf.bind("debug", "debug", "open the event log pane and write a debug log to DATA/"+tuiLogName+" (env SOFTPHONE_DEBUG)")
	cf.bind("timeout", "callTimeout", "ring `TIMEOUT` of calls placed, 1s–120s (env SOFTPHONE_CALL_TIMEOUT)")
	return &tuiFlags{cf: cf, media: addMediaFlags(fs)}
}

func newTUICmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Open the terminal UI (the default without a command)",
		Long: `Open the terminal UI for the configured account: contacts with presence,
call history, calls with a level meter, quality and video drawn in the
terminal. Without an account or token it opens a login form. ? shows the keys.`,
		Example: `  softphone tui --account alice --token TOKEN
  softphone --server ws://10.0.0.5:7800 --account alice --token TOKEN
  softphone tui --audio-in tone --video-in testsrc   # no devices needed`,
		Args:    noArgs,
		GroupID: groupCalls,
	}
	tf := addTUIFlags(cmd.Flags())
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) { return runTUI(ctx, c, tf) })
	return cmd
}

// runTUI opens the terminal UI for the configured account, or a login form
// when the account or token is missing.
func runTUI(ctx context.Context, c *cli, tf *tuiFlags) (int, error) {
	media := tf.media
	cfg, err := tf.cf.load(c.getenv)
	if err != nil {
		return exitError, err
	}
	if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		return exitError, errNoTerminal
	}
	if err := checkSources(media.config(cfg)); err != nil {
		return exitError, err
	}

	// Nothing but the UI may reach the screen: engine logs go to a file
	// with --debug and nowhere otherwise, and fd 2 is pointed there too so
	// C libraries (ALSA, JACK, libvpx) cannot print over the UI.
	logW, closeLog, err := openTUILog(cfg)
	if err != nil {
		return exitError, err
	}
	defer closeLog()
	restoreStderr, err := redirectStderr(logW)
	if err != nil {
		return exitError, err
	}
	defer restoreStderr()
	quiet := &cli{stdout: io.Discard, stderr: logW, getenv: c.getenv}
	mediaCfg := media.config(cfg)
	defer cfg.trace.close() // after the engine below is closed

	opts := ui.Options{
		Server:   cfg.Server,
		Account:  cfg.Account,
		Language: cfg.Language,
		Debug:    cfg.Debug,
		Getenv:   c.getenv,
	}
	if cfg.Account != "" && (cfg.IMToken != "" || !cfg.CheckSum) {
		eng, err := connect(ctx, quiet, cfg, mediaCfg)
		if err != nil {
			return exitError, err
		}
		defer eng.Close()
		opts.Engine = eng
	} else {
		opts.Login = func(ctx context.Context, server, account, token string) (*call.Engine, error) {
			lc := *cfg
			lc.Server, lc.Account, lc.IMToken = server, account, token
			if lc.Server == "" {
				lc.Server = cfg.Server
			}
			return connect(ctx, quiet, &lc, mediaCfg)
		}
	}
	return runUI(ctx, opts)
}

// runUI runs the terminal UI and turns how it ended into an exit status.
func runUI(ctx context.Context, opts ui.Options) (int, error) {
	err := ui.Run(ctx, opts)
	switch {
	case errors.Is(err, tea.ErrInterrupted):
		return exitInterrupted, nil
	case err != nil:
		return exitError, err
	}
	return exitOK, nil
}

// openTUILog opens the debug log (appending) or, without --debug, a sink.
func openTUILog(cfg *Config) (io.Writer, func(), error) {
	if !cfg.Debug {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		return f, func() { _ = f.Close() }, nil
	}
	if err := os.MkdirAll(cfg.Serve.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("debug log: %w", err)
	}
	path := filepath.Join(cfg.Serve.Data, tuiLogName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("debug log: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

// redirectStderr points fd 2 at w (an *os.File) until restore is called.
func redirectStderr(w io.Writer) (restore func(), err error) {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}, nil
	}
	saved, err := unix.Dup(2)
	if err != nil {
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	unix.CloseOnExec(saved)
	if err := unix.Dup3(int(f.Fd()), 2, 0); err != nil {
		_ = unix.Close(saved)
		return nil, fmt.Errorf("redirect stderr: %w", err)
	}
	return func() {
		_ = unix.Dup3(saved, 2, 0)
		_ = unix.Close(saved)
	}, nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
