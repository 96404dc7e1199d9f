package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// party is one account's device in the cluster bench. It logs in again when
// its connection closes: a serve node whose NATS connection failed over
// makes its devices reconnect.
type party struct {
	cred    Cred
	url     string
	c       *client
	events  chan *protocol.Message
	dropped atomic.Int64
}

func newParty(cred Cred, url string) *party {
	return &party{cred: cred, url: url, events: make(chan *protocol.Message, 1024)}
}

// ensure (re)connects, retrying until ctx ends.
func (p *party) ensure(ctx context.Context) error {
	if p.c != nil {
		select {
		case <-p.c.done:
		default:
			return nil
		}
	}
	for {
		c, err := dial(ctx, p.url, p.cred.Account, p.cred.Token, func(_ *client, m *protocol.Message, _ time.Time) {
			select {
			case p.events <- m:
			default:
				p.dropped.Add(1)
			}
		})
		if err == nil {
			p.c = c
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// do sends one request on a live connection.
func (p *party) do(ctx context.Context, typ string, payload any) (json.RawMessage, error) {
	if err := p.ensure(ctx); err != nil {
		return nil, err
	}
	return p.c.request(ctx, typ, payload)
}

// wait returns the next event called name on channel ch, skipping others.
func (p *party) wait(ctx context.Context, name, ch string) (*protocol.Message, error) {
	for {
		select {
		case m := <-p.events:
			if m.Event != name {
				continue
			}
			var ref struct {
				ChannelID string `json:"channelId"`
			}
			if json.Unmarshal(m.Data, &ref) == nil && ref.ChannelID == ch {
				return m, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("no %s for %s: %w", name, ch, ctx.Err())
		}
	}
}

func (p *party) close() {
	if p.c != nil {
		p.c.close()
	}
}

// tally counts outcomes by step.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(step string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	key := step
	if code := protocol.CodeOf(err); code != 0 {
		key = fmt.Sprintf("%s %d", step, code)
	}
	t.n[key]++
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.n) == 0 {
		return "none"
	}
	var keys []string
	for k := range t.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s ×%d", k, t.n[k])
	}
	return b.String()
}

// staleReads runs p.Calls calls across the two serve nodes, each step right
// after the event that allows it — accept right after INVITED, relay right
// after USER_ACCEPT, hangup right after accept, the records of both right
// after MESSAGE_SENT — where a read served by a lagging replica refused
// steps before (issue 14).
func staleReads(ctx context.Context, env *clusterEnv, creds []Cred, p ClusterPlan, out io.Writer) error {
	par := max(p.Parallel, 1)
	var refused, lost tally
	var done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range par {
		// Half the pairs call from serve 1 to serve 2, half the other way.
		caller := newParty(creds[2*i], env.urls[i%2])
		callee := newParty(creds[2*i+1], env.urls[(i+1)%2])
		calls := p.Calls/par + map[bool]int{true: 1}[i < p.Calls%par]
		for _, who := range []*party{caller, callee} {
			if err := who.ensure(ctx); err != nil {
				return err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer caller.close()
			defer callee.close()
			for range calls {
				if ctx.Err() != nil {
					return
				}
				crossCall(ctx, caller, callee, &refused, &lost)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(out, "stale reads: %d cross-node calls in %s, %d at once\n", done.Load(), time.Since(start).Round(time.Millisecond), par)
	fmt.Fprintf(out, "  refused steps: %s\n  lost events: %s\n", &refused, &lost)
	return ctx.Err()
}

// benchCandidate is a well-formed ICE candidate for the relays.
var benchCandidate = json.RawMessage(`{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}`)

// crossCall is one call of the stale-read run.
func crossCall(ctx context.Context, caller, callee *party, refused, lost *tally) {
	step := func(name string, err error) bool {
		if err != nil {
			refused.add(name, err)
		}
		return err == nil
	}
	ev := func(p *party, name, ch string) *protocol.Message {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, err := p.wait(wctx, name, ch)
		if err != nil {
			lost.add(name, nil)
		}
		return m
	}
	var cr protocol.CallReply
	data, err := caller.do(ctx, protocol.ReqCall, protocol.Call{To: callee.cred.Account, CallType: protocol.CallAudio})
	if !step("call", err) || json.Unmarshal(data, &cr) != nil {
		return
	}
	ch := cr.ChannelID
	ref := protocol.ChannelRef{ChannelID: ch}
	if ev(callee, protocol.EvInvited, ch) == nil {
		_, _ = caller.do(ctx, protocol.ReqCancel, ref)
		return
	}
	var ar protocol.AcceptReply
	data, err = callee.do(ctx, protocol.ReqAccept, ref)
	if !step("accept", err) || json.Unmarshal(data, &ar) != nil {
		_, _ = caller.do(ctx, protocol.ReqCancel, ref)
		return
	}
	var ua protocol.Peer
	if m := ev(caller, protocol.EvUserAccept, ch); m != nil {
		_ = json.Unmarshal(m.Data, &ua)
		_, err = caller.do(ctx, protocol.ReqRelay, protocol.Relay{ChannelID: ch, Token: ua.MediaToken, Kind: protocol.RelayCandidate, Payload: benchCandidate})
		step("relay (caller)", err)
	}
	_, err = callee.do(ctx, protocol.ReqRelay, protocol.Relay{ChannelID: ch, Token: ar.MediaToken, Kind: protocol.RelayCandidate, Payload: benchCandidate})
	step("relay (callee)", err)
	_, err = callee.do(ctx, protocol.ReqHangup, ref)
	step("hangup", err)
	ev(caller, protocol.EvCallEnd, ch)
	for _, p := range []*party{caller, callee} {
		if ev(p, protocol.EvMessageSent, ch) != nil {
			_, err = p.do(ctx, protocol.ReqRecords, protocol.RecordsQuery{Limit: 20})
			step("records", err)
		}
	}
}

// A fault run kills (or stops) one node while call setups run at a steady
// rate, and measures what the setups around the fault cost. place puts the
// stream leaders where the fault needs them and returns the node to kill.
type faultRun struct {
	what  string
	sig   syscall.Signal
	place func(ctx context.Context, env *clusterEnv) (string, error)
}

// The nodes: serve 1 is on n1, serve 2 on n2; n3 has no serve.
var faultRuns = map[string]faultRun{
	// n3 leads nothing: its death costs a follower.
	"follower": {"kill -9 of a follower node (n3, leads no stream)", syscall.SIGKILL, func(ctx context.Context, env *clusterEnv) (string, error) {
		return "n3", env.placeLeaders(ctx, func(string) string { return "n1" })
	}},
	// n3 leads every stream but has no serve: a leader election.
	"leader": {"kill -9 of the node leading every stream (n3)", syscall.SIGKILL, func(ctx context.Context, env *clusterEnv) (string, error) {
		return "n3", env.placeLeaders(ctx, func(string) string { return "n3" })
	}},
	// The same leader stopped cleanly: it hands its leaderships over first.
	"leader-term": {"SIGTERM of the node leading every stream (n3)", syscall.SIGTERM, func(ctx context.Context, env *clusterEnv) (string, error) {
		return "n3", env.placeLeaders(ctx, func(string) string { return "n3" })
	}},
	// Both at once: the node under serve 1 leads every stream.
	"node-leader": {"kill -9 of the node under serve 1, leading every stream (n1)", syscall.SIGKILL, func(ctx context.Context, env *clusterEnv) (string, error) {
		return "n1", env.placeLeaders(ctx, func(string) string { return "n1" })
	}},
	// The node under serve 1, leading nothing: serve 1's connection fails
	// over and its devices log in again.
	"node": {"kill -9 of the node under serve 1 (n1, leads no stream)", syscall.SIGKILL, func(ctx context.Context, env *clusterEnv) (string, error) {
		return "n1", env.placeLeaders(ctx, func(string) string { return "n2" })
	}},
}

// sample is one call setup of a fault run.
type sample struct {
	start   time.Time
	latency time.Duration // until the call reply (including any reconnect)
	err     error
}

func runFault(ctx context.Context, env *clusterEnv, creds []Cred, rate float64, name string, f faultRun, out io.Writer) error {
	if err := env.settle(ctx); err != nil {
		return err
	}
	target, err := f.place(ctx, env)
	if err != nil {
		return err
	}
	n := len(creds) / 2
	pairs := make([]*setupPair, n)
	for i := range pairs {
		pairs[i] = &setupPair{caller: newParty(creds[2*i], env.urls[i%2]), callee: newParty(creds[2*i+1], env.urls[(i+1)%2])}
		if err := pairs[i].caller.ensure(ctx); err != nil {
			return err
		}
		if err := pairs[i].callee.ensure(ctx); err != nil {
			return err
		}
	}
	defer func() {
		for _, p := range pairs {
			p.caller.close()
			p.callee.close()
		}
	}()

	var (
		mu      sync.Mutex
		samples []sample
		skipped int
		wg      sync.WaitGroup
	)
	begin := time.Now()
	killAt := begin.Add(faultLead)
	end := killAt.Add(faultWindow)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	killed := false
	next := 0
	for now := range tick.C {
		if ctx.Err() != nil {
			break
		}
		if !killed && now.After(killAt) {
			killAt = time.Now()
			env.node(target).kill(f.sig)
			killed = true
		}
		if now.After(end) {
			break
		}
		p := pairs[next%n]
		next++
		if !p.busy.CompareAndSwap(false, true) {
			skipped++
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.busy.Store(false)
			s := p.setup(ctx, now)
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if !killed {
		return ctx.Err()
	}
	reportFault(out, name, f.what, killAt, samples, skipped)
	// Bring the node back for the next run.
	return env.node(target).start(ctx, env.exe, env.routes)
}

// setupPair places calls one at a time: a call, then its cancel, whose
// reply says the locks are free for the next call.
type setupPair struct {
	caller, callee *party
	busy           atomic.Bool
	calls          atomic.Int64 // completed calls (the soak)
}

func (p *setupPair) setup(ctx context.Context, start time.Time) sample {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	data, err := p.caller.do(cctx, protocol.ReqCall, protocol.Call{To: p.callee.cred.Account, CallType: protocol.CallAudio})
	s := sample{start: start, latency: time.Since(start), err: err}
	var cr protocol.CallReply
	if err != nil || json.Unmarshal(data, &cr) != nil {
		return s
	}
	ref := protocol.ChannelRef{ChannelID: cr.ChannelID}
	// As a real client does, cancel again until the server takes it: a
	// connection closed by a failover, or a 503, did not cancel anything.
	for {
		_, err := p.caller.do(cctx, protocol.ReqCancel, ref)
		var pe *protocol.Error
		if err == nil || cctx.Err() != nil || (errors.As(err, &pe) && pe.Code != protocol.CodeUnavailable) {
			break
		}
	}
	return s
}

// reportFault prints what the fault cost. A setup counts as slowed when it
// took longer than slowSetup and three times the slowest of the setups
// before the fault (a shared machine's noise is not the fault's doing); the
// disruption lasts from the fault until the last refused or slowed setup
// finished.
func reportFault(out io.Writer, name, what string, killAt time.Time, samples []sample, skipped int) {
	sort.Slice(samples, func(i, j int) bool { return samples[i].start.Before(samples[j].start) })
	var before, after []time.Duration
	for _, s := range samples {
		if s.start.Before(killAt.Add(-slowSetup)) {
			before = append(before, s.latency)
		}
	}
	base := summarize(before)
	slow := max(slowSetup, 3*base.P99)
	var refused, slowed int
	var lastAffected time.Time
	var errs tally
	var affectedList []string
	for _, s := range samples {
		if s.start.Before(killAt.Add(-slowSetup)) {
			continue
		}
		after = append(after, s.latency)
		affected := s.err != nil || s.latency > slow
		if s.err != nil {
			refused++
			errs.add("call", s.err)
		} else if s.latency > slow {
			slowed++
		}
		if affected {
			if done := s.start.Add(s.latency); done.After(lastAffected) {
				lastAffected = done
			}
			what := s.latency.Round(10 * time.Millisecond).String()
			if s.err != nil {
				what = fmt.Sprintf("code %d", protocol.CodeOf(s.err))
			}
			affectedList = append(affectedList, fmt.Sprintf("%+.1fs %s", s.start.Sub(killAt).Seconds(), what))
		}
	}
	window := time.Duration(0)
	if !lastAffected.IsZero() {
		window = lastAffected.Sub(killAt)
	}
	fmt.Fprintf(out, "fault %s: %s\n", name, what)
	fmt.Fprintf(out, "  setups before: %s\n  setups after:  %s\n", base, summarize(after))
	fmt.Fprintf(out, "  refused %d (%s), slowed over %s %d, skipped ticks %d; disrupted for %s after the fault\n",
		refused, &errs, slow.Round(time.Millisecond), slowed, skipped, window.Round(10*time.Millisecond))
	if n := len(affectedList); n > 0 {
		if n > 12 {
			affectedList = append(affectedList[:6], append([]string{"…"}, affectedList[n-6:]...)...)
		}
		fmt.Fprintf(out, "  affected setups (start after the fault, latency): %s\n", strings.Join(affectedList, ", "))
	}
}
