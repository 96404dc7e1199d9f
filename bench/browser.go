package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/chromium"
	"github.com/softphone/softphone/internal/webclient"
)

// The browser part measures call setup with Chromium on the other end: the
// shipped web client in headless Chromium (fake microphone) against an
// in-process engine, audio calls in both directions, accept → the first
// audio packet at each end.
//
// Times: the callee's accept is read just before Engine.Accept, or in the
// page just before the accept button's click (Date.now()). The engine's
// first packet is its AUDIO_AVAILABLE (pion's OnTrack on the first Opus
// packet); the browser's is the arrival time of the first inbound audio
// packet from getStats (lastPacketReceivedTimestamp when one packet is in,
// which the client reads every 10 ms once the connection is up). Browser and
// engine read the same system clock.

// browserRings are the ring times of the browser part's two series: an
// accept the moment INVITED arrives, as the setup part does, and one after
// a second of ringing, which is when a person answers at the earliest (and
// what lets both sides prepare while it rings).
var browserRings = []time.Duration{0, time.Second}

// browser runs the browser part.
func (r *mediaRun) browser(ctx context.Context) error {
	if _, err := chromium.Find(); err != nil {
		r.note("browser: skipped: %v", err)
		fmt.Fprintf(r.out, "browser: skipped: %v\n", err)
		return nil
	}
	n := r.plan.SetupCalls
	fmt.Fprintf(r.out, "browser: %d audio calls per direction and ring time, Chromium (fake devices) ↔ in-process engine, times from the callee's accept\n", n)
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	b, err := chromium.Launch(lctx, chromium.Options{Logger: r.log})
	cancel()
	if err != nil {
		return err
	}
	defer b.Close()
	accts, err := r.users(ctx, "w", 1)
	if err != nil {
		return err
	}
	page, err := webclient.Open(ctx, b, accts[0].name, "http://"+r.srv.addr, "")
	if err != nil {
		return err
	}
	defer page.Close()
	page.Timeout = 15 * time.Second
	if err := page.Login(ctx, "", accts[0].name, accts[0].token); err != nil {
		return err
	}
	// One call first, not counted: the page's first peer connection starts
	// Chromium's WebRTC stack (hundreds of milliseconds, once per page).
	if _, err := r.browserCall(ctx, page, true, 0); err != nil {
		return fmt.Errorf("warm-up call: %w", err)
	}
	for _, ring := range browserRings {
		var toBrowser, fromBrowser [2][]float64 // [callee, caller] ms
		for i := range n {
			for _, engineCalls := range []bool{true, false} {
				res, err := r.browserCall(ctx, page, engineCalls, ring)
				if err != nil {
					return fmt.Errorf("call %d (engine calls %t, ring %v): %w", i+1, engineCalls, ring, err)
				}
				dst := &fromBrowser
				if engineCalls {
					dst = &toBrowser
				}
				dst[0] = append(dst[0], res.callee)
				dst[1] = append(dst[1], res.caller)
				fmt.Fprintf(r.out, "  ring %-4v call %2d engine→browser %t: first audio at callee %5.1f, at caller %5.1f ms\n",
					ring, i+1, engineCalls, res.callee, res.caller)
			}
		}
		when := "accepted on INVITED"
		if ring > 0 {
			when = fmt.Sprintf("accepted after %v of ringing", ring)
		}
		r.add("engine calls Chromium, "+when+": accept → first audio at Chromium (callee)", p50(toBrowser[0]), "target ≤ 50 ms")
		r.add("engine calls Chromium, "+when+": accept → first audio at the engine (caller)", p50(toBrowser[1]), "target ≤ 50 ms")
		r.add("Chromium calls engine, "+when+": accept → first audio at the engine (callee)", p50(fromBrowser[0]), "target ≤ 50 ms")
		r.add("Chromium calls engine, "+when+": accept → first audio at Chromium (caller)", p50(fromBrowser[1]), "target ≤ 50 ms")
	}
	return nil
}

// setupTimes are one call's accept → first audio packet at each end, ms.
type setupTimes struct{ callee, caller float64 }

// browserCall makes one audio call between a fresh engine account and the
// page, accepted after ring, and hangs it up.
func (r *mediaRun) browserCall(ctx context.Context, page *webclient.Page, engineCalls bool, ring time.Duration) (setupTimes, error) {
	accts, err := r.users(ctx, "e", 1)
	if err != nil {
		return setupTimes{}, err
	}
	e, err := r.newEngine(ctx, accts[0], &call.MediaConfig{
		AudioIn: call.SourceTone, AudioOut: call.SourceNone, VideoIn: call.SourceNone, StatsInterval: -1,
	})
	if err != nil {
		return setupTimes{}, err
	}
	defer e.Close()
	if err := page.ClearEvents(ctx); err != nil {
		return setupTimes{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var acceptedAt float64 // ms since the epoch
	if engineCalls {
		if _, err := e.Call(wctx, page.Name, protocol.CallAudio, nil); err != nil {
			return setupTimes{}, fmt.Errorf("call: %w", err)
		}
		if _, err := page.WaitEvent(wctx, "INVITED", ""); err != nil {
			return setupTimes{}, err
		}
		time.Sleep(ring)
		if err := page.Eval(wctx, `(() => { const t = Date.now(); document.getElementById('btn-accept').click(); return t; })()`, &acceptedAt); err != nil {
			return setupTimes{}, err
		}
	} else {
		if err := page.Eval(wctx, fmt.Sprintf(`softphoneApp.startCall(%q, 1)`, e.Account()), nil); err != nil {
			return setupTimes{}, err
		}
		if _, err := e.wait(wctx, protocol.EvInvited, 10*time.Second); err != nil {
			return setupTimes{}, err
		}
		e.mu.Lock()
		inv := *e.invite
		e.mu.Unlock()
		time.Sleep(ring)
		acceptedAt = float64(time.Now().UnixMicro()) / 1000
		if err := e.Accept(wctx, &inv); err != nil {
			return setupTimes{}, fmt.Errorf("accept: %w", err)
		}
	}
	engineAt, err := e.wait(wctx, call.EvAudioAvailable, 10*time.Second)
	if err != nil {
		return setupTimes{}, err
	}
	browserAt, err := page.FirstAudioAt(wctx)
	if err != nil {
		return setupTimes{}, err
	}
	if browserAt <= 0 {
		return setupTimes{}, errors.New("the page reported no arrival time")
	}
	eng := float64(engineAt.UnixMicro())/1000 - acceptedAt
	web := browserAt - acceptedAt
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	defer hcancel()
	_ = e.Hangup(hctx)
	if _, err := page.WaitEvent(hctx, "MESSAGE_SENT", ""); err != nil {
		return setupTimes{}, err
	}
	if engineCalls {
		return setupTimes{callee: web, caller: eng}, nil
	}
	return setupTimes{callee: eng, caller: web}, nil
}
