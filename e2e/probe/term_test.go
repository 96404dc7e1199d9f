//go:build probe

package probe

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/testcert"
)

func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("no tmux")
	}
}

// screen is the TUI in a detached tmux session of its own server socket;
// everything the TUI writes to the terminal is also piped to a file.
type screen struct {
	t      *testing.T
	sock   string
	name   string
	rawLog string
	last   string
}

func startTUI(t *testing.T, w, h int, args ...string) *screen {
	t.Helper()
	dir := t.TempDir()
	s := &screen{t: t, sock: filepath.Join(dir, "tmux.sock"), name: "probe", rawLog: filepath.Join(dir, "raw.out")}
	env := []string{"env", "-i", "PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm-256color",
		"XDG_DATA_HOME=" + filepath.Join(dir, ".data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"), "LANG=C.UTF-8"}
	cmdline := strings.Join(quoteAll(append(append(env, bin), args...)), " ") + "; echo EXIT=$?; sleep 30"
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", s.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmdline)
	s.tmux("pipe-pane", "-o", "-t", s.name, "cat >> "+s.rawLog)
	s.tmux("set-option", "-t", s.name, "set-titles", "off")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func quoteAll(a []string) []string {
	out := make([]string, len(a))
	for i, s := range a {
		out[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return out
}

func (s *screen) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *screen) capture() string {
	s.last = s.tmux("capture-pane", "-p", "-t", s.name)
	return s.last
}

func (s *screen) waitFor(what, re string, timeout time.Duration) {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		if rx.MatchString(s.capture()) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %s on screen:\n%s", what, s.last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *screen) keys(k ...string) { s.tmux(append([]string{"send-keys", "-t", s.name}, k...)...) }

func (s *screen) title() string {
	return strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{pane_title}"))
}

func (s *screen) rawOutput() string {
	b, _ := os.ReadFile(s.rawLog)
	return string(b)
}

func makeCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	c, err := testcert.Generate(dir, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return c.CertFile, c.KeyFile
}

// netnsRelayCall runs a relay-only call between two clients in a network
// namespace that drops all UDP, through the relay's TCP listener.
func netnsRelayCall(t *testing.T) {
	var r [3]byte
	_, _ = rand.Read(r[:])
	name := fmt.Sprintf("spp%02x%02x%02x", r[0], r[1], r[2])
	host := fmt.Sprintf("10.204.%d.%d", r[0], int(r[1]&^3)+1)
	peer := fmt.Sprintf("10.204.%d.%d", r[0], int(r[1]&^3)+2)
	outside, inside := "vh"+name[3:], "vn"+name[3:]
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", outside).Run() })
	run("ip", "link", "set", inside, "netns", name)
	run("ip", "addr", "add", host+"/30", "dev", outside)
	run("ip", "link", "set", outside, "up")
	in := func(args ...string) { run(append([]string{"ip", "netns", "exec", name}, args...)...) }
	in("ip", "addr", "add", peer+"/30", "dev", inside)
	in("ip", "link", "set", inside, "up")
	in("ip", "link", "set", "lo", "up")
	in("iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP")
	in("iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP")

	port := freePort(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	sp := &serveProc{t: t, dir: dataDir, port: port, log: &syncBuf{},
		args: []string{"serve", "--listen", fmt.Sprintf("%s:%d", host, port), "--data", dataDir,
			"--turn-listen", host + ":0", "--turn-tcp-listen", host + ":0"},
		url: fmt.Sprintf("ws://%s:%d/v1/ws", host, port), http: fmt.Sprintf("http://%s:%d", host, port)}
	sp.start()
	t.Cleanup(sp.stop)
	at, bt := sp.createUser("nsa", ""), sp.createUser("nsb", "")
	dir := t.TempDir()
	answer := exec.Command("ip", "netns", "exec", name, bin, "answer", "--json", "--relay-only", "--server", sp.url,
		"--account", "nsb", "--token", bt, "--audio-in", "tone", "--audio-out", "none")
	answer.Env = baseEnv(dir)
	var aout syncBuf
	answer.Stdout, answer.Stderr = &aout, &aout
	if err := answer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = answer.Process.Kill(); _ = answer.Wait() }()
	time.Sleep(2 * time.Second)
	call := exec.Command("ip", "netns", "exec", name, bin, "call", "nsb", "--json", "--relay-only", "--hangup-after", "3s",
		"--server", sp.url, "--account", "nsa", "--token", at, "--audio-in", "tone", "--audio-out", "none", "--video-in", "none")
	call.Env = baseEnv(dir)
	out, _ := call.CombinedOutput()
	if !regexp.MustCompile(`"relayProtocol":"tcp"`).Match(out) {
		t.Fatalf("no STATS over the TCP relay:\n%s", out)
	}
	if strings.Contains(string(out), `"kind":"noMedia"`) {
		t.Fatalf("no media:\n%s", out)
	}
}
