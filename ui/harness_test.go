package ui

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/internal/servertest"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/ui/video"
)

// The goldens are taken at this clock, in UTC, on an 80×24 ASCII terminal.
var fixedNow = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)

const (
	termW, termH = 80, 24
	waitTimeout  = 10 * time.Second
)

var langs = []string{"zh", "en"}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startServer runs a real `softphone serve` in process on a temporary data
// directory.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	return servertest.Start(t, func(c *server.Config) { c.ReconnectGrace = 5 * time.Second })
}

type account struct {
	name, nick, token string
}

func createUsers(t *testing.T, srv *server.Server, accts ...account) map[string]account {
	t.Helper()
	out := map[string]account{}
	for _, a := range accts {
		tok, err := srv.CreateUser(ctxT(t), a.name, a.nick)
		if err != nil {
			t.Fatalf("create %s: %v", a.name, err)
		}
		a.token = tok
		out[a.name] = a
	}
	// Presence is shared between mutual contacts: everyone lists alice, the
	// account whose UI the tests drive, so her contacts show theirs.
	for _, a := range accts {
		if a.name == "alice" {
			continue
		}
		if err := srv.AddContact(ctxT(t), a.name, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// newEngine logs a signaling-only engine in (Media nil keeps tests fast).
func newEngine(t *testing.T, srv *server.Server, a account, lang string) *call.Engine {
	t.Helper()
	e := call.New(call.Config{
		Server:         srv.URL(),
		Language:       lang,
		RequestTimeout: 5 * time.Second,
		ReconnectMin:   50 * time.Millisecond,
		ReconnectMax:   300 * time.Millisecond,
	})
	t.Cleanup(func() { _ = e.Close() })
	if err := e.Login(ctxT(t), a.name, a.token); err != nil {
		t.Fatalf("login %s: %v", a.name, err)
	}
	return e
}

// bellCounter counts terminal bells.
type bellCounter struct{ n atomic.Int32 }

func (b *bellCounter) Write(p []byte) (int, error) {
	b.n.Add(int32(strings.Count(string(p), "\a")))
	return len(p), nil
}

// testConfig is a model configuration with the fixed clock, UTC and an
// ASCII colour profile, so screens are byte-stable.
func testConfig(eng engine, lang string) modelConfig {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return modelConfig{
		ctx:         context.Background(),
		eng:         eng,
		lang:        lang,
		now:         func() time.Time { return fixedNow },
		loc:         time.UTC,
		renderer:    r,
		newRenderer: func() frameRenderer { return video.NewRenderer(video.ANSI256) },
	}
}

// runUI runs m as a program on an 80×24 test terminal.
func runUI(t *testing.T, m *Model) *teatest.TestModel {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(termW, termH))
	t.Cleanup(func() {
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	})
	return tm
}

// snap returns the screen as the program's own goroutine renders it.
func snap(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	ch := make(chan string, 1)
	tm.Send(snapshotMsg{ch})
	select {
	case s := <-ch:
		return s
	case <-time.After(waitTimeout):
		t.Fatal("no snapshot: the program is stuck")
	}
	return ""
}

// waitView waits until the screen contains every one of want.
func waitView(t *testing.T, tm *teatest.TestModel, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var v string
	for time.Now().Before(deadline) {
		v = snap(t, tm)
		ok := true
		for _, w := range want {
			if !strings.Contains(v, w) {
				ok = false
				break
			}
		}
		if ok {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("screen never showed %q; last screen:\n%s", want, v)
	return ""
}

// waitStable waits until the screen shows every one of want and then stays
// the same for a while: presence and record events that follow a call
// settle before a golden is taken.
func waitStable(t *testing.T, tm *teatest.TestModel, want ...string) string {
	t.Helper()
	v := waitView(t, tm, want...)
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		next := waitView(t, tm, want...)
		if next == v {
			return v
		}
		v = next
	}
	t.Fatalf("screen never settled:\n%s", v)
	return ""
}

// waitUntil waits until cond holds for the screen.
func waitUntil(t *testing.T, tm *teatest.TestModel, what string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var v string
	for time.Now().Before(deadline) {
		if v = snap(t, tm); cond(v) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("screen never showed %s; last screen:\n%s", what, v)
	return ""
}

// lineWith returns the first screen line containing s.
func lineWith(v, s string) string {
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// waitGone waits until the screen no longer contains s.
func waitGone(t *testing.T, tm *teatest.TestModel, s string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var v string
	for time.Now().Before(deadline) {
		if v = snap(t, tm); !strings.Contains(v, s) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("screen kept showing %q:\n%s", s, v)
	return ""
}

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// waitEvent reads e's events until one called name arrives.
func waitEvent(t *testing.T, e *call.Engine, name string) call.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-e.Events():
			if !ok {
				t.Fatalf("%s: events closed waiting for %s", e.Account(), name)
			}
			if ev.Name == name {
				return ev
			}
		case <-timer.C:
			t.Fatalf("%s: no %s event", e.Account(), name)
		}
	}
}

// Volatile parts of screens built from real server data: record times and
// call lengths.
var (
	reStamp    = regexp.MustCompile(`\d\d-\d\d \d\d:\d\d`)
	reDuration = regexp.MustCompile(`\b\d\d:\d\d\b`)
)

func normalize(s string) string {
	s = reStamp.ReplaceAllString(s, "MM-DD hh:mm")
	return reDuration.ReplaceAllString(s, "mm:ss")
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares a screen with testdata/<test>/<name>.golden;
// `go test ./ui/... -update` rewrites the files.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(t.Name()), name+".golden")
	got = strings.TrimRight(got, "\n") + "\n"
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui/... -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("screen %s differs from %s\n--- want\n%s\n--- got\n%s", name, path, want, got)
	}
}

// checkSize asserts the screen is exactly w×h cells.
func checkSize(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d:\n%s", len(lines), h, s)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d cells wide (> %d): %q", i, lw, w, l)
		}
	}
}
