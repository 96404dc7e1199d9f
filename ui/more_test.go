package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
	"github.com/charmbracelet/x/term"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/servertest"
)

// Switching audio → video asks the peer; its agreement changes the screen;
// s again goes back to audio at once.
func TestSwitchCallType(t *testing.T) {
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			s := newCallSetup(t, lang)
			tm := runUI(t, newModel(testConfig(s.alice, lang)))
			waitView(t, tm, "小明 (bob)")
			tx := textFor(lang)
			if _, err := s.bob.Call(ctxT(t), "alice", protocol.CallAudio, nil); err != nil {
				t.Fatal(err)
			}
			waitView(t, tm, tx.incomingTitle)
			tm.Send(press("y"))
			waitView(t, tm, tx.callAudio+" · ")

			tm.Send(press("s"))
			for {
				ev := waitEvent(t, s.bob, protocol.EvCallTypeChange)
				if c := ev.Data.(protocol.CallTypeChange); c.State == protocol.SwitchInvite && c.UserID == "alice" {
					break
				}
			}
			checkGolden(t, "asked", waitView(t, tm, tx.switchWait))
			if err := s.bob.SwitchCallType(ctxT(t), protocol.CallVideo, protocol.SwitchAgree); err != nil {
				t.Fatal(err)
			}
			v := waitView(t, tm, tx.callVideo+" · ", tx.noVideo)
			checkSize(t, v, termW, termH)
			checkGolden(t, "video", v)

			tm.Send(press("s"))
			waitView(t, tm, tx.callAudio+" · ")

			// The peer asks for video: y agrees.
			if err := s.bob.SwitchCallType(ctxT(t), protocol.CallVideo, protocol.SwitchInvite); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "peer-asks", waitView(t, tm, tx.switchAsk))
			tm.Send(press("y"))
			waitView(t, tm, tx.callVideo+" · ")
			tm.Send(press("h"))
			waitEvent(t, s.bob, protocol.EvCallEnd)
		})
	}
}

// q during a call asks first; y hangs up (the peer sees CALL_END) and quits.
func TestQuitDuringCall(t *testing.T) {
	s := newCallSetup(t, "zh")
	tm := runUI(t, newModel(testConfig(s.alice, "zh")))
	waitView(t, tm, "小明 (bob)")
	if _, err := s.bob.Call(ctxT(t), "alice", protocol.CallAudio, nil); err != nil {
		t.Fatal(err)
	}
	waitView(t, tm, zhText.incomingTitle)
	tm.Send(press("y"))
	waitView(t, tm, zhText.callAudio+" · ")
	tm.Send(press("q"))
	waitView(t, tm, "(y/n)")
	tm.Send(press("y"))
	waitEvent(t, s.bob, protocol.EvCallEnd)
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// Redial from a history record places a call of the record's type.
func TestRedialFromHistory(t *testing.T) {
	s := newCallSetup(t, "en")
	if _, err := s.alice.Call(ctxT(t), "carol", protocol.CallVideo, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, s.carol, protocol.EvInvited)
	if err := s.carol.Reject(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, s.alice, protocol.EvMessageSent)
	tm := runUI(t, newModel(testConfig(s.alice, "en")))
	tm.Send(press("tab"))
	waitView(t, tm, "Carol (carol)", "Rejected by callee")
	tm.Send(press("enter"))
	waitView(t, tm, "Calling Carol (carol)", enText.callVideo)
	if ev := waitEvent(t, s.carol, protocol.EvInvited); ev.Data.(protocol.Invite).CallType != protocol.CallVideo {
		t.Errorf("redial type %v, want video", ev.Data.(protocol.Invite).CallType)
	}
	tm.Send(press("c"))
	waitView(t, tm, "Canceled")
}

// The login form appears without an engine; a wrong token shows the
// server's refusal, the right one opens the contacts.
func TestLoginForm(t *testing.T) {
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			srv := startServer(t)
			u := createUsers(t, srv, account{name: "alice", nick: "Alice"}, account{name: "bob", nick: "小明"})
			cfg := testConfig(nil, lang)
			var logged *call.Engine
			cfg.server, cfg.account = srv.URL(), "alice"
			cfg.login = func(ctx context.Context, server, account, token string) (*call.Engine, error) {
				e := call.New(call.Config{Server: server, Language: lang})
				if err := e.Login(ctx, account, token); err != nil {
					_ = e.Close()
					return nil, err
				}
				logged = e
				return e, nil
			}
			m := newModel(cfg)
			tm := runUI(t, m)
			tx := textFor(lang)
			v := waitView(t, tm, tx.loginTitle, tx.loginToken)
			checkSize(t, v, termW, termH)
			// The server URL carries a random port.
			// The server URL carries a random port: mask it, same width.
			mask := "ws://127.0.0.1:" + strings.Repeat("N", len(srv.URL())-len("ws://127.0.0.1:"))
			checkGolden(t, "form", strings.ReplaceAll(v, srv.URL(), mask))
			tm.Type("wrong")
			tm.Send(press("enter"))
			v = waitView(t, tm, strings.TrimSuffix(tx.loginFailed, "%s"))
			checkGolden(t, "refused", strings.ReplaceAll(v, srv.URL(), mask))
			for range 5 {
				tm.Send(press("backspace"))
			}
			tm.Type(u["alice"].token)
			tm.Send(press("enter"))
			waitView(t, tm, "Alice (alice)", "["+tx.tabContacts+"]")
			_ = tm.Quit()
			tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
			if logged != nil {
				_ = logged.Close()
			}
		})
	}
}

