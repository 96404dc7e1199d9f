//go:build probe

// Package probe is a black-box security probe of the real softphone binary:
// `softphone serve` processes spoken to over the documented WebSocket
// protocol and admin API, the headless CLI, and the TUI inside tmux. It is
// not part of CI (build tag probe); run it with scripts/probe.
//
// Every case is a subtest named after its id (A01, I1a, …); TestMain prints
// the table of ids and results at the end.
package probe

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

var binFlag = flag.String("bin", "", "the softphone binary to probe (default: bin/softphone of the module)")

// bin is the binary under test, resolved in TestMain.
var bin string

// results collects each case's outcome for the table TestMain prints.
var results = struct {
	sync.Mutex
	m     map[string]string
	title map[string]string
}{m: map[string]string{}, title: map[string]string{}}

func TestMain(m *testing.M) {
	flag.Parse()
	bin = *binFlag
	if bin == "" {
		if wd, err := os.Getwd(); err == nil {
			bin = filepath.Join(wd, "..", "..", "bin", "softphone")
		}
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "probe: no binary at %s (go build -o bin/softphone ./cmd/softphone, or -bin PATH)\n", bin)
		os.Exit(2)
	}
	code := m.Run()
	results.Lock()
	ids := make([]string, 0, len(results.m))
	for id := range results.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pass, fail := 0, 0
	fmt.Println("\nPROBE RESULTS")
	for _, id := range ids {
		fmt.Printf("%-5s %-4s %s\n", id, results.m[id], results.title[id])
		if results.m[id] == "PASS" {
			pass++
		} else if results.m[id] == "FAIL" {
			fail++
		}
	}
	fmt.Printf("%d cases: %d passed, %d failed\n", len(ids), pass, fail)
	results.Unlock()
	os.Exit(code)
}

// probeCase runs one case as a subtest and records its result.
func probeCase(t *testing.T, id, title string, f func(t *testing.T)) {
	t.Helper()
	t.Run(id, func(t *testing.T) {
		results.Lock()
		results.title[id] = title
		results.Unlock()
		t.Cleanup(func() {
			r := "PASS"
			switch {
			case t.Failed():
				r = "FAIL"
			case t.Skipped():
				r = "SKIP"
			}
			results.Lock()
			results.m[id] = r
			results.Unlock()
		})
		f(t)
	})
}

// ---- serve processes ----

type serveProc struct {
	t       *testing.T
	dir     string // data directory
	port    int
	cmd     *exec.Cmd
	log     *syncBuf
	url     string // ws://…/v1/ws
	http    string // http://host:port
	appKey  string
	secret  string
	args    []string
	stopped bool
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// baseEnv keeps every default path of a softphone process inside dir.
func baseEnv(dir string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SOFTPHONE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, ".data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
}

// startServe runs `softphone serve` on a fresh data directory (or dataDir)
// with extra flags, and waits until it is healthy.
func startServe(t *testing.T, dataDir string, extra ...string) *serveProc {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "data")
	}
	port := freePort(t)
	args := append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", dataDir,
		"--turn-listen", "127.0.0.1:0"}, extra...)
	sp := &serveProc{t: t, dir: dataDir, port: port, log: &syncBuf{}, args: args,
		url: fmt.Sprintf("ws://127.0.0.1:%d/v1/ws", port), http: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for _, a := range extra {
		if a == "--tls-cert" {
			sp.url = fmt.Sprintf("wss://127.0.0.1:%d/v1/ws", port)
			sp.http = fmt.Sprintf("https://127.0.0.1:%d", port)
		}
	}
	sp.start()
	t.Cleanup(sp.stop)
	return sp
}

