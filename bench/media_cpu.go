package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// usage is what one peer process cost.
type usage struct {
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
	// Peaks of the two kinds of resident pages (bytes; not necessarily at
	// the same moment, so they need not add up to maxRSS). Anonymous pages
	// are the process's own memory: Go heap, C allocations, stacks.
	// File-backed pages are mapped from the binary and the shared libraries
	// and held in the page cache anyway; how many of them a fault maps
	// depends on the page cache: a binary fresh from the linker (large
	// folios, mapped whole) shows some 6 MiB more than an installed copy.
	maxAnon, maxFile int64
}

func (u usage) String() string {
	s := fmt.Sprintf("%.2f s / %.1f MiB", u.cpu.Seconds(), float64(u.maxRSS)/(1<<20))
	if u.maxAnon > 0 || u.maxFile > 0 {
		s += fmt.Sprintf(" (anon %.1f, file %.1f)", float64(u.maxAnon)/(1<<20), float64(u.maxFile)/(1<<20))
	}
	return s
}

// peakWatch polls a child's VmHWM (the peak RSS of its own address space)
// until stop. The child's ru_maxrss cannot be used: os/exec starts children
// with vfork semantics (CLONE_VM), and Linux carries the parent's peak RSS
// into the child's ru_maxrss at exec, so every child would report at least
// this benchmark's own peak. A peak in the last 20 ms before exit is missed;
// so are short peaks of RssAnon and RssFile, which the kernel keeps no
// high-water mark of.
type peakWatch struct {
	stop chan struct{}
	done chan peaks
}

type peaks struct{ hwm, anon, file int64 }

func watchPeak(pid int) *peakWatch {
	w := &peakWatch{stop: make(chan struct{}), done: make(chan peaks, 1)}
	go func() {
		var p peaks
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procStatusFields(pid, "VmHWM:", "RssAnon:", "RssFile:"); err == nil {
				p.hwm, p.anon, p.file = max(p.hwm, v[0]), max(p.anon, v[1]), max(p.file, v[2])
			}
			select {
			case <-w.stop:
				w.done <- p
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// result stops polling (call it once the process has exited) and records
// the peaks in u.
func (w *peakWatch) result(u *usage) {
	close(w.stop)
	p := <-w.done
	u.maxRSS, u.maxAnon, u.maxFile = p.hwm, p.anon, p.file
}

func usageOf(ps *os.ProcessState) usage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}
	}
	tv := func(t syscall.Timeval) time.Duration {
		return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
	}
	return usage{cpu: tv(ru.Utime) + tv(ru.Stime)}
}

// peerCall is one call between two peer processes: `softphone answer` and
// `softphone call`, or with worker set `softphone bench peer` for both
// (for settings the CLI has no flag or key for, like the frame rate).
type peerCall struct {
	callerArgs, calleeArgs []string // media flags
	env                    []string // extra environment of both
	typ                    string   // audio or video
	dur                    time.Duration
	worker                 bool
}

