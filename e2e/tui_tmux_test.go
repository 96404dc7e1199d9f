package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// screenTimeout bounds each wait for the TUI's screen or a headless peer;
// it only turns a hang into a failure, no timing is asserted.
const screenTimeout = 15 * time.Second

// TestTUIInTmux drives the real softphone binary's TUI inside tmux against a
// real `softphone serve` and headless peers: keys typed in a burst each act;
// a call carol rejects ("对方已拒绝") re-sorts the contacts and the cursor
// stays on carol; an incoming call alice rejects leaves "已拒绝", which the
// next incoming call replaces; that video call is accepted with y and drawn
// in half blocks, hung up with h, and the history shows every record.
func TestTUIInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux not on PATH; scripts/test installs it")
		}
		t.Skip("tmux not on PATH: install tmux (scripts/test does) for the TUI end-to-end test")
	}
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	sp := newSoftphoneProcs(t)
	alice := sp.createUser("alice")
	bob := sp.createUser("bob")
	carol := sp.createUser("carol")

	// The TUI: alice, a 120×40 terminal, explicit test media so no audio
	// device is needed. When it exits, the shell prints its status.
	scr := sp.startTUI(120, 40, "--account", "alice", "--token", alice,
		"--audio-in", "silence", "--audio-out", "none", "--video-in", "testsrc")
	scr.waitFor("the contacts tab", "联系人")

	// Add bob and carol as contacts: + opens the prompt, Enter submits.
	for _, name := range []string{"bob", "carol"} {
		scr.keys("+")
		scr.waitFor("the add-contact prompt", "添加联系人:")
		scr.keys("-l", name)
		scr.keys("Enter")
		scr.waitMatch(name+" in the contact list with a presence", regexp.MustCompile(name+`.*(在线|离线|通话中)`))
	}
	selected := func(name string) *regexp.Regexp { return regexp.MustCompile(`^> \S ` + name + `\b`) }
	scr.waitMatch("the cursor on bob, the first by name", selected("bob"))

	// (a) Keys that arrive together each act: three j in one write.
	scr.keys("-l", "jjj")
	scr.waitMatch("the cursor moved down to carol", selected("carol"))

	// (b) Call carol, who rejects. The record puts carol first; the cursor
	// stays on her, so a goes to carol again, not to bob.
	rejecter := sp.start("carol-reject", "answer", "--action", "reject", "--json", "--account", "carol", "--token", carol, "--no-media")
	scr.keys("a")
	scr.waitFor("the caller's outcome text", "对方已拒绝")
	if code := rejecter.wait(t); code != 13 {
		t.Fatalf("the rejecting peer exited with %d, want 13 (rejected); output:\n%s", code, rejecter.output())
	}
	scr.keys("Enter") // dismiss the outcome
	scr.waitMatch("carol first after the re-sort", regexp.MustCompile(`^. \S carol\b`))
	scr.waitMatch("the cursor still on carol", selected("carol"))
	scr.keys("a")
	scr.waitFor("calling carol again", "正在呼叫 carol")
	scr.keys("c")
	scr.waitFor("the cancelled call", "已取消")
	scr.keys("Enter")

	// (c) bob calls; alice rejects with n: "bob · 已拒绝" shows until newer
	// state replaces it.
	first := sp.start("bob-call-1", "call", "alice", "--json", "--account", "bob", "--token", bob, "--no-media")
	scr.waitFor("the first incoming call prompt", "来电")
	scr.keys("n")
	if code := first.wait(t); code != 13 {
		t.Fatalf("bob's first call exited with %d, want 13 (rejected); output:\n%s", code, first.output())
	}
	scr.waitFor("the rejected call's notice", "bob · 已拒绝")

	// (d) bob video-calls alice; the old notice is gone above the new
	// prompt; the TUI accepts with y and draws the picture in half blocks.
	caller := sp.start("bob-call", "call", "alice", "--type", "video", "--json", "--account", "bob", "--token", bob,
		"--audio-in", "tone", "--audio-out", "none", "--video-in", "testsrc")
	scr.waitFor("the incoming call prompt", "来电")
	if strings.Contains(scr.last, "已拒绝") {
		t.Fatalf("the old notice stayed above the new incoming call:\n%s", scr.last)
	}
	scr.keys("y")
	caller.waitOutput(t, `"event":"USER_ACCEPT"`)
	// The remote pane is most of the screen's width, the local preview a
	// few cells: a long run of half blocks is the peer's picture.
	scr.waitMatch("the remote video drawn in half blocks", regexp.MustCompile(`▀{40,}`))

	// (e) Hang up with h; the records show up in the history tab.
	scr.keys("h")
	if code := caller.wait(t); code != 0 {
		t.Fatalf("the headless caller exited with %d after the TUI hung up, want 0; output:\n%s", code, caller.output())
	}
	if out := caller.output(); !strings.Contains(out, `"event":"CALL_END"`) || !strings.Contains(out, `"text":"已完成"`) {
		t.Fatalf("the headless caller saw no CALL_END / 已完成 record:\n%s", out)
	}
	scr.keys("Tab")
	// History rows: peer, type (语音 audio / 视频 video), …, status text.
	scr.waitMatch("the completed call in the history", regexp.MustCompile(`bob.*视频.*已完成`))
	scr.waitMatch("the rejected incoming call in the history", regexp.MustCompile(`bob.*语音.*已拒绝`))
	scr.waitMatch("the rejected outgoing call in the history", regexp.MustCompile(`carol.*语音.*对方已拒绝`))

	// Quitting outside a call leaves a working shell behind.
	scr.keys("q")
	scr.waitFor("the TUI's exit status", "EXIT=0")
}

