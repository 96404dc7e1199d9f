// Command softphone is a terminal softphone with the NeCallKit 1:1 call flow:
// without a command (or with `tui`) it opens the terminal UI for the
// configured account; besides it has the signaling server (`serve`), account
// administration (`user`), headless caller and callee (`call`, `answer`) and
// a self-contained `demo`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// cli is what every subcommand gets: its output streams and the environment.
// It is built per run, so nothing is shared between runs (tests call run
// many times in one process).
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is a subcommand. run returns the process exit status; an error
// means status 1 and is printed as one line.
type command struct {
	synopsis string
	run      func(ctx context.Context, c *cli, args []string) (int, error)
}

func commands() map[string]command {
	return map[string]command{
		"tui":     {"tui " + tuiSynopsis, runTUI},
		"serve":   {"serve [--listen ADDR] [--data DIR] [--nats URL] [--debug] [--app-key K --app-secret S] [--turn-listen ADDR|off] [--turn-ip IP] [--bots] [--bot-names LIST] [--echo-delay D]", runServe},
		"user":    {"user create ACCOUNT [--name NICK] | list | remove ACCOUNT | reset-token ACCOUNT", runUser},
		"call":    {"call PEER [--type audio|video] [--timeout D] [--hangup-after D] [--cancel-after D] [--attachment JSON] [--json] " + mediaSynopsis, runCall},
		"answer":  {"answer [--action accept|reject|ignore] [--after D] [--hangup-after D] [--count N] [--json] " + mediaSynopsis, runAnswer},
		"devices": {"devices", runDevices},
		"demo":    {"demo [--headless] [--json] [--talk D] [--language zh|en] [--debug] " + mediaSynopsis, runDemo},
		"run":     {"run FILE.yaml... [--junit FILE] [--json] [--events] " + mediaSynopsis, runScenario},
		"records": {"records [--peer ACCOUNT] [--limit N] [--json]", runRecords},
		"trace":   {"trace show FILE [--kind K,...] [--account A] | trace stats FILE [--interval D] [--account A]", runTrace},
		"doctor":  {"doctor [--json] [--server URL] [--account A] [--token T] [--audio-in SRC] [--audio-out SINK] [--video-in SRC] [--echo ACCOUNT] [--echo-delay D]", runDoctor},
		"bench":   {"bench signaling [--clients N] [--rate R] [--duration D] [--idle N] | bench media [--only setup|m2e|g2g|cpu] | bench hold|peer (workers)", runBench},
	}
}

// mediaSynopsis lists the media flags of call and answer.
const mediaSynopsis = "[--audio-in FILE.wav|tone|silence|default|DEVICE] [--audio-out default|none|DEVICE] [--video-in testsrc|FILE.y4m|/dev/videoN|none] [--cameras SRC,SRC,...] [--record DIR] [--relay-only] [--no-media] [--impair SPEC] [--trace FILE]"

// Exit statuses besides the call outcomes (see outcomeStatus).
const (
	exitOK          = 0
	exitError       = 1
	exitInterrupted = 130 // interrupted before anything happened, like a shell
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	cmds := commands()
	if len(args) == 0 || (strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help") {
		// No command (maybe flags): the terminal UI. Without a terminal,
		// the usage helps more.
		status, err := runTUI(ctx, c, args)
		if errors.Is(err, errNoTerminal) {
			fmt.Fprint(stdout, usage(cmds))
		}
		if err != nil {
			fmt.Fprintf(stderr, "softphone: %s\n", oneLine(err.Error()))
		}
		return status
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage(cmds))
		return exitOK
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "softphone: unknown command %q (commands: %s)\n", name, commandNames(cmds))
		return exitError
	}
	status, err := cmd.run(ctx, c, args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp): // the command printed its usage
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "softphone %s: %s\n", name, oneLine(err.Error()))
		return exitError
	}
	return status
}

func usage(cmds map[string]command) string {
	var b strings.Builder
	b.WriteString("usage: softphone COMMAND [flags]\n\ncommands:\n")
	for _, n := range strings.Fields(commandNames(cmds)) {
		fmt.Fprintf(&b, "  softphone %s\n", cmds[n].synopsis)
	}
	b.WriteString("\nWithout a command softphone opens the terminal UI (softphone tui).\n")
	b.WriteString("Every command takes --config FILE; run `softphone COMMAND -h` for its flags.\n")
	return b.String()
}

func commandNames(cmds map[string]command) string {
	// Fixed order: the order a newcomer needs them in.
	order := []string{"tui", "demo", "serve", "user", "call", "answer", "run", "records", "trace", "doctor", "devices", "bench"}
	var names []string
	for _, n := range order {
		if _, ok := cmds[n]; ok {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

// oneLine keeps an error to the single stderr line the CLI promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// synopsisOf returns a command's one-line usage.
func synopsisOf(name string) string { return commands()[name].synopsis }