// runPeerCall runs one call between two processes and returns their
// resource usage.
func (r *mediaRun) runPeerCall(ctx context.Context, accts []account, pc peerCall, tag string) (caller, callee usage, err error) {
	exe := r.plan.Exe
	ident := func(a account) []string {
		return []string{"--server", r.srv.ws, "--account", a.name, "--token", a.token}
	}
	var calleeArgv, callerArgv []string
	if pc.worker {
		calleeArgv = append(append([]string{"bench", "peer", "--role", "callee", "--duration", pc.dur.String()},
			ident(accts[1])...), pc.calleeArgs...)
		callerArgv = append(append([]string{"bench", "peer", "--role", "caller", "--peer", accts[1].name, "--type", pc.typ,
			"--duration", pc.dur.String()}, ident(accts[0])...), pc.callerArgs...)
	} else {
		calleeArgv = append(append([]string{"answer", "--count", "1", "--json"}, ident(accts[1])...), pc.calleeArgs...)
		callerArgv = append(append([]string{"call", accts[1].name, "--type", pc.typ, "--hangup-after", pc.dur.String(), "--json"},
			ident(accts[0])...), pc.callerArgs...)
	}
	cctx, cancel := context.WithTimeout(ctx, pc.dur+60*time.Second)
	defer cancel()
	mk := func(argv []string, name string) (*exec.Cmd, *os.File, error) {
		cmd := exec.CommandContext(cctx, exe, argv...)
		cmd.Dir = r.dir
		cmd.Env = append(childEnv(r.dir), pc.env...)
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 10 * time.Second
		f, err := os.Create(filepath.Join(r.dir, tag+"-"+name+".log"))
		if err != nil {
			return nil, nil, err
		}
		cmd.Stderr = f
		return cmd, f, nil
	}
	ce, ceLog, err := mk(calleeArgv, "callee")
	if err != nil {
		return caller, callee, err
	}
	defer ceLog.Close()
	var ready io.Reader
	if pc.worker {
		p, err := ce.StdoutPipe()
		if err != nil {
			return caller, callee, err
		}
		ready = p
	} else {
		ce.Stdout = ceLog
	}
	if err := ce.Start(); err != nil {
		return caller, callee, fmt.Errorf("start callee: %w", err)
	}
	cePeak := watchPeak(ce.Process.Pid)
	calleeDone := make(chan error, 1)
	if pc.worker {
		br := bufio.NewReader(ready)
		line, err := br.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			_ = ce.Process.Signal(os.Interrupt)
			_ = ce.Wait()
			return caller, callee, fmt.Errorf("callee worker: %q %v (see %s-callee.log)", line, err, tag)
		}
		go func() { _, _ = io.Copy(ceLog, br) }()
	} else {
		// `answer` prints nothing at login: give it time to log in (the
		// server would also deliver the invite at login).
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	go func() { calleeDone <- ce.Wait() }()
	cr, crLog, err := mk(callerArgv, "caller")
	if err != nil {
		return caller, callee, err
	}
	defer crLog.Close()
	cr.Stdout = crLog
	crErr := cr.Start()
	if crErr == nil {
		crPeak := watchPeak(cr.Process.Pid)
		crErr = cr.Wait()
		caller = usageOf(cr.ProcessState)
		crPeak.result(&caller)
	} else {
		_ = ce.Process.Signal(os.Interrupt)
	}
	ceErr := <-calleeDone
	if ce.ProcessState != nil {
		callee = usageOf(ce.ProcessState)
	}
	cePeak.result(&callee)
	if crErr != nil || ceErr != nil {
		return caller, callee, fmt.Errorf("caller: %v, callee: %v (logs %s-*.log in %s)", crErr, ceErr, tag, r.dir)
	}
	return caller, callee, nil
}

// cpuCase is one row of the CPU / RSS table.
type cpuCase struct {
	name   string
	anchor string
	pc     peerCall
}

// cpu runs a 20 s call per case, each peer its own process, and reads user
// + system CPU and peak RSS from each child's rusage.
func (r *mediaRun) cpu(ctx context.Context) error {
	dur := r.plan.CPUDuration
	fmt.Fprintf(r.out, "cpu: one %s call per case, each peer its own process (tone in, --audio-out none, both sides send)\n", dur)
	audioOnly := []string{"--audio-in", "tone", "--audio-out", "none", "--video-in", "none"}
	video := []string{"--audio-in", "tone", "--audio-out", "none", "--video-in", "testsrc"}
	cases := []cpuCase{
		{"audio call", "baresip 0.4 s / 9.8 MB; pion+mediadevices 0.55 s / 19 MB", peerCall{
			callerArgs: audioOnly, calleeArgs: audioOnly, typ: "audio"}},
		{"VP8 352×288@25", "baresip 0.75 s / 15.7 MB; pion+mediadevices 3.5–4 s / 30 MB", peerCall{
			// The CLI has no frame-rate setting: the worker runs the same engine.
			callerArgs: workerVideo(352, 288, 25), calleeArgs: workerVideo(352, 288, 25), typ: "video", worker: true}},
		{"VP8 640×360@30", "pion+mediadevices 7.2–8.3 s / 38 MB", peerCall{
			callerArgs: video, calleeArgs: video, typ: "video",
			env: []string{"SOFTPHONE_VIDEO_WIDTH=640", "SOFTPHONE_VIDEO_HEIGHT=360"}}},
	}
	if r.plan.CPUWorkers {
		cases[0].pc.callerArgs = []string{"--audio-in", "tone", "--video-in", "none"}
		cases[0].pc.calleeArgs = cases[0].pc.callerArgs
		cases[2].pc.callerArgs, cases[2].pc.calleeArgs = workerVideo(640, 360, 30), workerVideo(640, 360, 30)
		for i := range cases {
			cases[i].pc.worker = true
		}
	}
	for i, c := range cases {
		c.pc.dur = dur
		if r.plan.Profile {
			tag := fmt.Sprintf("cpu%d", i+1)
			c.pc.callerArgs = append(slices.Clone(c.pc.callerArgs), "--cpuprofile", filepath.Join(r.dir, tag+"-caller.pprof"))
			c.pc.calleeArgs = append(slices.Clone(c.pc.calleeArgs), "--cpuprofile", filepath.Join(r.dir, tag+"-callee.pprof"))
		}
		if r.plan.MemProfile && c.pc.worker {
			tag := fmt.Sprintf("cpu%d", i+1)
			c.pc.callerArgs = append(slices.Clone(c.pc.callerArgs), "--memprofile", filepath.Join(r.dir, tag+"-caller.heap"))
			c.pc.calleeArgs = append(slices.Clone(c.pc.calleeArgs), "--memprofile", filepath.Join(r.dir, tag+"-callee.heap"))
		}
		accts, err := r.users(ctx, "c", 2)
		if err != nil {
			return err
		}
		caller, callee, err := r.runPeerCall(ctx, accts, c.pc, fmt.Sprintf("cpu%d", i+1))
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		via := "call/answer"
		if c.pc.worker {
			via = "bench peer"
		}
		r.add(fmt.Sprintf("%s %s, CPU / peak RSS (%s)", dur, c.name, via),
			fmt.Sprintf("caller %s, callee %s", caller, callee), c.anchor+"; target ≤ baresip CPU, ≤ 25 MB")
	}
	r.note("CPU = user + system seconds of the whole process (start, login, call, hang-up, exit); peak RSS = the child's VmHWM polled every 20 ms (ru_maxrss would include this benchmark's own peak), with the peaks of its anonymous (heap, C allocations) and file-backed (binary, libraries: page-cache dependent) parts. Both peers and serve share the machine's %d CPUs", numCPU())
	return nil
}

