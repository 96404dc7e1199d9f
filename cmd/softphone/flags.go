package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// commandFlags is one subcommand's flag set plus the flags that override a
// config key. Each command builds its own, so nothing is shared between runs.
type commandFlags struct {
	fs         *flag.FlagSet
	synopsis   string
	help       io.Writer // where -h prints the usage
	configPath string
	bound      map[string]*configFlag // flag name → config value
}

// configFlag is a flag whose value overrides a config key. It keeps the raw
// text so the config's own parser (the one the file and env go through)
// interprets it.
type configFlag struct {
	key    string
	raw    string
	isBool bool
}

func (f *configFlag) String() string     { return f.raw }
func (f *configFlag) Set(s string) error { f.raw = s; return nil }
func (f *configFlag) IsBoolFlag() bool   { return f.isBool }

func newCommandFlags(cl *cli, name, synopsis string) *commandFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse errors are reported by run as one line; -h prints the usage.
	fs.SetOutput(io.Discard)
	c := &commandFlags{fs: fs, synopsis: synopsis, help: cl.stdout, bound: map[string]*configFlag{}}
	fs.StringVar(&c.configPath, "config", "", "config file (default ./config.yaml, else $XDG_CONFIG_HOME/softphone/config.yaml)")
	fs.Usage = func() {}
	return c
}

// bind adds a flag that overrides config key.
func (c *commandFlags) bind(name, key, usage string) {
	f, ok := lookupField(key)
	if !ok {
		panic("softphone: flag --" + name + " bound to unknown config key " + key) // a programming error
	}
	v := &configFlag{key: key, isBool: f.typ.Kind() == reflect.Bool}
	c.bound[name] = v
	c.fs.Var(v, name, usage)
}

// identity binds the flags every client command takes.
func (c *commandFlags) identity() {
	c.bind("server", "server", "signaling server `URL`, e.g. ws://127.0.0.1:7800 (env SOFTPHONE_SERVER)")
	c.bind("account", "account", "`ACCOUNT` to log in as (env SOFTPHONE_ACCOUNT)")
	c.bind("token", "imToken", "the account's `TOKEN` (env SOFTPHONE_TOKEN)")
	c.bind("language", "language", "`LANG` of call record texts: zh or en (env SOFTPHONE_LANGUAGE)")
	c.bind("checksum", "checkSum", "secure mode: log in with the token (false only on a --debug server)")
}

// parse parses args, allowing flags after positional arguments
// (`call bob --type audio`), and returns the positional arguments.
func (c *commandFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(c.help, c.usageText())
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// A literal "--" ends flag parsing: everything after is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// overrides returns the config values set by flags on this command line.
func (c *commandFlags) overrides() []override {
	var out []override
	c.fs.Visit(func(f *flag.Flag) {
		if v, ok := c.bound[f.Name]; ok {
			out = append(out, override{key: v.key, value: v.raw, source: "flag --" + f.Name})
		}
	})
	return out
}

// load parses args and loads the configuration with this command's flags on
// top. getenv is the process environment (a parameter so tests control it).
func (c *commandFlags) load(args []string, getenv func(string) string) (*Config, []string, error) {
	pos, err := c.parse(args)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(c.configPath, getenv, c.overrides())
	if err != nil {
		return nil, nil, err
	}
	return cfg, pos, nil
}

// usageText renders the flag defaults for -h.
func (c *commandFlags) usageText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: softphone %s\n\nflags:\n", c.synopsis)
	c.fs.SetOutput(&b)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
	return b.String()
}

// usageError marks a bad command line (as opposed to a failure while running).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
