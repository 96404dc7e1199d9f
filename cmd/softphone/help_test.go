package main

import (
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commandLine finds what follows "softphone" on a line of code: the
// command path, arguments and flags, up to a pipe, a separator, a
// comment or the end of a command substitution.
var commandLine = regexp.MustCompile("(?:^|[\\s(`\"])softphone((?:[ \t]+[^|;&)#`\\n]*)?)")

// flagName is one --flag in a command line (its value, after =, dropped).
var flagName = regexp.MustCompile(`(?:^|[\s\[|])--([a-z][a-z0-9-]*)`)

// checkCommandLine fails when a documented command line names a flag the
// command does not have.
func checkCommandLine(t *testing.T, root *cobra.Command, where, line string) {
	t.Helper()
	for _, m := range commandLine.FindAllStringSubmatch(line, -1) {
		rest := m[1]
		// The command path: the words before the first flag or option list.
		var path []string
		for _, f := range strings.Fields(rest) {
			if strings.HasPrefix(f, "-") || strings.HasPrefix(f, "[") {
				break
			}
			path = append(path, f)
		}
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Errorf("%s: %q: %v", where, strings.TrimSpace(line), err)
			continue
		}
		// cobra adds --help (and the root's --version) when it runs.
		cmd.InitDefaultHelpFlag()
		root.InitDefaultVersionFlag()
		for _, fm := range flagName.FindAllStringSubmatch(rest, -1) {
			if cmd.Flag(fm[1]) == nil && cmd.Flags().Lookup(fm[1]) == nil {
				t.Errorf("%s: %q: softphone %s has no --%s", where, strings.TrimSpace(line), cmd.Name(), fm[1])
			}
		}
	}
}

// Every example in the help texts and every command line in the README
// (code blocks and inline code) uses flags the command has: help and docs
// cannot drift from the CLI unnoticed.
func TestDocumentedFlagsExist(t *testing.T) {
	root := newRootCmd(&cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for i, l := range strings.Split(c.Example, "\n") {
			checkCommandLine(t, root, c.CommandPath()+" example line "+strconv.Itoa(i+1), l)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	inline := regexp.MustCompile("`(softphone [^`]+)`")
	inCode, synopsis := false, ""
	for i, l := range strings.Split(string(readme), "\n") {
		where := "README.md:" + strconv.Itoa(i+1)
		if strings.HasPrefix(l, "```") {
			inCode, synopsis = !inCode, ""
			continue
		}
		if !inCode {
			for _, m := range inline.FindAllStringSubmatch(l, -1) {
				checkCommandLine(t, root, where, m[1])
			}
			continue
		}
		// A synopsis goes on over indented lines of options.
		if synopsis != "" && strings.HasPrefix(strings.TrimSpace(l), "[") {
			checkCommandLine(t, root, where, synopsis+" "+strings.TrimSpace(l))
			continue
		}
		synopsis = ""
		if m := commandLine.FindStringSubmatch(l); m != nil {
			synopsis = "softphone" + strings.Split(m[1], "[")[0]
		}
		checkCommandLine(t, root, where, l)
	}
}