func numCPU() int { return runtime.NumCPU() }

func workerVideo(w, h, fps int) []string {
	return []string{"--audio-in", "tone", "--video-in", "testsrc",
		"--width", strconv.Itoa(w), "--height", strconv.Itoa(h), "--fps", strconv.Itoa(fps)}
}

// PeerConfig is one `softphone bench peer` process: a headless engine that
// places or answers exactly one call with a MediaConfig set in full.
type PeerConfig struct {
	Server, Account, Token string
	Role                   string // caller or callee
	Peer                   string // the callee (caller only)
	Type                   protocol.CallType
	Duration               time.Duration // caller hangs up this long after the accept
	Media                  call.MediaConfig
	// InCall, when set, runs once three quarters of Duration into the
	// call (a heap profile of the steady state, say).
	InCall func()
}

// RunPeer runs one call as configured. It prints "ready" once logged in.
func RunPeer(ctx context.Context, pc PeerConfig, out io.Writer, log *slog.Logger) error {
	e := call.New(call.Config{Server: pc.Server, Logger: log, RequestTimeout: 5 * time.Second, Media: &pc.Media})
	en := &engine{Engine: e, first: map[string]time.Time{}, changed: make(chan struct{}), done: make(chan struct{})}
	go en.loop()
	defer en.Close()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.Login(lctx, pc.Account, pc.Token)
	cancel()
	if err != nil {
		return fmt.Errorf("login %s: %w", pc.Account, err)
	}
	fmt.Fprintln(out, "ready")
	limit := pc.Duration + time.Minute
	switch pc.Role {
	case "callee":
		if _, err := en.wait(ctx, protocol.EvInvited, 10*time.Minute); err != nil {
			return err
		}
		en.mu.Lock()
		inv := *en.invite
		en.mu.Unlock()
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := e.Accept(actx, &inv)
		cancel()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		stop := pc.inCall()
		defer stop()
		_, err = en.wait(ctx, protocol.EvCallEnd, limit)
		return err
	case "caller":
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := e.Call(cctx, pc.Peer, pc.Type, nil); err != nil {
			return fmt.Errorf("call %s: %w", pc.Peer, err)
		}
		if _, err := en.wait(ctx, protocol.EvUserAccept, 30*time.Second); err != nil {
			return err
		}
		stop := pc.inCall()
		defer stop()
		select {
		case <-time.After(pc.Duration):
		case <-ctx.Done():
		}
		hctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel2()
		if err := e.Hangup(hctx); err != nil {
			return fmt.Errorf("hangup: %w", err)
		}
		// The record follows the hang-up; wait for it like `softphone call`.
		_, _ = en.wait(hctx, protocol.EvMessageSent, 5*time.Second)
		return nil
	}
	return errors.New(`role must be "caller" or "callee"`)
}

// inCall schedules InCall; the returned func cancels it if it has not run.
func (pc PeerConfig) inCall() (stop func()) {
	if pc.InCall == nil {
		return func() {}
	}
	t := time.AfterFunc(pc.Duration*3/4, pc.InCall)
	return func() { t.Stop() }
}
