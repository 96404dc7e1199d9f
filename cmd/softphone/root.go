package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Command groups of the top-level help, in the order a newcomer needs them.
const (
	groupCalls  = "calls"
	groupInfo   = "info"
	groupServer = "server"
	groupOther  = "other"
)

const rootLong = `softphone is a terminal softphone with NeCallKit's 1:1 call flow: log in,
call, ring, accept, reject, cancel, busy, timeout, call records, audio and video.

Without a command it opens the terminal UI for the configured account
(softphone tui --help lists its flags).

Settings come from flags first, then SOFTPHONE_* environment variables, then
the config file (--config FILE, else ./config.yaml, else
$XDG_CONFIG_HOME/softphone/config.yaml). Exit status: 0 success, 1 error,
12 canceled, 13 rejected, 14 no answer, 15 busy, 16 completed but no
media arrived, 3 scenario step failed, 130 interrupted.`

const rootExample = `  # try everything with nothing set up: a local server with bots, the TUI logged in
  softphone demo

  # a server with bots, an account, and a headless call to the echo bot
  softphone serve --bots &
  softphone user create alice
  softphone call echo --account alice --token TOKEN --hangup-after 5s

  # check microphone, camera, server, TURN and the audio round trip
  softphone doctor --account alice --token TOKEN`

// newRootCmd builds the whole command tree for one run.
func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:     "softphone",
		Short:   "A terminal softphone with NeCallKit's 1:1 call flow",
		Long:    rootLong,
		Example: rootExample,
		Version: versionString(),
		Args:    unknownCommand,
		// Errors are printed once, as one line, by run; a usage dump after
		// every typo would bury it.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagError)

	// The terminal UI's flags work on the bare command too (softphone
	// --account alice); tui --help lists them, so the top-level help keeps
	// to the commands.
	tf := addTUIFlags(root.Flags())
	root.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" {
			f.Hidden = true
		}
	})
	root.RunE = c.action(func(ctx context.Context, args []string) (int, error) {
		status, err := runTUI(ctx, c, tf)
		if errors.Is(err, errNoTerminal) {
			// Without a terminal, the overview helps more than the UI.
			fmt.Fprint(c.stdout, root.UsageString())
		}
		return status, err
	})

	root.AddGroup(
		&cobra.Group{ID: groupCalls, Title: "Calls:"},
		&cobra.Group{ID: groupInfo, Title: "History and diagnostics:"},
		&cobra.Group{ID: groupServer, Title: "Server and accounts:"},
		&cobra.Group{ID: groupOther, Title: "Other:"},
	)
	root.SetHelpCommand(newHelpCmd(root))
	root.SetHelpCommandGroupID(groupOther)
	root.SetCompletionCommandGroupID(groupOther)
	root.AddCommand(
		newTUICmd(c), newDemoCmd(c), newCallCmd(c), newAnswerCmd(c), newRunCmd(c),
		newRecordsCmd(c), newTraceCmd(c), newDoctorCmd(c), newDevicesCmd(c),
		newServeCmd(c), newUserCmd(c),
		newBenchCmd(c), newVersionCmd(c),
	)
	registerCompletions(root)
	return root
}

// newHelpCmd is `help [command]`. Cobra's own prints the overview and exits
// 0 for a topic it does not know, so a script's typo looked like success.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help for any command: softphone help COMMAND [SUBCOMMAND].",
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := root.Find(args)
			if err != nil || target == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, c := range target.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return fmt.Errorf("no help topic %q: %q lists the commands", strings.Join(args, " "), "softphone help")
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}
