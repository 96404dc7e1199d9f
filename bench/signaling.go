package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/softphone/softphone/server/admin"
)

// Plan describes one signaling benchmark run (`softphone bench signaling`).
type Plan struct {
	Exe          string        // the softphone binary: runs `serve` and the hold workers
	LoadClients  int           // logged-in clients taking part in the call load (1,000)
	Rate         float64       // call setups per second in the background (100)
	Duration     time.Duration // each measured phase
	Hold         time.Duration // accepted calls last this long
	IdleClients  int           // extra idle connections held by worker processes (0 = skip phase 2)
	PerWorker    int           // connections per worker process
	KeepDataDir  bool
	ServeLogPath string // where serve's stderr goes ("" = discarded)
}

const (
	benchAppKey    = "bench-key"
	benchAppSecret = "bench-secret-0123456789"
)

// RunSignaling starts a fresh `softphone serve`, creates accounts, measures
// invite latency under load, then fills the server with idle connections
// from worker processes and measures memory per connection and invite
// latency again. Results are written to out as they come.
func RunSignaling(ctx context.Context, p Plan, out io.Writer) error {
	dir, err := os.MkdirTemp("", "softphone-bench-")
	if err != nil {
		return err
	}
	if !p.KeepDataDir {
		defer os.RemoveAll(dir)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	serve := exec.CommandContext(ctx, p.Exe, "serve", "--listen", addr, "--data", filepath.Join(dir, "data"),
		"--app-key", benchAppKey, "--app-secret", benchAppSecret)
	if p.ServeLogPath != "" {
		f, err := os.Create(p.ServeLogPath)
		if err != nil {
			return err
		}
		defer f.Close()
		serve.Stderr = f
	}
	if err := serve.Start(); err != nil {
		return fmt.Errorf("start serve: %w", err)
	}
	defer func() {
		_ = serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = serve.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	wsURL := "ws://" + addr + "/v1/ws"
	if err := waitHealthy(ctx, base+"/healthz", 15*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(out, "serve pid %d on %s\n", serve.Process.Pid, addr)

	total := p.LoadClients + p.IdleClients
	start := time.Now()
	creds, err := createAccounts(ctx, admin.NewClient(base, benchAppKey, benchAppSecret, nil), total)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created %d accounts in %s\n", total, time.Since(start).Round(time.Millisecond))
	rssEmpty, _ := rssOf(serve.Process.Pid)

	load := creds[:p.LoadClients]
	res, err := RunInvite(ctx, InviteConfig{URL: wsURL, Creds: load, Rate: p.Rate, Duration: p.Duration, Hold: p.Hold})
	if err != nil {
		return fmt.Errorf("phase 1: %w", err)
	}
	fmt.Fprintf(out, "phase 1: %d logged-in clients, %.0f setups/s (achieved %.1f, %d skipped, %d errors)\n",
		p.LoadClients, p.Rate, res.Achieved, res.Skipped, res.Errors)
	fmt.Fprintf(out, "  invite -> INVITED: %s\n  call -> reply:     %s\n", res.Invite, res.Reply)
	fmt.Fprintf(out, "  serve RSS before clients: %s\n", mib(rssEmpty))

	if p.IdleClients == 0 {
		return nil
	}
	// Phase 2: idle connections from other processes.
	rssBefore, _ := rssOf(serve.Process.Pid)
	held, stop, err := startWorkers(ctx, p, wsURL, dir, creds[p.LoadClients:])
	defer stop()
	if err != nil {
		fmt.Fprintf(out, "  workers: %v\n", err)
	}
	time.Sleep(2 * time.Second) // let the server's allocations settle
	rssAfter, _ := rssOf(serve.Process.Pid)
	per := 0.0
	if held > 0 {
		per = float64(rssAfter-rssBefore) / float64(held)
	}
	fmt.Fprintf(out, "phase 2: %d idle connections held by worker processes (asked %d)\n", held, p.IdleClients)
	fmt.Fprintf(out, "  serve RSS %s -> %s: %.1f KB per idle connection\n", mib(rssBefore), mib(rssAfter), per/1024)

	res, err = RunInvite(ctx, InviteConfig{URL: wsURL, Creds: load, Rate: p.Rate, Duration: p.Duration, Hold: p.Hold})
	if err != nil {
		return fmt.Errorf("phase 3: %w", err)
	}
	fmt.Fprintf(out, "phase 3: same load with %d clients connected in all\n", held+p.LoadClients)
	fmt.Fprintf(out, "  invite -> INVITED: %s\n  call -> reply:     %s\n", res.Invite, res.Reply)
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHealthy(ctx context.Context, url string, limit time.Duration) error {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("serve not healthy at %s after %s", url, limit)
}

func createAccounts(ctx context.Context, ac *admin.Client, n int) ([]Cred, error) {
	creds := make([]Cred, n)
	sem := make(chan struct{}, 32)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range creds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			acct := fmt.Sprintf("b%05d", i)
			u, err := ac.CreateUser(ctx, acct, acct)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("create %s: %w", acct, err)
				}
				mu.Unlock()
				return
			}
			creds[i] = Cred{Account: u.Account, Token: u.Token}
		}()
	}
	wg.Wait()
	return creds, firstErr
}

// startWorkers spreads creds over `softphone bench hold` processes and
// returns how many connections they hold. stop ends them.
func startWorkers(ctx context.Context, p Plan, url, dir string, creds []Cred) (int, func(), error) {
	path := filepath.Join(dir, "creds.json")
	b, _ := json.Marshal(creds)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return 0, func() {}, err
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Signal(os.Interrupt)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	}
	per := p.PerWorker
	if per <= 0 {
		per = 6000
	}
	held := 0
	var errs []error
	for from := 0; from < len(creds); from += per {
		n := min(per, len(creds)-from)
		cmd := exec.CommandContext(ctx, p.Exe, "bench", "hold", "--server", url, "--creds", path,
			"--from", strconv.Itoa(from), "--count", strconv.Itoa(n))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return held, stop, err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return held, stop, fmt.Errorf("start worker: %w", err)
		}
		cmds = append(cmds, cmd)
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			errs = append(errs, fmt.Errorf("worker %d: %w", from, err))
			continue
		}
		// "ready N [error text]"
		f := strings.SplitN(strings.TrimSpace(line), " ", 3)
		if len(f) >= 2 {
			k, _ := strconv.Atoi(f[1])
			held += k
		}
		if len(f) == 3 {
			errs = append(errs, fmt.Errorf("worker %d: %s", from, f[2]))
		}
	}
	return held, stop, errors.Join(errs...)
}

// rssOf reads a process's resident set size in bytes.
func rssOf(pid int) (int64, error) { return procStatus(pid, "VmRSS:") }

// procStatus reads one kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	v, err := procStatusFields(pid, field)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// procStatusFields reads several kB fields of /proc/PID/status in one go,
// in bytes, in the order asked.
func procStatusFields(pid int, fields ...string) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	return parseStatusFields(string(b), pid, fields...)
}

func parseStatusFields(status string, pid int, fields ...string) ([]int64, error) {
	out := make([]int64, len(fields))
	found := 0
	for _, line := range strings.Split(status, "\n") {
		for i, field := range fields {
			if v, ok := strings.CutPrefix(line, field); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
				}
				out[i] = kb * 1024
				found++
			}
		}
	}
	if found != len(fields) {
		return nil, fmt.Errorf("%s not all in /proc/%d/status", strings.Join(fields, " "), pid)
	}
	return out, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
