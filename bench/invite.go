package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// Cred is one account's login.
type Cred struct {
	Account string `json:"account"`
	Token   string `json:"token"`
}

// InviteConfig drives a background call load and measures, for every call,
// the time from writing the caller's `call` request to the callee reading
// INVITED. Caller and callee are in this process, so one clock serves both.
type InviteConfig struct {
	URL      string
	Creds    []Cred        // even count; pairs (2i, 2i+1) call each other
	Rate     float64       // call setups per second
	Duration time.Duration // measured period
	Hold     time.Duration // how long an accepted call lasts before hangup
}

// Latencies summarises a sample of durations.
type Latencies struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1)+0.5)] }
	return Latencies{N: len(d), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: d[len(d)-1]}
}

func (l Latencies) String() string {
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", l.N, round(l.P50), round(l.P90), round(l.P99), round(l.Max))
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// InviteResult is what RunInvite measured.
type InviteResult struct {
	Invite   Latencies // call sent → INVITED read at the callee
	Reply    Latencies // call sent → reply read at the caller
	Calls    int64     // setups started
	Skipped  int64     // ticks with no idle pair
	Errors   int64     // failed requests
	Achieved float64   // setups per second actually started
}

type pair struct {
	caller, callee *client
	busy           atomic.Bool
	sentAt         atomic.Int64 // unix ns of the pending call request
}

// RunInvite logs in every credential, runs the load for cfg.Duration and
// logs everyone out again.
func RunInvite(ctx context.Context, cfg InviteConfig) (InviteResult, error) {
	var res InviteResult
	if len(cfg.Creds) < 2 || cfg.Rate <= 0 {
		return res, fmt.Errorf("invite bench: need at least 2 accounts and a positive rate")
	}
	var (
		mu      sync.Mutex
		invites []time.Duration
		replies []time.Duration
		wg      sync.WaitGroup
	)
	pairs := make([]*pair, len(cfg.Creds)/2)
	byCallee := map[string]*pair{}
	byCaller := map[string]*pair{}
	for i := range pairs {
		pairs[i] = &pair{}
		byCaller[cfg.Creds[2*i].Account] = pairs[i]
		byCallee[cfg.Creds[2*i+1].Account] = pairs[i]
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	onEvent := func(c *client, m *protocol.Message, at time.Time) {
		switch m.Event {
		case protocol.EvInvited:
			p := byCallee[c.account]
			if p == nil {
				return
			}
			if sent := p.sentAt.Swap(0); sent != 0 {
				mu.Lock()
				invites = append(invites, at.Sub(time.Unix(0, sent)))
				mu.Unlock()
			}
			var inv protocol.Invite
			if json.Unmarshal(m.Data, &inv) == nil {
				_, _, _ = c.send(protocol.ReqAccept, &protocol.ChannelRef{ChannelID: inv.ChannelID})
			}
		case protocol.EvUserAccept:
			var peer protocol.Peer
			if json.Unmarshal(m.Data, &peer) != nil {
				return
			}
			wg.Add(1)
			time.AfterFunc(cfg.Hold, func() {
				defer wg.Done()
				_, _, _ = c.send(protocol.ReqHangup, &protocol.ChannelRef{ChannelID: peer.ChannelID})
			})
		case protocol.EvMessageSent:
			if p := byCaller[c.account]; p != nil {
				p.busy.Store(false)
			}
		}
	}

	clients := make([]*client, len(cfg.Creds))
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if err := connectAll(ctx, cfg.URL, cfg.Creds, onEvent, clients); err != nil {
		return res, err
	}
	for i, p := range pairs {
		p.caller, p.callee = clients[2*i], clients[2*i+1]
	}

	interval := time.Duration(float64(time.Second) / cfg.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := time.Now()
	deadline := time.NewTimer(cfg.Duration)
	defer deadline.Stop()
	next := 0
loop:
	for {
		select {
		case <-runCtx.Done():
			return res, runCtx.Err()
		case <-deadline.C:
			break loop
		case <-tick.C:
		}
		var p *pair
		for range pairs {
			cand := pairs[next]
			next = (next + 1) % len(pairs)
			if cand.busy.CompareAndSwap(false, true) {
				p = cand
				break
			}
		}
		if p == nil {
			res.Skipped++
			continue
		}
		res.Calls++
		sent := time.Now()
		p.sentAt.Store(sent.UnixNano())
		_, ch, err := p.caller.send(protocol.ReqCall, &protocol.Call{To: p.callee.account, CallType: protocol.CallAudio})
		if err != nil {
			res.Errors++
			p.busy.Store(false)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case m, ok := <-ch:
				if !ok || m.Code != protocol.CodeOK {
					atomic.AddInt64(&res.Errors, 1)
					p.sentAt.Store(0)
					p.busy.Store(false)
					return
				}
				mu.Lock()
				replies = append(replies, time.Since(sent))
				mu.Unlock()
			case <-runCtx.Done():
			}
		}()
	}
	res.Achieved = float64(res.Calls) / time.Since(start).Seconds()
	// Let calls in flight finish so the next phase starts from idle.
	waitIdle(ctx, pairs, cfg.Hold+10*time.Second)
	cancel()
	wg.Wait()
	mu.Lock()
	res.Invite, res.Reply = summarize(invites), summarize(replies)
	mu.Unlock()
	return res, nil
}

func waitIdle(ctx context.Context, pairs []*pair, limit time.Duration) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) && ctx.Err() == nil {
		busy := false
		for _, p := range pairs {
			if p.busy.Load() {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connectAll logs every credential in with bounded concurrency.
func connectAll(ctx context.Context, url string, creds []Cred, onEvent func(*client, *protocol.Message, time.Time), out []*client) error {
	sem := make(chan struct{}, 64)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i, cr := range creds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := dial(ctx, url, cr.Account, cr.Token, onEvent)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[i] = c
		}()
	}
	wg.Wait()
	return firstErr
}
