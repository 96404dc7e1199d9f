//go:build probe

package probe

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecrets: tokens, TURN credentials and the app secret stay out of logs,
// traces, errors and files others can read.
func TestSecrets(t *testing.T) {
	// A debug server logs the most.
	sp := startServe(t, "", "--debug")
	at := sp.createUser("alice", "")
	bt := sp.createUser("bob", "")
	var secrets []string // every secret handed out during the run
	secrets = append(secrets, at, bt, sp.secret)

	probeCase(t, "S01", "serve --debug log holds no token, channel token, TURN credential or app secret", func(t *testing.T) {
		a, b := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		// Their TURN credentials.
		w := dialWS(t, sp.url)
		r := w.req("login", map[string]any{"account": "alice", "token": at, "device": newDevice(), "checkSum": true, "client": "probe"})
		_, _, pass := iceServersOf(r)
		if pass != "" {
			secrets = append(secrets, pass)
		}
		ice := w.req("iceServers", nil)
		_, _, pass2 := iceServersOf(ice)
		if pass2 != "" {
			secrets = append(secrets, pass2)
		}
		ch, atok, btok := connect(t, a, b)
		secrets = append(secrets, atok, btok)
		a.req("relay", map[string]any{"channelId": ch, "token": atok, "kind": "control", "payload": map[string]any{"audioMuted": true}})
		a.req("relay", map[string]any{"channelId": ch, "token": atok + "x", "kind": "control", "payload": map[string]any{"audioMuted": true}})
		a.req("hangup", map[string]any{"channelId": ch})
		// Failed logins with near-miss tokens, a token in the wrong field.
		tryLogin(t, sp, "alice", at+"x")
		tryLogin(t, sp, "alice", bt)
		w2 := dialWS(t, sp.url)
		w2.req("login", map[string]any{"account": "alice", "token": at, "device": "bad device", "checkSum": true})
		w3 := dialWS(t, sp.url)
		w3.rawReq([]byte(`{"v":1,"type":"login","id":"1","data":{"account":"alice","token":"`+at+`","device":"d","checkSum":true,"bogus":1}}`), "1", 5*time.Second)
		// Admin reset and a refused admin request.
		nt := sp.resetToken("bob")
		secrets = append(secrets, nt)
		sp.adminRaw("GET", "/admin/v1/users", signedHeaders(sp.appKey, sp.secret+"x", freshNonce(), time.Now().Unix()), nil)
		time.Sleep(500 * time.Millisecond)
		logText := sp.log.String()
		if !strings.Contains(logText, "level=DEBUG") && !strings.Contains(logText, "level=INFO") {
			t.Fatalf("no log output to check:\n%s", logText)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(logText, s) {
				t.Errorf("the log holds a secret %.8s…", s)
			}
		}
		// Prefixes long enough to matter (a truncated token is still a clue).
		for _, s := range secrets {
			if len(s) > 24 && strings.Contains(logText, s[:16]) {
				t.Errorf("the log holds a 16-character prefix of a secret %.8s…", s)
			}
		}
	})
	probeCase(t, "S02", "error replies never echo a token", func(t *testing.T) {
		w := dialWS(t, sp.url)
		long := strings.Repeat("A", 300)
		for _, tok := range []string{at + "x", long, "tok\x00en"} {
			r := w.req("login", map[string]any{"account": "alice", "token": tok, "device": "d1", "checkSum": true})
			if r.Code == 0 {
				t.Fatalf("login with %q accepted", tok)
			}
			if strings.Contains(r.Error, tok) || strings.Contains(r.Error, at) {
				t.Errorf("login error echoes the token: %s", r.Error)
			}
		}
	})
	probeCase(t, "S03", "data directory files: credentials.json 0600, dir not world-readable, serve.json without secrets", func(t *testing.T) {
		st, err := os.Stat(filepath.Join(sp.dir, "credentials.json"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("credentials.json mode %v", st.Mode().Perm())
		}
		dst, _ := os.Stat(sp.dir)
		if dst.Mode().Perm()&0o007 != 0 {
			t.Errorf("data dir mode %v", dst.Mode().Perm())
		}
		if b, err := os.ReadFile(filepath.Join(sp.dir, "serve.json")); err == nil && strings.Contains(string(b), sp.secret) {
			t.Errorf("serve.json holds the app secret")
		}
		// Everything else in the data directory: no plaintext account token.
		_ = filepath.Walk(sp.dir, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || info.Size() > 64<<20 {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, s := range []string{at, bt} {
				if strings.Contains(string(b), s) {
					t.Errorf("%s holds an account token in plain text", p)
				}
			}
			return nil
		})
	})
	probeCase(t, "S04", "process listings: token flags visible; env and config alternatives documented", func(t *testing.T) {
		dir := t.TempDir()
		p := startCLI(t, dir, nil, "answer", "--no-media", "--server", sp.url, "--account", "alice", "--token", at)
		time.Sleep(time.Second)
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/cmdline")
		if strings.Contains(string(b), at) {
			t.Logf("INFO: --token is visible in /proc/PID/cmdline (as for any flag); SOFTPHONE_TOKEN / config imToken are the documented alternatives")
		}
		p2 := startCLI(t, dir, []string{"SOFTPHONE_TOKEN=" + at, "SOFTPHONE_SERVER=" + sp.url, "SOFTPHONE_ACCOUNT=bob"}, "answer", "--no-media")
		time.Sleep(500 * time.Millisecond)
		b2, _ := os.ReadFile("/proc/" + strconv.Itoa(p2.cmd.Process.Pid) + "/cmdline")
		if strings.Contains(string(b2), at) {
			t.Errorf("the env token shows in the command line")
		}
		help := runCLI(t, dir, nil, 10*time.Second, "answer", "--help")
		if !strings.Contains(help.all(), "SOFTPHONE_TOKEN") {
			t.Errorf("answer --help does not name SOFTPHONE_TOKEN")
		}
		shelp := runCLI(t, dir, nil, 10*time.Second, "serve", "--help")
		if !strings.Contains(shelp.all(), "SOFTPHONE_SERVE_APP_SECRET") {
			t.Errorf("serve --help does not name SOFTPHONE_SERVE_APP_SECRET for --app-secret")
		}
		p.signal(2)
		p2.signal(2)
	})
	probeCase(t, "S05", "admin API: user list shows no token or token hash", func(t *testing.T) {
		r := sp.admin("GET", "/admin/v1/users", nil)
		if strings.Contains(string(r.Body), "tokenHash") || strings.Contains(string(r.Body), at) || regexp.MustCompile(`[0-9a-f]{64}`).Match(r.Body) {
			t.Errorf("user list leaks: %s", r.Body)
		}
	})
	probeCase(t, "S06", "headless --debug and the TUI's debug log hold no token", func(t *testing.T) {
		dir := t.TempDir()
		p := startCLI(t, dir, nil, "answer", "--debug", "--json", "--no-media", "--server", sp.url, "--account", "alice", "--token", at)
		time.Sleep(1200 * time.Millisecond)
		r := runCLI(t, dir, nil, 30*time.Second, "call", "alice", "--debug", "--json", "--no-media", "--hangup-after", "1s",
			"--server", sp.url, "--account", "bob", "--token", sp.resetToken("bob"))
		p.signal(2)
		p.wait(t, 10*time.Second)
		out := p.out.String() + p.errb.String() + r.all()
		if strings.Contains(out, at) || regexp.MustCompile(`v1\.\d{9,}\.[A-Za-z0-9_-]{8,}`).MatchString(out) {
			t.Errorf("--debug output holds a token")
		}
		if m := regexp.MustCompile(`(?i)credential[":= ]+([A-Za-z0-9+/=]{20,})`).FindStringSubmatch(out); m != nil {
			t.Errorf("--debug output holds a TURN credential")
		}
		// The TUI's log file.
		if _, err := exec.LookPath("tmux"); err == nil {
			scr := startTUI(t, 100, 30, "--server", sp.url, "--account", "alice", "--token", at, "--debug", "--no-media")
			scr.waitFor("contacts", "联系人", 15*time.Second)
			scr.keys("q")
			time.Sleep(time.Second)
			matches, _ := filepath.Glob(filepath.Join(filepath.Dir(scr.rawLog), ".data", "softphone", "*.log"))
			for _, m := range matches {
				b, _ := os.ReadFile(m)
				if strings.Contains(string(b), at) {
					t.Errorf("%s holds the token", m)
				}
			}
		}
	})
	probeCase(t, "S07", "doctor --json prints no TURN credential or token", func(t *testing.T) {
		dir := t.TempDir()
		tok := sp.createUser("doc", "")
		r := runCLI(t, dir, nil, 60*time.Second, "doctor", "--json", "--server", sp.url, "--account", "doc", "--token", tok,
			"--audio-in", "tone", "--audio-out", "none", "--video-in", "testsrc")
		var m map[string]any
		_ = json.Unmarshal([]byte(r.stdout), &m)
		if strings.Contains(r.all(), tok) || strings.Contains(r.all(), "credential") {
			t.Errorf("doctor output leaks:\n%s", r.all())
		}
	})
	probeCase(t, "S08", "serve logs no NATS URL password or token", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), nil, 30*time.Second, "serve", "--listen", "127.0.0.1:0", "--turn-listen", "off", "--replicas", "1",
			"--start-timeout", "1s", "--nats", "nats://admin:NATSPW77@127.0.0.1:1,nats://NATSTOK77@127.0.0.1:2")
		if strings.Contains(r.all(), "NATSPW77") || strings.Contains(r.all(), "NATSTOK77") {
			t.Errorf("serve prints NATS credentials:\n%s", r.all())
		}
		r = runCLI(t, t.TempDir(), nil, 30*time.Second, "serve", "--listen", "127.0.0.1:0", "--nats", "nats://admin:NATSPW77@")
		if strings.Contains(r.all(), "NATSPW77") {
			t.Errorf("a bad --nats URL is echoed with its password:\n%s", r.all())
		}
	})
	probeCase(t, "S09", "a password in the server URL is not echoed by call, records, doctor", func(t *testing.T) {
		dir := t.TempDir()
		for _, args := range [][]string{
			{"call", "bob", "--no-media"},
			{"records"},
			{"doctor", "--audio-in", "tone", "--audio-out", "none", "--video-in", "none"},
		} {
			a := append(args, "--server", "ws://user:URLPW55@127.0.0.1:1", "--account", "alice", "--token", "x")
			r := runCLI(t, dir, nil, 30*time.Second, a...)
			if strings.Contains(r.all(), "URLPW55") {
				t.Errorf("%s echoes the URL password:\n%s", args[0], r.all())
			}
		}
	})
}