// softphoneProcs runs the real binary: one server and the processes of a
// test, all stopped at cleanup.
type softphoneProcs struct {
	t      *testing.T
	bin    string
	dir    string
	server string // ws:// URL
	env    []string
}

func newSoftphoneProcs(t *testing.T) *softphoneProcs {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "softphone")
	build := exec.Command("go", "build", "-o", bin, "github.com/softphone/softphone/cmd/softphone")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	sp := &softphoneProcs{t: t, bin: bin, dir: dir, server: fmt.Sprintf("ws://127.0.0.1:%d", port)}
	// Every default path (data dir, config, credentials) inside the test's
	// directory; TURN on a free port so parallel runs do not collide.
	sp.env = append(os.Environ(),
		"HOME="+dir,
		"XDG_DATA_HOME="+filepath.Join(dir, ".data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		"SOFTPHONE_SERVE_TURN=127.0.0.1:0",
		"SOFTPHONE_SERVER="+sp.server,
	)
	srv := sp.start("serve", "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(screenTimeout)
	for {
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("softphone serve not healthy: %v; output:\n%s", err, srv.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return sp
}

// createUser runs `softphone user create` and returns the token.
func (sp *softphoneProcs) createUser(account string) string {
	sp.t.Helper()
	cmd := exec.Command(sp.bin, "user", "create", account)
	cmd.Env = sp.env
	out, err := cmd.Output()
	if err != nil {
		sp.t.Fatalf("user create %s: %v\n%s", account, err, out)
	}
	var reply struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &reply); err != nil || reply.Token == "" {
		sp.t.Fatalf("user create %s printed %q: %v", account, out, err)
	}
	return reply.Token
}

// proc is a background softphone process with its combined output.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	code int
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs the binary in the background; cleanup interrupts it and waits.
func (sp *softphoneProcs) start(name string, args ...string) *proc {
	sp.t.Helper()
	p := &proc{name: name, cmd: exec.Command(sp.bin, args...), done: make(chan struct{})}
	p.cmd.Env = sp.env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		sp.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
		default:
			p.code = -1
		}
		close(p.done)
	}()
	sp.t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if sp.t.Failed() {
			sp.t.Logf("%s output:\n%s", p.name, p.output())
		}
	})
	return p
}

// wait returns the exit status, failing the test if the process hangs.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(screenTimeout):
		t.Fatalf("%s still running after %s; output:\n%s", p.name, screenTimeout, p.output())
		return 0
	}
}

// waitOutput polls the process output for s.
func (p *proc) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(screenTimeout)
	for !strings.Contains(p.output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed %s; output:\n%s", p.name, s, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screen is a tmux session on a private server socket.
type screen struct {
	t    *testing.T
	sock string
	last string
}

// startTUI runs `softphone --server URL ARGS...` (no command: the TUI) in a
// detached tmux session of cols×rows cells.
func (sp *softphoneProcs) startTUI(cols, rows int, args ...string) *screen {
	sp.t.Helper()
	s := &screen{t: sp.t, sock: filepath.Join(sp.dir, "tmux.sock")}
	quoted := []string{shellQuote(sp.bin), "--server", shellQuote(sp.server)}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	shell := strings.Join(quoted, " ") + `; echo "EXIT=$?"; sleep 3600`
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "tui", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), shell)
	sp.t.Cleanup(func() {
		if sp.t.Failed() {
			sp.t.Logf("last screen:\n%s", s.capture())
		}
		_, _ = s.run("kill-server")
	})
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (s *screen) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tmux", append([]string{"-S", s.sock}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *screen) tmux(args ...string) string {
	s.t.Helper()
	out, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// capture returns the visible text of the pane.
func (s *screen) capture() string {
	out, err := s.run("capture-pane", "-p", "-t", "tui")
	if err != nil {
		return "capture-pane: " + err.Error() + "\n" + out
	}
	return out
}

// keys sends tmux key names (or, after "-l", literal text).
func (s *screen) keys(keys ...string) {
	s.t.Helper()
	s.tmux(append([]string{"send-keys", "-t", "tui"}, keys...)...)
}

func (s *screen) waitFor(what, text string) {
	s.t.Helper()
	s.waitMatch(what, regexp.MustCompile(regexp.QuoteMeta(text)))
}

// waitMatch polls the screen until a line matches re.
func (s *screen) waitMatch(what string, re *regexp.Regexp) {
	s.t.Helper()
	deadline := time.Now().Add(screenTimeout)
	for {
		s.last = s.capture()
		for _, line := range strings.Split(s.last, "\n") {
			if re.MatchString(line) {
				if os.Getenv("E2E_LOG") != "" {
					s.t.Logf("%s:\n%s", what, s.last)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s (%q): not on the screen after %s:\n%s", what, re, screenTimeout, s.last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
