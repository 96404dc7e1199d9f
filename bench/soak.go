package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// The soak (`softphone bench soak`, issue 14) places many complete calls on
// one embedded `serve` at a steady rate — call, accept, hangup, both records
// — and samples the server's resident memory, to tell retention (ended
// channels kept for a while) from a leak: memory must level off and stay.

// SoakPlan configures one soak.
type SoakPlan struct {
	Exe          string
	Calls        int           // completed calls (10,000)
	Pairs        int           // caller/callee pairs taking turns
	Rate         float64       // calls per second
	Idle         time.Duration // sampling after the last call
	ServeLogPath string
	KeepDir      bool
}

// RunSoak runs the soak and writes RSS samples and the verdict to out.
func RunSoak(ctx context.Context, p SoakPlan, out io.Writer) error {
	dir, err := os.MkdirTemp("", "softphone-bench-soak-")
	if err != nil {
		return err
	}
	if !p.KeepDir {
		defer os.RemoveAll(dir)
	}
	logPath := p.ServeLogPath
	if logPath == "" {
		logPath = filepath.Join(dir, "serve.log")
	}
	srv, err := startServe(ctx, p.Exe, dir, logPath)
	if err != nil {
		return err
	}
	defer srv.stop()
	creds, err := createAccounts(ctx, srv.admin, 2*p.Pairs)
	if err != nil {
		return err
	}
	url := srv.ws + "/v1/ws"
	pairs := make([]*setupPair, p.Pairs)
	for i := range pairs {
		pairs[i] = &setupPair{caller: newParty(creds[2*i], url), callee: newParty(creds[2*i+1], url)}
		for _, who := range []*party{pairs[i].caller, pairs[i].callee} {
			if err := who.ensure(ctx); err != nil {
				return err
			}
			defer who.close()
		}
	}
	rss0, _ := rssOf(srv.pid)
	fmt.Fprintf(out, "soak: %d calls at %.0f/s over %d pairs on one embedded serve (pid %d); RSS at start %s\n",
		p.Calls, p.Rate, p.Pairs, srv.pid, mib(rss0))

	var (
		done, failed atomic.Int64
		wg           sync.WaitGroup
		mu           sync.Mutex
		marks        []int64 // RSS at every 1,000 calls
	)
	start := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / p.Rate))
	next := 0
	for started := 0; started < p.Calls && ctx.Err() == nil; {
		<-tick.C
		pr := pairs[next%len(pairs)]
		next++
		if !pr.busy.CompareAndSwap(false, true) {
			continue
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pr.busy.Store(false)
			if err := pr.complete(ctx); err != nil {
				if failed.Add(1) <= 3 {
					fmt.Fprintf(out, "  call failed: %v\n", err)
				}
			} else {
				pr.calls.Add(1)
			}
			if n := done.Add(1); n%1000 == 0 {
				rss, _ := rssOf(srv.pid)
				mu.Lock()
				marks = append(marks, rss)
				mu.Unlock()
				fmt.Fprintf(out, "  %6d calls  %6.1fs  RSS %s\n", n, time.Since(start).Seconds(), mib(rss))
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	elapsed := time.Since(start)
	var idle []int64
	for end := time.Now().Add(p.Idle); time.Now().Before(end) && ctx.Err() == nil; {
		time.Sleep(time.Second)
		if rss, err := rssOf(srv.pid); err == nil {
			idle = append(idle, rss)
		}
	}
	fmt.Fprintf(out, "  %d calls in %s (%.1f/s), %d failed\n", done.Load(), elapsed.Round(time.Second), float64(done.Load())/elapsed.Seconds(), failed.Load())
	if len(marks) >= 2 && len(idle) > 0 {
		// The plateau: the median of the marks of the second half, when
		// retention (ended channels kept two minutes) is in steady state.
		half := append([]int64(nil), marks[len(marks)/2:]...)
		sort.Slice(half, func(i, j int) bool { return half[i] < half[j] })
		plateau := half[len(half)/2]
		last, end := marks[len(marks)-1], idle[len(idle)-1]
		fmt.Fprintf(out, "  plateau %s, at the last call %s (%+.1f MiB), after %s idle %s (%+.1f MiB)\n",
			mib(plateau), mib(last), float64(last-plateau)/(1<<20), p.Idle, mib(end), float64(end-plateau)/(1<<20))
	}
	if err := pageRecords(ctx, pairs[0].caller, int(pairs[0].calls.Load()), out); err != nil {
		return err
	}
	return ctx.Err()
}

// pageRecords pages through one account's history, 500 records a request,
// and checks it holds want distinct records in replies within the frame
// limit.
func pageRecords(ctx context.Context, p *party, want int, out io.Writer) error {
	start := time.Now()
	seen := map[string]bool{}
	pages, biggest := 0, 0
	cursor := ""
	for {
		data, err := p.do(ctx, protocol.ReqRecords, protocol.RecordsQuery{Limit: protocol.MaxRecordsLimit, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("records page %d: %w", pages+1, err)
		}
		var rr protocol.RecordsReply
		if err := json.Unmarshal(data, &rr); err != nil {
			return err
		}
		pages++
		biggest = max(biggest, len(data))
		for _, r := range rr.Records {
			seen[r.ChannelID] = true
		}
		if rr.Next == "" {
			break
		}
		cursor = rr.Next
	}
	fmt.Fprintf(out, "  records of %s: %d distinct in %d pages (want %d), largest reply %d bytes (frame limit %d), paged in %s\n",
		p.cred.Account, len(seen), pages, want, biggest, protocol.MaxMessageSize, time.Since(start).Round(time.Millisecond))
	return nil
}

// complete places one complete call: call, accept, hangup, both records.
func (p *setupPair) complete(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	data, err := p.caller.do(cctx, protocol.ReqCall, protocol.Call{To: p.callee.cred.Account, CallType: protocol.CallAudio})
	if err != nil {
		return err
	}
	var cr protocol.CallReply
	if err := json.Unmarshal(data, &cr); err != nil {
		return err
	}
	ref := protocol.ChannelRef{ChannelID: cr.ChannelID}
	if _, err := p.callee.wait(cctx, protocol.EvInvited, cr.ChannelID); err != nil {
		return err
	}
	if _, err := p.callee.do(cctx, protocol.ReqAccept, ref); err != nil {
		return err
	}
	if _, err := p.caller.wait(cctx, protocol.EvUserAccept, cr.ChannelID); err != nil {
		return err
	}
	if _, err := p.caller.do(cctx, protocol.ReqHangup, ref); err != nil {
		return err
	}
	for _, who := range []*party{p.caller, p.callee} {
		if _, err := who.wait(cctx, protocol.EvMessageSent, cr.ChannelID); err != nil {
			return err
		}
	}
	return nil
}
