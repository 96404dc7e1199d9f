package e2e

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/impair"
	"github.com/softphone/softphone/call/protocol"
)

// impairedCall runs one call in which only alice's sending direction is
// impaired by spec (as `softphone call --impair SPEC` would) and returns
// the STATS both sides reported, the first warmup samples left out.
func impairedCall(t *testing.T, spec string, typ protocol.CallType, samples, warmup int) (alice, bob []call.CallStats) {
	t.Helper()
	ic, err := impair.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, nil)
	toks := users(t, srv, "alice", "bob")
	mc := func() *call.MediaConfig {
		// Video at a floor of 400 kbps: enough to press on a rate cap.
		return &call.MediaConfig{
			AudioIn: call.SourceTone, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
			VideoWidth: 640, VideoHeight: 360, FPS: 30, MinBitrate: 400, MaxBitrate: 1500,
		}
	}
	am, bm := mc(), mc()
	am.Net = ic.Net(nil)
	a := newDevice(t, srv, "alice", toks["alice"], devOpts{media: am})
	b := newDevice(t, srv, "bob", toks["bob"], devOpts{media: bm})
	ctx := ctxT(t)
	if _, err := a.Call(ctx, "bob", typ, nil); err != nil {
		t.Fatalf("call: %v", err)
	}
	inv := b.waitFor(protocol.EvInvited, waitTimeout).Data.(protocol.Invite)
	if err := b.Accept(ctx, &inv); err != nil {
		t.Fatalf("accept: %v", err)
	}
	collect := func(d *device) []call.CallStats {
		var out []call.CallStats
		for len(out) < samples+warmup {
			out = append(out, d.waitFor(call.EvStats, waitTimeout).Data.(call.CallStats))
		}
		return out[warmup:]
	}
	bob = collect(b) // alice's STATS queue up meanwhile
	alice = collect(a)
	if err := a.Hangup(ctxT(t)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	return alice, bob
}

// mean averages f over the samples where it is positive when positive is
// set (RTT is 0 until the first RTCP round trip), over all otherwise.
func mean(s []call.CallStats, f func(call.CallStats) float64, positive bool) float64 {
	sum, n := 0.0, 0
	for _, st := range s {
		if v := f(st); !positive || v > 0 {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// median is the median of f over the samples where it is positive.
func median(s []call.CallStats, f func(call.CallStats) float64) float64 {
	var v []float64
	for _, st := range s {
		if x := f(st); x > 0 {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func lossOf(s call.CallStats) float64       { return s.LossPct }
func remoteLossOf(s call.CallStats) float64 { return s.RemoteLossPct }
func rttOf(s call.CallStats) float64        { return s.RttMs }
func jitterOf(s call.CallStats) float64     { return s.JitterMs }
func recvOf(s call.CallStats) float64       { return s.RecvKbps }
func sendOf(s call.CallStats) float64       { return s.SendKbps }

// TestImpairmentShowsInStats: impairing one client's sending direction
// (loss=10%, delay=80ms) shows in the figures both ends report: the
// receiver counts ≈10% loss, the sender's RTCP reports ≈10% remote loss,
// and the round trip grows by ≈80 ms on both sides (loopback RTT is ~1 ms
// without impairment). Audio only: video's NACK retransmissions would
// hide part of the loss from the receiver's counter.
func TestImpairmentShowsInStats(t *testing.T) {
	checkNoEngineGoroutines(t)
	// Registered first, so it runs after the engines' cleanups: every
	// impaired socket's sender goroutine ends with its socket.
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			n := strings.Count(string(buf), "call/impair.(*shaper).run")
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d impaired sockets' goroutines outlived the call", n)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	alice, bob := impairedCall(t, "loss=10%,delay=80ms,seed=7", protocol.CallAudio, 6, 2)
	bl, al := mean(bob, lossOf, false), mean(alice, remoteLossOf, false)
	// Medians for the RTT: a starved CPU (the suite runs packages in
	// parallel) delays single RTCP reports; that only ever adds.
	br, ar := median(bob, rttOf), median(alice, rttOf)
	t.Logf("configured loss 10%%, delay 80 ms: bob's loss %.1f%%, alice's remote loss %.1f%%, RTT bob %.0f ms, alice %.0f ms", bl, al, br, ar)
	// 50 packets/s for 6 s: the binomial spread is ±2 points (1σ).
	if bl < 5 || bl > 15 {
		t.Errorf("receiver loss %.1f%%, want ≈10%%", bl)
	}
	if al < 5 || al > 15 {
		t.Errorf("sender's remote loss %.1f%%, want ≈10%%", al)
	}
	for who, rtt := range map[string]float64{"bob": br, "alice": ar} {
		if rtt < 75 || rtt > 160 {
			t.Errorf("%s's RTT %.0f ms, want ≈80 ms", who, rtt)
		}
	}
}

// TestImpairmentBench prints configured against measured impairment for
// docs (IMPAIR_BENCH=1; about 12 s per row; IMPAIR_BENCH=TEXT runs the
// rows whose spec contains TEXT).
func TestImpairmentBench(t *testing.T) {
	only := os.Getenv("IMPAIR_BENCH")
	if only == "" {
		t.Skip("set IMPAIR_BENCH=1 to measure impairment accuracy")
	}
	rows := []struct {
		spec string
		typ  protocol.CallType
	}{
		{"", protocol.CallAudio},
		{"loss=5%", protocol.CallAudio},
		{"loss=10%", protocol.CallAudio},
		{"loss=20%", protocol.CallAudio},
		{"delay=40ms", protocol.CallAudio},
		{"delay=80ms", protocol.CallAudio},
		{"delay=150ms", protocol.CallAudio},
		{"delay=80ms,jitter=10ms", protocol.CallAudio},
		{"delay=80ms,jitter=30ms", protocol.CallAudio},
		{"", protocol.CallVideo},
		{"rate=1mbps", protocol.CallVideo},
		{"rate=600kbps", protocol.CallVideo},
		{"rate=300kbps", protocol.CallVideo},
		{"loss=5%,delay=80ms,jitter=20ms,rate=300kbps", protocol.CallVideo},
	}
	var b strings.Builder
	b.WriteString("| --impair (alice) | call | bob loss % | alice remote loss % | median RTT bob / alice ms | bob jitter ms | alice send kbps | bob recv kbps | bob MOS |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if only != "1" && !strings.Contains(r.spec, only) {
			continue
		}
		alice, bob := impairedCall(t, r.spec, r.typ, 10, 2)
		spec := r.spec
		if spec == "" {
			spec = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %.1f | %.1f | %.0f / %.0f | %.1f | %.0f | %.0f | %.2f |\n", spec, r.typ,
			mean(bob, lossOf, false), mean(alice, remoteLossOf, false), median(bob, rttOf), median(alice, rttOf),
			mean(bob, jitterOf, false), mean(alice, sendOf, false), mean(bob, recvOf, false), mean(bob, func(s call.CallStats) float64 { return s.Mos }, false))
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("\n%s", b.String())
}
