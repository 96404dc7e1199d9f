package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/admin"
)

// MediaPlan describes one media benchmark run (`softphone bench media`).
// Every part starts from the same fresh `softphone serve` subprocess on
// loopback; Only picks one part.
type MediaPlan struct {
	Exe  string // the softphone binary: runs serve and the peers of the CPU part
	Only string // "", "setup", "browser", "m2e", "g2g" or "cpu"

	SetupCalls  int           // calls for accept → first audio / video (in-process engines; browser: per direction and ring time)
	M2ECalls    int           // calls for mouth-to-ear (one `call` + one `answer` process each)
	M2EDuration time.Duration // length of each of those calls
	G2GDuration time.Duration // length of the glass-to-glass call (in-process)
	// VideoDuration is the length of each impaired video call (the video
	// part, issue 10's rows); VideoProfiles picks rows by name ("" all).
	VideoDuration time.Duration
	VideoProfiles []string
	CPUDuration   time.Duration // length of each CPU / RSS call (one process per peer)

	ServeLogPath string // where serve's stderr goes ("" = discarded)
	Debug        bool   // engine debug logs to stderr
	KeepDir      bool   // keep the temporary directory (recordings, peer logs)
	CPUWorkers   bool   // run every CPU case with `bench peer` workers
	Profile      bool   // workers write CPU profiles into the directory
	MemProfile   bool   // workers write in-call heap profiles into the directory
}

// MediaParts are the values of MediaPlan.Only, in run order.
var MediaParts = []string{"setup", "browser", "m2e", "g2g", "cpu", "video"}

// Media settings shared by the parts: the CLI's defaults (bitrate 600–900
// kbps, Opus 32 kbps) at the sizes the anchors were measured with.
const (
	benchMinKbps = 600
	benchMaxKbps = 900
)

// RunMedia runs the media benchmarks and prints a table of results.
func RunMedia(ctx context.Context, p MediaPlan, out io.Writer) error {
	if p.Only != "" && !slices.Contains(MediaParts, p.Only) {
		return fmt.Errorf("unknown part %q (want one of %s)", p.Only, strings.Join(MediaParts, ", "))
	}
	if p.Profile || p.MemProfile {
		p.KeepDir, p.CPUWorkers = true, true
	}
	dir, srv, done, err := benchServe(ctx, "media", p.Exe, p.KeepDir, p.ServeLogPath, out)
	if err != nil {
		return err
	}
	defer done()
	r := &mediaRun{plan: p, srv: srv, dir: dir, out: out}
	if p.Debug {
		r.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		r.log = slog.New(slog.DiscardHandler)
	}
	want := func(part string) bool { return p.Only == "" || p.Only == part }
	var errs []error
	step := func(part string, f func(context.Context) error) {
		if !want(part) || ctx.Err() != nil {
			return
		}
		start := time.Now()
		if err := f(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", part, err))
			fmt.Fprintf(out, "%s: FAILED: %v\n", part, err)
			return
		}
		fmt.Fprintf(out, "%s done in %s\n", part, time.Since(start).Round(100*time.Millisecond))
	}
	step("setup", r.setup)
	step("browser", r.browser)
	step("m2e", r.mouthToEar)
	step("g2g", r.glassToGlass)
	step("cpu", r.cpu)
	step("video", r.videoQuality)
	r.note("load average at the end: %s (other processes on the machine skew every figure)", loadAvg())
	r.table()
	return errors.Join(errs...)
}

// mediaRun carries one run's server, accounts and results.
type mediaRun struct {
	plan MediaPlan
	srv  *serveProc
	dir  string
	out  io.Writer
	log  *slog.Logger

	mu    sync.Mutex
	seq   int
	rows  []resultRow
	notes []string
}

// resultRow is one line of the final table.
type resultRow struct {
	metric, value, anchor string
}

func (r *mediaRun) add(metric, value, anchor string) {
	r.rows = append(r.rows, resultRow{metric, value, anchor})
	fmt.Fprintf(r.out, "  %-52s %s\n", metric, value)
}

func (r *mediaRun) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *mediaRun) table() {
	if len(r.rows) == 0 {
		return
	}
	w1, w2 := len("measurement"), len("softphone")
	for _, row := range r.rows {
		w1, w2 = max(w1, len([]rune(row.metric))), max(w2, len([]rune(row.value)))
	}
	fmt.Fprintf(r.out, "\n%-*s  %-*s  %s\n", w1, "measurement", w2, "softphone", "anchor / target")
	fmt.Fprintf(r.out, "%s  %s  %s\n", strings.Repeat("-", w1), strings.Repeat("-", w2), strings.Repeat("-", 30))
	for _, row := range r.rows {
		fmt.Fprintf(r.out, "%s  %s  %s\n", pad(row.metric, w1), pad(row.value, w2), row.anchor)
	}
	for _, n := range r.notes {
		fmt.Fprintf(r.out, "note: %s\n", n)
	}
}

// loadAvg is the 1/5/15-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func pad(s string, w int) string {
	if n := len([]rune(s)); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// account is one created user.
type account struct{ name, token string }

// users creates n fresh accounts named after tag.
func (r *mediaRun) users(ctx context.Context, tag string, n int) ([]account, error) {
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	out := make([]account, n)
	for i := range out {
		name := fmt.Sprintf("%s%03d%c", tag, seq, 'a'+i)
		u, err := r.srv.admin.CreateUser(ctx, name, name)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		out[i] = account{u.Account, u.Token}
	}
	return out, nil
}

// serveProc is the `softphone serve` subprocess under test.
type serveProc struct {
	cmd   *exec.Cmd
	pid   int
	addr  string
	ws    string // engine server URL
	admin *admin.Client
	logF  *os.File
}

