//go:build probe

package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTerminalInputs: files and arguments from elsewhere (a scenario or a
// config attached to a ticket, a script's arguments) are echoed escaped.
func TestTerminalInputs(t *testing.T) {
	sp := startServe(t, "")
	at := sp.createUser("alice", "")
	sp.createUser("bob", "")
	esc := strings.ReplaceAll(strings.ReplaceAll(evil, `\`, `\\`), `"`, `\"`)
	yamlEvil := func(s string) string {
		// YAML double-quoted strings take \e, \a, \x.., \u.... escapes.
		r := strings.NewReplacer("\x1b", `\e`, "\x07", `\a`, "\r", `\r`, "\u202e", `\u202e`, "\u009b", `\x9b`)
		return `"` + r.Replace(s) + `"`
	}
	_ = esc

	probeCase(t, "E01", "scenario files with escapes: parse errors and reports are escaped", func(t *testing.T) {
		dir := t.TempDir()
		files := map[string]string{
			"badacct.yaml":  "accounts:\n  " + yamlEvil("al"+evil) + ":\n    token: x\nsteps:\n  - login: alice\n",
			"badstep.yaml":  "accounts:\n  alice:\n    token_env: AT\nsteps:\n  - login: alice\n  - " + yamlEvil("step"+evil) + ": x\n",
			"badevent.yaml": "accounts:\n  alice:\n    token_env: AT\nsteps:\n  - login: alice\n  - wait: {as: alice, event: " + yamlEvil("EV"+evil) + ", within: 1s}\n",
			"match.yaml": "accounts:\n  alice:\n    token_env: AT\nsteps:\n  - login: alice\n  - call: {as: alice, to: bob, attachment: {n: " + yamlEvil(evil) + "}}\n" +
				"  - wait: {as: alice, event: CALLING_TIMEOUT, match: {userId: " + yamlEvil(evil) + "}, within: 1s}\n",
			"to.yaml": "accounts:\n  alice:\n    token_env: AT\nsteps:\n  - login: alice\n  - call: {as: alice, to: " + yamlEvil("bob"+evil) + "}\n",
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, extra := range [][]string{nil, {"--json"}} {
				args := append([]string{"run", "--server", sp.url, "--no-media", name}, extra...)
				r := runCLI(t, dir, []string{"AT=" + at}, 30*time.Second, args...)
				terminalSafe(t, "run "+name+" "+strings.Join(extra, " "), r.all())
			}
		}
		evilName := "sc" + "\x1b]0;pwned\x07" + ".yaml"
		_ = os.WriteFile(filepath.Join(dir, evilName), []byte(files["badacct.yaml"]), 0o600)
		r := runCLI(t, dir, nil, 30*time.Second, "run", "--server", sp.url, evilName)
		terminalSafe(t, "run with an evil file name", r.all())
	})
	probeCase(t, "E02", "config file values and environment with escapes: errors are escaped", func(t *testing.T) {
		dir := t.TempDir()
		cfg := "server: " + yamlEvil("ws://x"+evil) + "\nlanguage: " + yamlEvil("zh"+evil) + "\nbeautyLevel: 12\n"
		_ = os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(cfg), 0o600)
		r := runCLI(t, dir, nil, 20*time.Second, "call", "bob", "--config", "c.yaml", "--account", "alice", "--token", at)
		terminalSafe(t, "call with an evil config", r.all())
		r = runCLI(t, dir, []string{"SOFTPHONE_LANGUAGE=" + evil}, 20*time.Second, "records", "--server", sp.url, "--account", "alice", "--token", at)
		terminalSafe(t, "records with an evil environment value", r.all())
		cfg2 := yamlEvil("key"+evil) + ": 1\n"
		_ = os.WriteFile(filepath.Join(dir, "c2.yaml"), []byte(cfg2), 0o600)
		r = runCLI(t, dir, nil, 20*time.Second, "records", "--config", "c2.yaml")
		terminalSafe(t, "an evil unknown config key", r.all())
	})
	probeCase(t, "E03", "arguments with escapes echoed in errors are escaped", func(t *testing.T) {
		dir := t.TempDir()
		base := []string{"--server", sp.url, "--account", "alice", "--token", at}
		for _, args := range [][]string{
			append([]string{"call", "bob" + evil}, base...),
			append([]string{"call", "bob", "--impair", "loss=" + evil}, base...),
			append([]string{"call", "bob", "--audio-in", evil + ".wav"}, base...),
			append([]string{"call", "bob", "--video-in", evil + ".y4m"}, base...),
			append([]string{"call", "bob", "--type", evil}, base...),
			append([]string{"records", "--peer", evil}, base...),
			append([]string{"records", "--cursor", evil}, base...),
			append([]string{"doctor", "--echo", evil, "--audio-in", "tone", "--audio-out", "none", "--video-in", "none"}, base...),
			{"call", "bob", "--server", "ws://" + evil, "--account", "alice", "--token", "x"},
			{"call", "bob", "--account", "al" + evil, "--token", "x", "--server", sp.url},
			{"user", "create", "x" + evil, "--data", sp.dir},
			{"user", "create", "okname", "--name", evil, "--data", sp.dir},
			{"serve", "--listen", evil},
			{"--" + evil},
			{evil},
		} {
			r := runCLI(t, dir, nil, 20*time.Second, args...)
			terminalSafe(t, "softphone "+strings.Join(args[:min(2, len(args))], " "), r.all())
		}
	})
}
