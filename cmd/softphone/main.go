// Command softphone is a terminal softphone with the NeCallKit 1:1 call flow:
// without a command (or with `tui`) it opens the terminal UI for the
// configured account; besides it has the signaling server (`serve`), account
// administration (`user`), headless caller and callee (`call`, `answer`) and
// a self-contained `demo`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/internal/termsafe"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// cli is what every command gets: its output streams and the environment,
// and the exit status the command chose. It is built per run, so nothing is
// shared between runs (tests call run many times in one process).
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	status         int
}

// action adapts a command body to cobra: the body returns the process exit
// status, which cobra has no place for, so it is kept in c.
func (c *cli) action(body func(ctx context.Context, args []string) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		status, err := body(cmd.Context(), args)
		c.status = status
		return err
	}
}

// Exit statuses besides the call outcomes (see outcomeStatus).
const (
	exitOK          = 0
	exitError       = 1
	exitNoMedia     = 16  // the call completed, but no media arrived (MEDIA_WARNING noMedia)
	exitInterrupted = 130 // interrupted before anything happened, like a shell
)

// run executes one command line and returns the exit status. An error is
// printed as one line, "softphone COMMAND: what is wrong", and is status 1
// unless the command chose another.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRootCmd(c)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return c.status
	}
	prefix := "softphone"
	if cmd != nil && cmd != root {
		prefix += " " + commandPath(cmd)
	}
	// Errors carry what servers, files and peers said: printed escaped.
	fmt.Fprintf(stderr, "%s: %s\n", prefix, termsafe.String(oneLine(err.Error())))
	if c.status == exitOK {
		return exitError
	}
	return c.status
}

// oneLine keeps an error to the single stderr line the CLI promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// unknownCommand is the argument check of a command with subcommands
// (the root, user, trace, bench): it takes no arguments of its own, so one
// that is not a subcommand is a typo.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(": did you mean %s?", strings.Join(s, " or "))
	}
	return usageError{errors.New(msg + " (commands: " + strings.Join(names, ", ") + ")")}
}