// benchServe makes a bench's working directory (kept, and said so, when
// keep) and starts `serve` in it, printing what the figures depend on;
// done stops the server and removes the directory.
func benchServe(ctx context.Context, name, exe string, keep bool, logPath string, out io.Writer) (dir string, srv *serveProc, done func(), err error) {
	dir, err = os.MkdirTemp("", "softphone-bench-"+name+"-")
	if err != nil {
		return "", nil, nil, err
	}
	removeDir := func() {
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}
	if keep {
		fmt.Fprintf(out, "working directory %s (kept)\n", dir)
	}
	srv, err = startServe(ctx, exe, dir, logPath)
	if err != nil {
		removeDir()
		return "", nil, nil, err
	}
	fmt.Fprintf(out, "serve pid %d on %s; %d CPUs, load average %s\n", srv.pid, srv.addr, runtime.NumCPU(), loadAvg())
	return dir, srv, func() { srv.stop(); removeDir() }, nil
}

func startServe(ctx context.Context, exe, dir, logPath string) (*serveProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", addr, "--data", filepath.Join(dir, "data"),
		"--app-key", benchAppKey, "--app-secret", benchAppSecret}
	// A serve with an embedded TURN relay gets a free UDP port of its own
	// rather than the fixed default, which another serve may hold.
	if help, _ := exec.CommandContext(ctx, exe, "serve", "-h").CombinedOutput(); strings.Contains(string(help), "-turn-listen") {
		udp, err := freeUDPAddr()
		if err != nil {
			return nil, err
		}
		args = append(args, "--turn-listen", udp)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(dir)
	s := &serveProc{cmd: cmd, addr: addr, ws: "ws://" + addr,
		admin: admin.NewClient("http://"+addr, benchAppKey, benchAppSecret, nil)}
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		s.logF = f
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start serve: %w", err)
	}
	s.pid = cmd.Process.Pid
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", 15*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func freeUDPAddr() (string, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

func (s *serveProc) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	if s.logF != nil {
		_ = s.logF.Close()
	}
}

// childEnv is the environment of a child process: ours without SOFTPHONE_*
// settings, with config lookups pointed at dir (no stray config.yaml).
func childEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SOFTPHONE_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "XDG_CONFIG_HOME="+dir)
}

// engine is an in-process call engine with the first time of each event.
type engine struct {
	*call.Engine
	mu      sync.Mutex
	first   map[string]time.Time
	stats   []call.CallStats // every STATS, in order
	invite  *protocol.Invite
	changed chan struct{}
	done    chan struct{}
}

// newEngine logs acct in with media configured by m.
func (r *mediaRun) newEngine(ctx context.Context, acct account, m *call.MediaConfig) (*engine, error) {
	e := call.New(call.Config{
		Server:         r.srv.ws,
		Logger:         r.log.With("account", acct.name),
		RequestTimeout: 5 * time.Second,
		Media:          m,
	})
	en := &engine{Engine: e, first: map[string]time.Time{}, changed: make(chan struct{}), done: make(chan struct{})}
	go en.loop()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.Login(lctx, acct.name, acct.token); err != nil {
		_ = en.Close()
		return nil, fmt.Errorf("login %s: %w", acct.name, err)
	}
	return en, nil
}

func (e *engine) loop() {
	defer close(e.done)
	for ev := range e.Events() {
		e.mu.Lock()
		name := ev.Name
		if a, ok := ev.Data.(call.Availability); ok && !a.Available {
			name += "/off"
		}
		if _, ok := e.first[name]; !ok {
			e.first[name] = ev.Time
		}
		if inv, ok := ev.Data.(protocol.Invite); ok && ev.Name == protocol.EvInvited {
			e.invite = &inv
		}
		if st, ok := ev.Data.(call.CallStats); ok {
			e.stats = append(e.stats, st)
		}
		ch := e.changed
		e.changed = make(chan struct{})
		e.mu.Unlock()
		close(ch)
	}
}

// wait returns the time of the first event called name.
func (e *engine) wait(ctx context.Context, name string, limit time.Duration) (time.Time, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		e.mu.Lock()
		t, ok := e.first[name]
		ch := e.changed
		e.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return time.Time{}, fmt.Errorf("%s: no %s within %s", e.Account(), name, limit)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

func (e *engine) Close() error {
	err := e.Engine.Close()
	<-e.done
	return err
}

// dial makes caller call callee and callee accept, returning the time just
// before Accept. before runs once the callee is ringing.
func dialPair(ctx context.Context, caller, callee *engine, typ protocol.CallType, before func()) (time.Time, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := caller.Call(cctx, callee.Account(), typ, nil); err != nil {
		return time.Time{}, fmt.Errorf("call: %w", err)
	}
	if _, err := callee.wait(ctx, protocol.EvInvited, 10*time.Second); err != nil {
		return time.Time{}, err
	}
	callee.mu.Lock()
	inv := *callee.invite
	callee.mu.Unlock()
	if before != nil {
		before()
	}
	at := time.Now()
	if err := callee.Accept(cctx, &inv); err != nil {
		return time.Time{}, fmt.Errorf("accept: %w", err)
	}
	return at, nil
}

// hangup ends the call and closes both engines.
func hangup(ctx context.Context, a, b *engine) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = a.Hangup(hctx)
	cancel()
	_ = a.Close()
	_ = b.Close()
}

// Distribution helpers.

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// p50 formats the median (and range) of ms values.
func p50(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	s := slices.Sorted(slices.Values(v))
	return fmt.Sprintf("p50 %.1f ms (min %.1f, max %.1f, n=%d)", quantile(s, 0.5), s[0], s[len(s)-1], len(s))
}