// Run restores the terminal (alt screen left) when the user quits, and
// returns nil when its context ends.
func TestRun(t *testing.T) {
	srv := startServer(t)
	u := createUsers(t, srv, account{name: "alice", nick: "Alice"})
	eng := newEngine(t, srv, u["alice"], "en")

	var out bytes.Buffer
	err := Run(context.Background(), Options{Engine: eng, Language: "en", Input: strings.NewReader("q"), Output: &out})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "\x1b[?1049h") || !strings.Contains(s, "\x1b[?1049l") {
		t.Errorf("alt screen not entered and left: %q", s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	if err := Run(ctx, Options{Engine: eng, Input: pr, Output: io.Discard}); err != nil {
		t.Fatalf("Run after ctx end: %v", err)
	}
	if err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("Run without engine or login function: no error")
	}
	if term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd()) {
		return // run from a terminal: the last case would take it over
	}
	if err := Run(context.Background(), Options{Engine: eng}); !errors.Is(err, ErrNotTerminal) {
		t.Fatalf("Run without a terminal: %v", err)
	}
}

// A lost server shows the status line; the engine reconnects by itself and
// the line goes away.
func TestLostServer(t *testing.T) {
	srv := startServer(t)
	u := createUsers(t, srv, account{name: "alice", nick: "Alice"})
	cut := &servertest.Cutter{}
	e := call.New(call.Config{
		Server: srv.URL(), RequestTimeout: 5 * time.Second, DialContext: cut.Dial,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
	})
	t.Cleanup(func() { _ = e.Close() })
	if err := e.Login(ctxT(t), "alice", u["alice"].token); err != nil {
		t.Fatal(err)
	}
	tm := runUI(t, newModel(testConfig(e, "zh")))
	waitView(t, tm, "● "+zhText.connected)
	cut.Cut(true)
	lost := strings.SplitN(zhText.reconnecting, "（", 2)[0]
	v := waitView(t, tm, lost, "○ "+zhText.presenceOffline)
	checkSize(t, v, termW, termH)
	cut.Cut(false)
	v = waitView(t, tm, zhText.reconnected, "● "+zhText.connected)
	if strings.Contains(v, lost) {
		t.Errorf("status line stayed after reconnecting:\n%s", v)
	}
}

// An invite stored while the account was offline is shown at login, marked
// as such, and can be accepted.
func TestOfflineInvite(t *testing.T) {
	srv := startServer(t)
	u := createUsers(t, srv, account{name: "alice", nick: "Alice"}, account{name: "bob", nick: "小明"})
	bob := newEngine(t, srv, u["bob"], "en")
	reply, err := bob.Call(ctxT(t), "alice", protocol.CallAudio, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply.CalleeOnline {
		t.Fatal("alice is online before logging in")
	}
	alice := newEngine(t, srv, u["alice"], "en")
	tm := runUI(t, newModel(testConfig(alice, "en")))
	waitView(t, tm, enText.incomingTitle, enText.inviteOffline, "小明 (bob)")
	tm.Send(press("y"))
	waitEvent(t, bob, protocol.EvUserAccept)
	waitView(t, tm, enText.callAudio+" · ")
}