func (sp *serveProc) start() {
	t := sp.t
	t.Helper()
	sp.cmd = exec.Command(bin, sp.args...)
	sp.cmd.Env = baseEnv(filepath.Dir(sp.dir))
	sp.cmd.Stdout, sp.cmd.Stderr = sp.log, sp.log
	sp.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sp.stopped = false
	deadline := time.Now().Add(30 * time.Second)
	hc := insecureClient()
	for {
		resp, err := hc.Get(sp.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy: %v\n%s", err, sp.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var cred struct{ AppKey, AppSecret string }
	if b, err := os.ReadFile(filepath.Join(sp.dir, "credentials.json")); err == nil {
		_ = json.Unmarshal(b, &cred)
	}
	for i, a := range sp.args {
		switch a {
		case "--app-key":
			cred.AppKey = sp.args[i+1]
		case "--app-secret":
			cred.AppSecret = sp.args[i+1]
		}
	}
	sp.appKey, sp.secret = cred.AppKey, cred.AppSecret
}

func (sp *serveProc) stop() {
	if sp.stopped || sp.cmd == nil || sp.cmd.Process == nil {
		return
	}
	sp.stopped = true
	_ = sp.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = sp.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-sp.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (sp *serveProc) restart() {
	sp.stop()
	sp.start()
}

// ---- admin API ----

type adminReply struct {
	Status int
	Body   []byte
}

func (r adminReply) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// signedHeaders returns NetEase-style admin headers.
func signedHeaders(key, secret, nonce string, cur int64) http.Header {
	h := http.Header{}
	c := strconv.FormatInt(cur, 10)
	sum := sha1.Sum([]byte(secret + nonce + c))
	h.Set("AppKey", key)
	h.Set("Nonce", nonce)
	h.Set("CurTime", c)
	h.Set("CheckSum", hex.EncodeToString(sum[:]))
	return h
}

var nonceSeq struct {
	sync.Mutex
	n int
}

func freshNonce() string {
	nonceSeq.Lock()
	defer nonceSeq.Unlock()
	nonceSeq.n++
	return fmt.Sprintf("probe-%d-%d", time.Now().UnixNano(), nonceSeq.n)
}

func (sp *serveProc) adminRaw(method, path string, h http.Header, body io.Reader) adminReply {
	sp.t.Helper()
	req, err := http.NewRequest(method, sp.http+path, body)
	if err != nil {
		sp.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := insecureClient().Do(req)
	if err != nil {
		return adminReply{Status: -1, Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return adminReply{Status: resp.StatusCode, Body: b}
}

func (sp *serveProc) admin(method, path string, body any) adminReply {
	sp.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return sp.adminRaw(method, path, signedHeaders(sp.appKey, sp.secret, freshNonce(), time.Now().Unix()), r)
}

// createUser creates an account through the admin API and returns its token.
func (sp *serveProc) createUser(account, name string) string {
	sp.t.Helper()
	r := sp.admin("POST", "/admin/v1/users", map[string]string{"account": account, "name": name})
	if r.Status != 200 {
		sp.t.Fatalf("create %s: HTTP %d %s", account, r.Status, r.Body)
	}
	tok, _ := r.json()["token"].(string)
	if tok == "" {
		sp.t.Fatalf("create %s: no token in %s", account, r.Body)
	}
	return tok
}

func (sp *serveProc) resetToken(account string) string {
	sp.t.Helper()
	r := sp.admin("POST", "/admin/v1/users/"+account+"/token", nil)
	if r.Status != 200 {
		sp.t.Fatalf("reset %s: HTTP %d %s", account, r.Status, r.Body)
	}
	tok, _ := r.json()["token"].(string)
	return tok
}

func (sp *serveProc) removeUser(account string) {
	sp.t.Helper()
	if r := sp.admin("DELETE", "/admin/v1/users/"+account, nil); r.Status != 200 {
		sp.t.Fatalf("remove %s: HTTP %d %s", account, r.Status, r.Body)
	}
}

// ---- CLI ----

type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) all() string { return r.stdout + r.stderr }

// runCLI runs the binary with args and env additions, bounded by timeout.
func runCLI(t *testing.T, dir string, env []string, timeout time.Duration, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(baseEnv(dir), env...)
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return cliResult{stdout: so.String(), stderr: se.String(), code: code}
}

// bgCLI is a CLI process in the background.
type bgCLI struct {
	cmd  *exec.Cmd
	out  *syncBuf
	errb *syncBuf
	done chan struct{}
	code int
}

func startCLI(t *testing.T, dir string, env []string, args ...string) *bgCLI {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(baseEnv(dir), env...)
	cmd.Dir = dir
	b := &bgCLI{cmd: cmd, out: &syncBuf{}, errb: &syncBuf{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			b.code = ee.ExitCode()
		}
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	})
	return b
}

func (b *bgCLI) waitOut(t *testing.T, re string, timeout time.Duration) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for !rx.MatchString(b.out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s\nstderr:\n%s", re, b.out.String(), b.errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bgCLI) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
		return b.code
	case <-time.After(timeout):
		t.Fatalf("process still running after %s; output:\n%s\n%s", timeout, b.out.String(), b.errb.String())
	}
	return -1
}

func (b *bgCLI) signal(sig syscall.Signal) { _ = b.cmd.Process.Signal(sig) }

// ---- terminal safety ----

// unsafeRune matches what a terminal may act on: C0 controls other than
// newline and tab, DEL, C1 controls, and bidi / format characters.
var unsafeRune = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")

// terminalSafe fails t when out carries raw control characters.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if loc := unsafeRune.FindStringIndex(out); loc != nil {
		lo, hi := max(0, loc[0]-40), min(len(out), loc[1]+40)
		t.Errorf("%s prints a raw control character %q: …%q…", what, out[loc[0]:loc[1]], out[lo:hi])
	}
	if !isValidUTF8(out) {
		t.Errorf("%s prints invalid UTF-8", what)
	}
}

func isValidUTF8(s string) bool { return utf8.ValidString(s) }
