package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandFlags are the flags of one command that feed the configuration:
// --config and the flags that override a config key. Each command builds its
// own, so nothing is shared between runs.
type commandFlags struct {
	fs         *pflag.FlagSet
	configPath string
	bound      []*configFlag // in the order they were bound
}

// configFlag is a flag whose value overrides a config key. It keeps the raw
// text so the config's own parser (the one the file and env go through)
// interprets it: "30s" or "true" means the same on every input.
type configFlag struct {
	name, key string
	raw       string
	set       bool
	typ       string
}

func (f *configFlag) String() string     { return f.raw }
func (f *configFlag) Set(s string) error { f.raw, f.set = s, true; return nil }
func (f *configFlag) Type() string       { return f.typ }

// newCommandFlags adds --config to fs and returns the binder for fs.
func newCommandFlags(fs *pflag.FlagSet) *commandFlags {
	c := &commandFlags{fs: fs}
	fs.StringVar(&c.configPath, "config", "", "config `FILE` (default ./config.yaml, else $XDG_CONFIG_HOME/softphone/config.yaml)")
	return c
}

// bind adds a flag that overrides config key.
func (c *commandFlags) bind(name, key, usage string) {
	f, ok := lookupField(key)
	if !ok {
		panic("softphone: flag --" + name + " bound to unknown config key " + key) // a programming error
	}
	v := &configFlag{name: name, key: key, typ: flagTypeName(f.typ)}
	c.bound = append(c.bound, v)
	pf := c.fs.VarPF(v, name, "", usage)
	if f.typ.Kind() == reflect.Bool {
		pf.NoOptDefVal = "true" // --debug alone means true, as a bool flag
	}
}

// flagTypeName is the placeholder help shows for a config flag without a
// backquoted name in its usage.
func flagTypeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() == reflect.Int:
		return "int"
	}
	return "string"
}

// identity binds the flags every client command takes.
func (c *commandFlags) identity() {
	c.bind("server", "server", "signaling server `URL`, e.g. ws://127.0.0.1:7800 or wss://host:7800 (env SOFTPHONE_SERVER)")
	c.bind("ca-file", "caFile", "PEM `FILE` of CA certificates to trust for a wss:// server besides the system's, e.g. a self-signed CA (env SOFTPHONE_CA_FILE)")
	c.bind("account", "account", "`ACCOUNT` to log in as (env SOFTPHONE_ACCOUNT)")
	c.bind("token", "imToken", "the account's `TOKEN` (env SOFTPHONE_TOKEN)")
	c.bind("language", "language", "`LANG` of call record texts: zh or en (env SOFTPHONE_LANGUAGE)")
	c.bind("checksum", "checkSum", "secure mode: log in with the token (--checksum=false only on a --debug server)")
	completeWords(c.fs, "language", languages...)
}

// overrides returns the config values set by flags on this command line.
func (c *commandFlags) overrides() []override {
	var out []override
	for _, v := range c.bound {
		if v.set {
			out = append(out, override{key: v.key, value: v.raw, source: "flag --" + v.name})
		}
	}
	return out
}

// load loads the configuration with this command's flags on top. getenv is
// the process environment (a parameter so tests control it).
func (c *commandFlags) load(getenv func(string) string) (*Config, error) {
	return loadConfig(c.configPath, getenv, c.overrides())
}

// usageError marks a bad command line (as opposed to a failure while running).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// flagError rephrases pflag's parse errors as the one line the CLI
// promises: the flag, the value and what it wants ("--limit "x": want a
// whole number"), not strconv's "parse error".
func flagError(cmd *cobra.Command, err error) error {
	var inv *pflag.InvalidValueError
	if errors.As(err, &inv) {
		f := inv.GetFlag()
		want := ""
		switch f.Value.Type() {
		case "int", "uint", "int64":
			want = "want a whole number"
		case "float64":
			want = "want a number"
		case "duration":
			want = "want a duration such as 1.5s, 30s or 2m"
		case "bool":
			want = "want true or false"
		default:
			if cause := errors.Unwrap(inv); cause != nil {
				want = cause.Error()
			}
		}
		return usageError{fmt.Errorf("--%s %q: %s", f.Name, inv.GetValue(), want)}
	}
	return usageError{fmt.Errorf("%w (softphone %s --help lists the flags)", err, commandPath(cmd))}
}

// commandPath is the command's path without the program name: "user create".
func commandPath(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
}

// noArgs is a cobra.PositionalArgs for commands that take none.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

// exactArgs wants n positional arguments, described by what.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("want %s", what)}
		}
		return nil
	}
}

// completeWords makes the shell complete a flag's value from a fixed list
// (falling back to file names when none matches: a source may be a file).
func completeWords(fs *pflag.FlagSet, name string, words ...string) {
	if f := fs.Lookup(name); f != nil {
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		f.Annotations[completionWordsKey] = words
	}
}

// completionWordsKey annotates a flag with its completion words;
// registerCompletions hands them to cobra once the command tree is built
// (cobra wants the command, which a flag set does not know).
const completionWordsKey = "softphone_words"

// registerCompletions walks the tree and registers the word lists.
func registerCompletions(cmd *cobra.Command) {
	register := func(f *pflag.Flag) {
		words, ok := f.Annotations[completionWordsKey]
		if !ok {
			return
		}
		if _, exists := cmd.GetFlagCompletionFunc(f.Name); exists {
			return
		}
		_ = cmd.RegisterFlagCompletionFunc(f.Name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return words, cobra.ShellCompDirectiveDefault
		})
	}
	cmd.LocalNonPersistentFlags().VisitAll(register)
	cmd.PersistentFlags().VisitAll(register)
	for _, sub := range cmd.Commands() {
		registerCompletions(sub)
	}
}
