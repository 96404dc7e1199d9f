// Package browser runs the shipped web client in a real headless Chromium
// (fake camera and microphone) against a real softphone server and the Go
// call engine: calls in both directions, audio and video, a type switch,
// relay-only, and a call whose media fails, with media checked on both
// sides (the browser's getStats, the engine's STATS).
package browser

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/internal/chromium"
	"github.com/softphone/softphone/internal/servertest"
	"github.com/softphone/softphone/internal/webclient"
	"github.com/softphone/softphone/server"
)

// waitTimeout bounds every wait; nothing here asserts a timing.
const waitTimeout = 30 * time.Second

var shared struct {
	once sync.Once
	b    *chromium.Browser
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.b != nil {
		_ = shared.b.Close()
	}
	os.Exit(code)
}

func logger() *slog.Logger {
	if os.Getenv("E2E_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// theBrowser returns the package's Chromium, started on first use. Without
// Chromium the test is skipped, except in CI (CI=true), where that fails.
func theBrowser(t *testing.T) *chromium.Browser {
	t.Helper()
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: scripts/test installs it", err)
		}
		t.Skipf("%v: run ./scripts/test (it installs it) for the browser tests", err)
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		shared.b, shared.err = chromium.Launch(ctx, chromium.Options{Logger: logger()})
	})
	if shared.err != nil {
		t.Fatalf("launch chromium: %v", shared.err)
	}
	return shared.b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// page is the web client in a tab, failing the test on any error.
type page struct {
	*webclient.Page
	t *testing.T
}

// open opens the client of srv and logs account in with the form.
func open(t *testing.T, srv *server.Server, account, token, query string) *page {
	t.Helper()
	if os.Getenv("E2E_LOG") != "" {
		query = strings.TrimPrefix(query+"&debug=1", "&")
	}
	wp, err := webclient.Open(ctxT(t), theBrowser(t), account, srv.AdminURL(), query)
	if err != nil {
		t.Fatal(err)
	}
	wp.Timeout = waitTimeout
	p := &page{Page: wp, t: t}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s console:\n%s\nevents:%s\nmedia:%s", account, strings.Join(wp.Console(), "\n"), wp.EventLog(context.Background()), mediaState(wp))
		}
		_ = wp.Close()
	})
	p.check(wp.Login(ctxT(t), "", account, token))
	return p
}

func (p *page) check(err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) click(id string) { p.t.Helper(); p.check(p.Click(ctxT(p.t), id)) }

func (p *page) event(name, pred string) webclient.Event {
	p.t.Helper()
	ev, err := p.WaitEvent(ctxT(p.t), name, pred)
	p.check(err)
	return ev
}

func (p *page) stats(pred string) webclient.Stats {
	p.t.Helper()
	st, err := p.WaitStats(ctxT(p.t), pred)
	p.check(err)
	return st
}

func (p *page) waitFor(cond string) { p.t.Helper(); p.check(p.WaitFor(ctxT(p.t), cond)) }

func (p *page) eval(expr string, out any) { p.t.Helper(); p.check(p.Eval(ctxT(p.t), expr, out)) }

func (p *page) text(id string) string {
	p.t.Helper()
	s, err := p.Text(ctxT(p.t), id)
	p.check(err)
	return s
}

// engine is a logged-in Go engine with a tone and the test pattern.
type engine struct {
	*call.Engine
	t    *testing.T
	seen []call.Event
}

func engineMedia() *call.MediaConfig {
	return &call.MediaConfig{AudioIn: call.SourceTone, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
		VideoWidth: 320, VideoHeight: 180, FPS: 15, MinBitrate: 150, MaxBitrate: 600}
}

func newEngine(t *testing.T, srv *server.Server, account, token string, media *call.MediaConfig) *engine {
	t.Helper()
	e := call.New(call.Config{Server: srv.URL(), Media: media, Logger: logger(), RequestTimeout: 10 * time.Second})
	t.Cleanup(func() { _ = e.Close() })
	if err := e.Login(ctxT(t), account, token); err != nil {
		t.Fatal(err)
	}
	return &engine{Engine: e, t: t}
}

// waitFor returns the next event called name whose data satisfies ok (nil:
// any), skipping others.
func (e *engine) waitFor(name string, ok func(call.Event) bool) call.Event {
	e.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-e.Events():
			e.seen = append(e.seen, ev)
			if ev.Name == name && (ok == nil || ok(ev)) {
				return ev
			}
		case <-timer.C:
			var names []string
			for _, ev := range e.seen {
				if ev.Name != call.EvStats {
					names = append(names, ev.Name)
				}
			}
			e.t.Fatalf("%s: no %s; saw %v", e.Account(), name, names)
		}
	}
}

// statsWith waits for a STATS event of the engine satisfying ok.
func (e *engine) statsWith(ok func(call.CallStats) bool) call.CallStats {
	e.t.Helper()
	return e.waitFor(call.EvStats, func(ev call.Event) bool { return ok(ev.Data.(call.CallStats)) }).Data.(call.CallStats)
}

// pair starts a server (mod may change its config) with alice and bob as
// mutual contacts and returns their tokens.
func pair(t *testing.T, mod func(*server.Config)) (*server.Server, map[string]string) {
	t.Helper()
	srv := servertest.Start(t, func(c *server.Config) {
		c.Logger = logger()
		if mod != nil {
			mod(c)
		}
	})
	toks := servertest.Users(t, srv, "alice", "bob")
	for _, p := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		if err := srv.AddContact(ctxT(t), p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	return srv, toks
}

// mediaState describes the page's peer connection for a failure message.
func mediaState(wp *webclient.Page) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var st string
	_ = wp.Page.Eval(ctx, `(() => {
		const s = window.softphoneApp.kit && window.softphoneApp.kit.session;
		if (!s) return 'no session';
		const pc = s.pc;
		return [pc.signalingState, pc.iceConnectionState, pc.connectionState,
			JSON.stringify(pc.getTransceivers().map((t) => ({mid: t.mid, kind: t.receiver.track.kind, dir: t.direction, cur: t.currentDirection, track: !!t.sender.track}))),
			'local: ' + (pc.localDescription && pc.localDescription.sdp), 'remote: ' + (pc.remoteDescription && pc.remoteDescription.sdp)].join('\n');
	})()`, &st)
	return st
}
