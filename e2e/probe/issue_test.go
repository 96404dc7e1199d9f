//go:build probe

package probe

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIssue12 re-checks the seven items of issue 12 as their reporter would.
func TestIssue12(t *testing.T) {
	sp := startServe(t, "")

	// 1. A token reset or an account removal ends live sessions.
	probeCase(t, "I1a", "reset-token ends a live session: SESSION_ENDED tokenReset, close 1008", func(t *testing.T) {
		tok := sp.createUser("r1a", "")
		w := login(t, sp, "r1a", tok)
		sp.resetToken("r1a")
		ev, ok := w.waitEvent("SESSION_ENDED", 5*time.Second)
		if !ok || ev.str("reason") != "tokenReset" {
			t.Fatalf("no SESSION_ENDED tokenReset: %+v", ev)
		}
		ce, ok := w.waitClosed(5 * time.Second)
		if !ok || ce == nil || ce.Code != 1008 {
			t.Fatalf("connection not closed with 1008: %v %v", ce, ok)
		}
	})
	probeCase(t, "I1b", "after a reset the old session's call gets no channel", func(t *testing.T) {
		tok := sp.createUser("r1b", "")
		sp.createUser("r1bpeer", "")
		w := login(t, sp, "r1b", tok)
		sp.resetToken("r1b")
		id := w.send("call", map[string]any{"to": "r1bpeer", "callType": 1})
		if f, ok := w.reply(id, 3*time.Second); ok && f.Code == 0 {
			t.Fatalf("call after reset was served: %s", f.Raw)
		}
	})
	probeCase(t, "I1c", "old token refused at login after reset; the new one works", func(t *testing.T) {
		tok := sp.createUser("r1c", "")
		nt := sp.resetToken("r1c")
		if _, r := tryLogin(t, sp, "r1c", tok); r.Code != 401 {
			t.Fatalf("old token: %d %s", r.Code, r.Error)
		}
		if _, r := tryLogin(t, sp, "r1c", nt); r.Code != 0 {
			t.Fatalf("new token: %d %s", r.Code, r.Error)
		}
	})
	probeCase(t, "I1d", "account removal ends a live session: SESSION_ENDED accountRemoved", func(t *testing.T) {
		tok := sp.createUser("r1d", "")
		w := login(t, sp, "r1d", tok)
		sp.removeUser("r1d")
		ev, ok := w.waitEvent("SESSION_ENDED", 5*time.Second)
		if !ok || ev.str("reason") != "accountRemoved" {
			t.Fatalf("no SESSION_ENDED accountRemoved: %+v", ev)
		}
		if _, ok := w.waitClosed(5 * time.Second); !ok {
			t.Fatal("not closed")
		}
	})
	probeCase(t, "I1e", "TURN: refresh and a new allocation with the old credentials fail after reset", func(t *testing.T) {
		tok := sp.createUser("r1e", "")
		w := dialWS(t, sp.url)
		r := w.req("login", map[string]any{"account": "r1e", "token": tok, "device": newDevice(), "checkSum": true})
		urls, user, pass := iceServersOf(r)
		if len(urls) == 0 {
			t.Fatalf("no TURN in login reply: %s", r.Raw)
		}
		tc, err := dialTURN(urls[0], user, pass)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		if err := tc.allocate(); err != nil {
			t.Fatalf("allocate before reset: %v", err)
		}
		if err := tc.refresh(600); err != nil {
			t.Fatalf("refresh before reset: %v", err)
		}
		sp.resetToken("r1e")
		time.Sleep(300 * time.Millisecond)
		if err := tc.refresh(600); err == nil {
			t.Errorf("refresh with the old credentials after reset succeeded")
		}
		tc2, err := dialTURN(urls[0], user, pass)
		if err != nil {
			t.Fatal(err)
		}
		defer tc2.Close()
		if err := tc2.allocate(); err == nil {
			t.Errorf("new allocation with the old credentials after reset succeeded")
		}
	})
	probeCase(t, "I1f", "reset mid-call: the peer gets CALL_END and the channel ends", func(t *testing.T) {
		at := sp.createUser("r1fa", "")
		bt := sp.createUser("r1fb", "")
		a, b := login(t, sp, "r1fa", at), login(t, sp, "r1fb", bt)
		ch, _, _ := connect(t, a, b)
		sp.resetToken("r1fb")
		if _, ok := a.waitEventWhere("CALL_END", 5*time.Second, func(f frame) bool { return f.str("channelId") == ch }); !ok {
			t.Fatal("caller got no CALL_END")
		}
	})
	probeCase(t, "I1g", "headless answer: reset prints 'token was reset', exit 1, no reconnect", func(t *testing.T) {
		dir := t.TempDir()
		tok := sp.createUser("r1g", "")
		p := startCLI(t, dir, nil, "answer", "--json", "--no-media", "--server", sp.url, "--account", "r1g", "--token", tok)
		p.waitOut(t, `waiting|^`, 5*time.Second)
		time.Sleep(1500 * time.Millisecond)
		sp.resetToken("r1g")
		code := p.wait(t, 10*time.Second)
		out := p.out.String() + p.errb.String()
		if code != 1 || !strings.Contains(out, "token was reset") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
		if strings.Count(out, `"RECONNECTED"`) > 0 {
			t.Fatalf("reconnected after reset:\n%s", out)
		}
	})
	probeCase(t, "I1h", "TUI: a reset says 'token was reset'", func(t *testing.T) {
		requireTmux(t)
		tok := sp.createUser("r1h", "")
		scr := startTUI(t, 100, 30, "--server", sp.url, "--account", "r1h", "--token", tok, "--language", "en", "--no-media")
		scr.waitFor("contacts", "Contacts|联系人", 15*time.Second)
		sp.resetToken("r1h")
		scr.waitFor("the reset notice", "token was reset", 10*time.Second)
	})
	probeCase(t, "I1i", "a removed account's TURN credentials stop working", func(t *testing.T) {
		tok := sp.createUser("r1i", "")
		w := dialWS(t, sp.url)
		r := w.req("login", map[string]any{"account": "r1i", "token": tok, "device": newDevice(), "checkSum": true})
		urls, user, pass := iceServersOf(r)
		if len(urls) == 0 {
			t.Fatal("no TURN")
		}
		tc, err := dialTURN(urls[0], user, pass)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		if err := tc.allocate(); err != nil {
			t.Fatal(err)
		}
		sp.removeUser("r1i")
		sp.createUser("r1i", "") // recreated under the same name
		time.Sleep(300 * time.Millisecond)
		if err := tc.refresh(600); err == nil {
			t.Errorf("refresh after removal (and recreation) succeeded")
		}
	})

	// 2. Terminal escapes.
	probeCase(t, "I2a", "admin API refuses nicknames with controls, escapes, C1, bidi (400)", func(t *testing.T) {
		for i, name := range []string{"\x1b]0;x\x07", "a\x1b[2J", "\u009b31m", "ab\u202ecd", "x\ry", "t\tab", "nl\n", "\u2066iso", "z\u200fw", "del\x7f", "\ufeffbom"} {
			r := sp.admin("POST", "/admin/v1/users", map[string]string{"account": fmt.Sprintf("nick%d", i), "name": name})
			if r.Status != 400 {
				t.Errorf("name %q: HTTP %d %s", name, r.Status, r.Body)
			}
		}
		r := sp.admin("POST", "/admin/v1/users", map[string]string{"account": "nickok", "name": "爱丽丝 Ünïcode 👩‍💻"})
		if r.Status != 200 {
			t.Errorf("ordinary name refused: %d %s", r.Status, r.Body)
		}
	})
	hostile := startHostile(t, true)
	hostileNoInvite := startHostile(t, false)
	probeCase(t, "I2b", "hostile server: call lines and --json carry no raw escape", func(t *testing.T) {
		dir := t.TempDir()
		for _, json := range []bool{false, true} {
			args := []string{"call", "bob", "--no-media", "--server", hostileNoInvite.url, "--account", "alice", "--token", "x"}
			if json {
				args = append(args, "--json")
			}
			r := runCLI(t, dir, nil, 20*time.Second, args...)
			terminalSafe(t, fmt.Sprintf("call (json=%v)", json), r.all())
			if !strings.Contains(r.all(), `\`) {
				t.Errorf("no escaped text in output:\n%s", r.all())
			}
			r = runCLI(t, dir, nil, 20*time.Second, append(args[:1:1], append([]string{"err"}, args[2:]...)...)...)
			terminalSafe(t, "call error", r.all())
			if r.code != 1 {
				t.Errorf("call to err: exit %d", r.code)
			}
			r = runCLI(t, dir, nil, 20*time.Second, append(args[:1:1], append([]string{"media"}, args[2:]...)...)...)
			terminalSafe(t, "call with a hostile peer's media warning", r.all())
			if strings.Contains(r.all(), "c2VjcmV0") {
				t.Errorf("call prints the media token")
			}
		}
	})
	probeCase(t, "I2c", "hostile server: answer lines and --json (INVITED nick, attachment)", func(t *testing.T) {
		dir := t.TempDir()
		for _, js := range []bool{false, true} {
			args := []string{"answer", "--action", "ignore", "--count", "1", "--no-media", "--server", hostile.url, "--account", "alice", "--token", "x"}
			if js {
				args = append(args, "--json")
			}
			r := runCLI(t, dir, nil, 20*time.Second, args...)
			terminalSafe(t, fmt.Sprintf("answer (json=%v)", js), r.all())
			if !strings.Contains(r.all(), "INVITED") && !strings.Contains(r.all(), "Bob") {
				t.Errorf("the invite was not shown:\n%s", r.all())
			}
		}
	})
	probeCase(t, "I2d", "hostile server: records table and --json", func(t *testing.T) {
		dir := t.TempDir()
		for _, extra := range [][]string{nil, {"--json"}, {"--language", "en"}} {
			args := append([]string{"records", "--server", hostile.url, "--account", "alice", "--token", "x"}, extra...)
			r := runCLI(t, dir, nil, 20*time.Second, args...)
			terminalSafe(t, "records "+strings.Join(extra, " "), r.all())
			if r.code != 0 {
				t.Errorf("records exit %d: %s", r.code, r.all())
			}
		}
	})
	probeCase(t, "I2e", "hostile server: doctor table/json with an echoed login error", func(t *testing.T) {
		dir := t.TempDir()
		for _, extra := range [][]string{nil, {"--json"}} {
			args := append([]string{"doctor", "--server", hostile.url, "--account", "baduser", "--token", "x",
				"--audio-in", "tone", "--audio-out", "none", "--video-in", "testsrc"}, extra...)
			r := runCLI(t, dir, nil, 60*time.Second, args...)
			terminalSafe(t, "doctor "+strings.Join(extra, " "), r.all())
			if !strings.Contains(r.all(), "hostile") {
				t.Errorf("the server's error was not shown:\n%s", r.all())
			}
		}
	})
	probeCase(t, "I2f", "hostile server: run report (text, --json, --events, junit)", func(t *testing.T) {
		dir := t.TempDir()
		yaml := "accounts:\n  alice:\n    token: x\nsteps:\n  - login: alice\n  - call: {as: alice, to: bob}\n" +
			"  - wait: {as: alice, event: USER_ACCEPT, within: 3s}\n"
		if err := os.WriteFile(filepath.Join(dir, "evil.yaml"), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, extra := range [][]string{nil, {"--json"}, {"--events"}} {
			args := append([]string{"run", "--server", hostileNoInvite.url, "--no-media", "evil.yaml"}, extra...)
			r := runCLI(t, dir, nil, 30*time.Second, args...)
			terminalSafe(t, "run "+strings.Join(extra, " "), r.all())
		}
	})
	probeCase(t, "I2g", "hostile admin API: user list / create / reset-token / remove output", func(t *testing.T) {
		dir := t.TempDir()
		srv := "http://" + hostile.ln.Addr().String()
		for _, args := range [][]string{{"list"}, {"create", "zed"}, {"reset-token", "zed"}, {"remove", "zed"}} {
			a := append([]string{"user"}, args...)
			a = append(a, "--server", srv, "--app-key", "k", "--app-secret", "s")
			r := runCLI(t, dir, nil, 20*time.Second, a...)
			terminalSafe(t, "user "+args[0], r.all())
		}
	})
	probeCase(t, "I2h", "crafted trace file: trace show / stats escape every field", func(t *testing.T) {
		dir := t.TempDir()
		e, _ := json.Marshal(evil)
		es := string(e)
		lines := []string{
			`{"t":"2026-01-01T00:00:00Z","kind":"config","account":` + es + `,"device":` + es + `,"data":{"server":` + es + `}}`,
			`{"t":"2026-01-01T00:00:00.5Z","kind":"signal.in","account":` + es + `,"data":{"frame":{"v":1,"type":"event","event":"INVITED","data":{"from":` + es + `,"fromNick":` + es + `}}}}`,
			`{"t":"2026-01-01T00:00:01Z","kind":"event","account":` + es + `,"data":{"name":` + es + `,"data":{"from":` + es + `,"fromNick":` + es + `}}}`,
			`{"t":"2026-01-01T00:00:01.5Z","kind":"state","account":` + es + `,"data":{"from":` + es + `,"to":` + es + `}}`,
			`{"t":"2026-01-01T00:00:02Z","kind":"stats","account":` + es + `,"data":{"userId":` + es + `,"mos":4.2,"rttMs":20}}`,
			`{"t":"2026-01-01T00:00:03Z","kind":` + es + `,"account":` + es + `,"data":{"x":` + es + `}}`,
		}
		if err := os.WriteFile(filepath.Join(dir, "t.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"trace", "show", "t.jsonl"}, {"trace", "stats", "t.jsonl"}, {"trace", "show", "--kind", "signal,event", "t.jsonl"}} {
			r := runCLI(t, dir, nil, 20*time.Second, args...)
			terminalSafe(t, strings.Join(args, " "), r.all())
		}
		// A damaged file names the bad line, escaped.
		if err := os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte(lines[0]+"\n"+evil+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, dir, nil, 20*time.Second, "trace", "show", "bad.jsonl")
		terminalSafe(t, "trace show bad.jsonl", r.all())
		r = runCLI(t, dir, nil, 20*time.Second, "trace", "show", "no\x1b[2Jfile.jsonl")
		terminalSafe(t, "trace show missing evil name", r.all())
	})
	probeCase(t, "I2i", "TUI against a hostile server: no retitle, no clear, no colour, box intact", func(t *testing.T) {
		requireTmux(t)
		scr := startTUI(t, 110, 32, "--server", hostile.url, "--account", "alice", "--token", "x", "--no-media")
		scr.waitFor("the incoming call prompt", "来电|Incoming", 15*time.Second)
		time.Sleep(500 * time.Millisecond)
		scr.capture()
		incoming := scr.last
		scr.keys("l")
		time.Sleep(700 * time.Millisecond)
		scr.capture()
		scr.keys("l")
		time.Sleep(3500 * time.Millisecond) // the cancel and its record arrive
		scr.keys("Tab")
		time.Sleep(700 * time.Millisecond)
		scr.capture()
		raw := scr.rawOutput()
		for _, m := range evilMarkers {
			if i := strings.Index(raw, m); i >= 0 {
				t.Errorf("the TUI wrote %q raw to the terminal: …%q…", m, raw[max(0, i-60):min(len(raw), i+60)])
			}
		}
		if title := scr.title(); strings.Contains(title, "pwned") {
			t.Errorf("pane title became %q", title)
		}
		if !strings.Contains(incoming, `\x1b`) {
			t.Errorf("the incoming prompt does not show the escaped nickname:\n%s", incoming)
		}
		// The incoming box keeps its top border.
		if !regexp.MustCompile(`[╭┌┏╔]`).MatchString(incoming) {
			t.Errorf("the incoming call box lost its top border:\n%s", incoming)
		}
	})
	probeCase(t, "I2j", "hostile server: --debug log lines on stderr are escaped", func(t *testing.T) {
		dir := t.TempDir()
		r := runCLI(t, dir, nil, 20*time.Second, "answer", "--debug", "--action", "reject", "--count", "1", "--no-media",
			"--server", hostile.url, "--account", "alice", "--token", "x")
		terminalSafe(t, "answer --debug", r.all())
	})

	// 3. A recreated account starts with no history.
	probeCase(t, "I3a", "recreated account sees none of the previous holder's records", func(t *testing.T) {
		at := sp.createUser("r3a", "")
		bt := sp.createUser("r3b", "")
		a, b := login(t, sp, "r3a", at), login(t, sp, "r3b", bt)
		ch, _, _ := connect(t, a, b)
		a.req("hangup", map[string]any{"channelId": ch})
		b.waitEvent("MESSAGE_SENT", 5*time.Second)
		sp.removeUser("r3b")
		nt := sp.createUser("r3b", "")
		nb := login(t, sp, "r3b", nt)
		recs := nb.req("records", map[string]any{})
		if l, _ := recs.data()["records"].([]any); len(l) != 0 {
			t.Errorf("recreated account sees %d records: %s", len(l), recs.Raw)
		}
		one := nb.req("records", map[string]any{"channelId": ch})
		if l, _ := one.data()["records"].([]any); len(l) != 0 {
			t.Errorf("recreated account fetches the old call by channelId: %s", one.Raw)
		}
		r := runCLI(t, t.TempDir(), nil, 20*time.Second, "records", "--json", "--server", sp.url, "--account", "r3b", "--token", nt)
		if strings.TrimSpace(r.stdout) != "" {
			t.Errorf("records CLI shows old history:\n%s", r.stdout)
		}
		// The other party keeps its copy.
		if l, _ := a.req("records", map[string]any{}).data()["records"].([]any); len(l) != 1 {
			t.Errorf("the other party has %d records, want 1", len(l))
		}
	})
	probeCase(t, "I3b", "recreated account does not inherit the old holder's contacts", func(t *testing.T) {
		xt := sp.createUser("r3x", "")
		sp.createUser("r3y", "")
		x := login(t, sp, "r3x", xt)
		x.req("contact.add", map[string]any{"account": "r3y"})
		x.c.Close()
		sp.removeUser("r3x")
		nt := sp.createUser("r3x", "")
		nx := login(t, sp, "r3x", nt)
		if l, _ := nx.req("contacts", nil).data()["contacts"].([]any); len(l) != 0 {
			t.Errorf("recreated account inherited contacts: %v", l)
		}
	})
	probeCase(t, "I3c", "consent given to an account's previous holder does not pass to the new one", func(t *testing.T) {
		at := sp.createUser("r3m", "Alice")
		bt := sp.createUser("r3n", "")
		a, b := login(t, sp, "r3m", at), login(t, sp, "r3n", bt)
		a.req("contact.add", map[string]any{"account": "r3n"})
		b.req("contact.add", map[string]any{"account": "r3m"})
		b.c.Close()
		sp.removeUser("r3n")
		nt := sp.createUser("r3n", "")
		nb := login(t, sp, "r3n", nt)
		r := nb.req("contact.add", map[string]any{"account": "r3m"})
		for _, c := range r.data()["contacts"].([]any) {
			m := c.(map[string]any)
			if m["account"] == "r3m" && m["presence"] != "pending" {
				t.Errorf("the new holder of r3n sees r3m's presence without r3m's consent: %v", m)
			}
		}
		// r3m going offline/online must not reach the new holder.
		a.c.Close()
		time.Sleep(500 * time.Millisecond)
		a2 := login(t, sp, "r3m", at)
		_ = a2
		time.Sleep(800 * time.Millisecond)
		for _, ev := range nb.eventsNamed("PRESENCE") {
			if ev.str("account") == "r3m" && ev.str("presence") != "pending" {
				t.Errorf("PRESENCE of r3m reached the new holder: %s", ev.Raw)
			}
		}
	})

	// 4. Media tokens never in event output.
	probeCase(t, "I4a", "call --json / answer --json print no media token, account token or TURN credential", func(t *testing.T) {
		dir := t.TempDir()
		at := sp.createUser("r4a", "")
		bt := sp.createUser("r4b", "")
		ans := startCLI(t, dir, nil, "answer", "--json", "--no-media", "--server", sp.url, "--account", "r4b", "--token", bt)
		time.Sleep(1500 * time.Millisecond)
		r := runCLI(t, dir, nil, 30*time.Second, "call", "r4b", "--json", "--no-media", "--hangup-after", "1s",
			"--server", sp.url, "--account", "r4a", "--token", at, "--trace", "a.jsonl")
		ans.wait(t, 15*time.Second)
		for name, out := range map[string]string{"call": r.all(), "answer": ans.out.String() + ans.errb.String()} {
			if !strings.Contains(out, "USER_ACCEPT") && name == "call" {
				t.Fatalf("no USER_ACCEPT in call output:\n%s", out)
			}
			for _, bad := range []string{"mediaToken", "tokenExpiresAt", `"v1.`, at, bt, "credential", "username"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s --json prints %q", name, bad)
				}
			}
			if regexp.MustCompile(`v1\.\d{9,}\.`).MatchString(out) {
				t.Errorf("%s prints a channel token", name)
			}
		}
		tr, err := os.ReadFile(filepath.Join(dir, "a.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(filepath.Join(dir, "a.jsonl"))
		if st.Mode().Perm() != 0o600 {
			t.Errorf("trace mode %v", st.Mode().Perm())
		}
		if strings.Contains(string(tr), at) || regexp.MustCompile(`v1\.\d{9,}\.[A-Za-z0-9_-]{10,}`).Match(tr) {
			t.Errorf("the trace holds a token")
		}
		if m := regexp.MustCompile(`"credential":"([^"\[]+)"`).FindSubmatch(tr); m != nil {
			t.Errorf("the trace holds a TURN credential %s", m[1])
		}
	})
	probeCase(t, "I4b", "run --json --events and demo --json print no media token", func(t *testing.T) {
		dir := t.TempDir()
		at := sp.createUser("r4c", "")
		bt := sp.createUser("r4d", "")
		yaml := "accounts:\n  r4c:\n    token_env: AT\n  r4d:\n    token_env: BT\nsteps:\n  - login: r4c\n  - login: r4d\n" +
			"  - call: {as: r4c, to: r4d}\n  - wait: {as: r4d, event: INVITED, within: 5s}\n  - accept: r4d\n" +
			"  - wait: {as: r4c, event: USER_ACCEPT, within: 5s}\n  - hangup: r4c\n"
		_ = os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(yaml), 0o600)
		r := runCLI(t, dir, []string{"AT=" + at, "BT=" + bt}, 60*time.Second, "run", "--json", "--events", "--no-media", "--server", sp.url, "s.yaml")
		if !strings.Contains(r.all(), "USER_ACCEPT") {
			t.Fatalf("run did not reach USER_ACCEPT:\n%s", r.all())
		}
		if strings.Contains(r.all(), "mediaToken") || regexp.MustCompile(`v1\.\d{9,}\.`).MatchString(r.all()) {
			t.Errorf("run --events prints a media token")
		}
		d := runCLI(t, dir, nil, 60*time.Second, "demo", "--headless", "--json", "--talk", "1s")
		if strings.Contains(d.all(), "mediaToken") || regexp.MustCompile(`v1\.\d{9,}\.`).MatchString(d.all()) {
			t.Errorf("demo --json prints a media token")
		}
	})
	probeCase(t, "I4c", "TUI event log shows no media token", func(t *testing.T) {
		requireTmux(t)
		at := sp.createUser("r4e", "")
		bt := sp.createUser("r4f", "")
		scr := startTUI(t, 160, 40, "--server", sp.url, "--account", "r4e", "--token", at, "--no-media", "--debug")
		scr.waitFor("contacts", "联系人", 15*time.Second)
		p := startCLI(t, t.TempDir(), nil, "call", "r4e", "--json", "--no-media", "--hangup-after", "2s",
			"--server", sp.url, "--account", "r4f", "--token", bt)
		scr.waitFor("incoming", "来电", 15*time.Second)
		scr.keys("y")
		p.waitOut(t, "USER_ACCEPT", 10*time.Second)
		time.Sleep(time.Second)
		scr.capture()
		raw := scr.rawOutput()
		if strings.Contains(raw, "mediaToken") || regexp.MustCompile(`v1\.\d{9,}\.`).MatchString(raw) {
			t.Errorf("the TUI shows a media token")
		}
		p.wait(t, 15*time.Second)
	})

	// 5. One serve per data directory.
	probeCase(t, "I5a", "a second serve on the same --data is refused, naming the holder's PID", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), nil, 20*time.Second, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--data", sp.dir, "--turn-listen", "off")
		if r.code == 0 || !regexp.MustCompile(fmt.Sprintf(`PID %d\b`, sp.cmd.Process.Pid)).MatchString(r.all()) {
			t.Fatalf("exit %d:\n%s", r.code, r.all())
		}
	})
	probeCase(t, "I5b", "a second serve through a symlink to the data directory is refused", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(sp.dir, link); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, t.TempDir(), nil, 20*time.Second, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--data", link, "--turn-listen", "off")
		if r.code == 0 || !strings.Contains(r.all(), "in use") {
			t.Fatalf("exit %d:\n%s", r.code, r.all())
		}
	})

	// 6. Presence only between mutual contacts; no enumeration.
	probeCase(t, "I6a", "contact.add: unknown account answered exactly like one that has not accepted", func(t *testing.T) {
		ot := sp.createUser("r6o", "")
		sp.createUser("r6exists", "Exists")
		o := login(t, sp, "r6o", ot)
		r1 := o.req("contact.add", map[string]any{"account": "r6exists"})
		r2 := o.req("contact.add", map[string]any{"account": "r6nobody"})
		norm := func(f frame) string {
			s := strings.ReplaceAll(string(f.Data), "r6exists", "X")
			return strings.ReplaceAll(s, "r6nobody", "X")
		}
		if r1.Code != r2.Code || !strings.Contains(norm(r2), `{"account":"X","presence":"pending"},{"account":"X","presence":"pending"}`) {
			t.Errorf("replies differ: %s vs %s", r1.Raw, r2.Raw)
		}
		rm1 := o.req("contact.remove", map[string]any{"account": "r6exists"})
		rm2 := o.req("contact.remove", map[string]any{"account": "r6nobody"})
		if rm1.Code != rm2.Code {
			t.Errorf("contact.remove differs: %s vs %s", rm1.Raw, rm2.Raw)
		}
	})
	probeCase(t, "I6b", "no PRESENCE to a one-sided watcher when the watched account comes and goes", func(t *testing.T) {
		wt := sp.createUser("r6w", "")
		vt := sp.createUser("r6v", "")
		w := login(t, sp, "r6w", wt)
		w.req("contact.add", map[string]any{"account": "r6v"})
		v := login(t, sp, "r6v", vt)
		time.Sleep(300 * time.Millisecond)
		v.c.Close()
		time.Sleep(800 * time.Millisecond)
		for _, ev := range w.eventsNamed("PRESENCE") {
			if ev.str("account") == "r6v" && ev.str("presence") != "pending" {
				t.Errorf("watcher got %s", ev.Raw)
			}
		}
		if c := w.req("contacts", nil); strings.Contains(string(c.Data), `"online"`) || strings.Contains(string(c.Data), `"offline"`) {
			t.Errorf("contacts shows presence: %s", c.Raw)
		}
	})
	probeCase(t, "I6c", "mutual contacts see presence; after one removes the other it is pending and silent", func(t *testing.T) {
		xt := sp.createUser("r6x", "")
		yt := sp.createUser("r6y", "")
		x, y := login(t, sp, "r6x", xt), login(t, sp, "r6y", yt)
		x.req("contact.add", map[string]any{"account": "r6y"})
		r := y.req("contact.add", map[string]any{"account": "r6x"})
		if !strings.Contains(string(r.Data), `"online"`) {
			t.Errorf("mutual contact not online: %s", r.Raw)
		}
		if _, ok := x.waitEventWhere("PRESENCE", 3*time.Second, func(f frame) bool { return f.str("account") == "r6y" && f.str("presence") == "online" }); !ok {
			t.Errorf("no PRESENCE online on acceptance")
		}
		y.req("contact.remove", map[string]any{"account": "r6x"})
		if _, ok := x.waitEventWhere("PRESENCE", 3*time.Second, func(f frame) bool { return f.str("account") == "r6y" && f.str("presence") == "pending" }); !ok {
			t.Errorf("no PRESENCE pending after removal")
		}
		x.clearEvents()
		y.c.Close()
		time.Sleep(800 * time.Millisecond)
		for _, ev := range x.eventsNamed("PRESENCE") {
			if ev.str("account") == "r6y" {
				t.Errorf("presence after removal: %s", ev.Raw)
			}
		}
	})
	probeCase(t, "I6d", "login: unknown account and wrong token give the same answer", func(t *testing.T) {
		sp.createUser("r6l", "")
		_, r1 := tryLogin(t, sp, "r6l", "wrongtoken")
		_, r2 := tryLogin(t, sp, "r6nosuch", "wrongtoken")
		if r1.Code != r2.Code || r1.Error != r2.Error {
			t.Errorf("login differs: %d %q vs %d %q", r1.Code, r1.Error, r2.Code, r2.Error)
		}
		// checkSum:false on a secure server: same for both too.
		w := dialWS(t, sp.url)
		a := w.req("login", map[string]any{"account": "r6l", "device": "d1", "checkSum": false})
		w2 := dialWS(t, sp.url)
		b := w2.req("login", map[string]any{"account": "r6nosuch", "device": "d1", "checkSum": false})
		if a.Code != b.Code || a.Error != b.Error {
			t.Errorf("checkSum:false login differs: %d vs %d", a.Code, b.Code)
		}
	})
	probeCase(t, "I6e", "records {peer}: unknown and existing accounts answered alike", func(t *testing.T) {
		ot := sp.createUser("r6r", "")
		sp.createUser("r6rx", "")
		o := login(t, sp, "r6r", ot)
		a := o.req("records", map[string]any{"peer": "r6rx"})
		b := o.req("records", map[string]any{"peer": "r6rnobody"})
		if a.Code != b.Code || string(a.Data) != string(b.Data) {
			t.Errorf("records differ: %s vs %s", a.Raw, b.Raw)
		}
	})
	probeCase(t, "I6f", "call: does the reply reveal existence or presence of a non-contact?", func(t *testing.T) {
		ot := sp.createUser("r6c", "")
		sp.createUser("r6coff", "")
		pt := sp.createUser("r6con", "")
		o := login(t, sp, "r6c", ot)
		p := login(t, sp, "r6con", pt)
		_ = p
		unknown := o.req("call", map[string]any{"to": "r6cnobody", "callType": 1, "timeoutMs": 1000})
		off := o.req("call", map[string]any{"to": "r6coff", "callType": 1, "timeoutMs": 1000})
		if off.Code == 0 {
			o.req("cancel", map[string]any{"channelId": off.str("channelId")})
		}
		time.Sleep(300 * time.Millisecond)
		on := o.req("call", map[string]any{"to": "r6con", "callType": 1, "timeoutMs": 1000})
		if on.Code == 0 {
			o.req("cancel", map[string]any{"channelId": on.str("channelId")})
		}
		t.Logf("unknown: %d %s; offline: %d calleeOnline=%v; online: %d calleeOnline=%v",
			unknown.Code, unknown.Error, off.Code, off.data()["calleeOnline"], on.Code, on.data()["calleeOnline"])
		if unknown.Code != off.Code {
			t.Logf("INFO: call distinguishes unknown accounts (%d) from existing ones (%d); the callee sees every probe that hits", unknown.Code, off.Code)
		}
	})

	// 7. TURN over TCP and TLS.
	probeCase(t, "I7a", "TURN over TCP and TLS offered in iceServers and allocating", func(t *testing.T) {
		dir := t.TempDir()
		cert, key := makeCert(t, dir)
		tsp := startServe(t, "", "--turn-tcp-listen", "127.0.0.1:0", "--turn-tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
		tok := tsp.createUser("r7", "")
		w := dialWS(t, tsp.url)
		r := w.req("login", map[string]any{"account": "r7", "token": tok, "device": newDevice(), "checkSum": true})
		urls, user, pass := iceServersOf(r)
		kinds := map[string]bool{}
		for _, u := range urls {
			kinds[u.scheme+"/"+u.transport] = true
			tc, err := dialTURN(u, user, pass)
			if err != nil {
				t.Errorf("dial %v: %v", u, err)
				continue
			}
			if err := tc.allocate(); err != nil {
				t.Errorf("allocate over %s/%s: %v", u.scheme, u.transport, err)
			} else if err := tc.refresh(600); err != nil {
				t.Errorf("refresh over %s/%s: %v", u.scheme, u.transport, err)
			}
			bad, _ := dialTURN(u, user, pass+"x")
			if bad != nil {
				if err := bad.allocate(); err == nil {
					t.Errorf("allocation with a wrong password over %s/%s succeeded", u.scheme, u.transport)
				}
				bad.Close()
			}
			tc.Close()
		}
		for _, k := range []string{"turn/udp", "turn/tcp", "turns/tcp"} {
			if !kinds[k] {
				t.Errorf("no %s URL in %v", k, urls)
			}
		}
	})
	probeCase(t, "I7b", "relay-only call with UDP blocked for the clients (netns)", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root for a network namespace")
		}
		if _, err := exec.LookPath("ip"); err != nil {
			t.Skip("no ip")
		}
		netnsRelayCall(t)
	})
	_ = syscall.SIGINT
}
