package ui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
)

// callSetup is a server with alice (the UI's account, contacts bob and
// carol) and logged-in engines for bob and carol.
type callSetup struct {
	alice, bob, carol *call.Engine
	users             map[string]account
	srv               *server.Server
}

func newCallSetup(t *testing.T, lang string) callSetup {
	t.Helper()
	srv := startServer(t)
	u := createUsers(t, srv,
		account{name: "alice", nick: "Alice"}, account{name: "bob", nick: "小明"}, account{name: "carol", nick: "Carol"})
	s := callSetup{users: u, srv: srv, alice: newEngine(t, srv, u["alice"], lang)}
	for _, c := range []string{"bob", "carol"} {
		if _, err := s.alice.AddContact(ctxT(t), c); err != nil {
			t.Fatal(err)
		}
	}
	s.bob = newEngine(t, srv, u["bob"], lang)
	s.carol = newEngine(t, srv, u["carol"], lang)
	return s
}

// Outgoing calls end with the seed's status text, which stays on the
// calling screen until dismissed.
func TestOutgoingOutcomes(t *testing.T) {
	for _, lang := range langs {
		for _, tc := range []struct {
			name   string
			status int
			setup  func(t *testing.T, s callSetup)
			act    func(t *testing.T, s callSetup, ui func(string))
		}{
			{"rejected", protocol.StatusRejected, nil, func(t *testing.T, s callSetup, _ func(string)) {
				waitEvent(t, s.bob, protocol.EvInvited)
				if err := s.bob.Reject(ctxT(t), nil); err != nil {
					t.Fatal(err)
				}
			}},
			{"canceled", protocol.StatusCanceled, nil, func(t *testing.T, s callSetup, ui func(string)) {
				waitEvent(t, s.bob, protocol.EvInvited)
				ui("c")
			}},
			{"busy", protocol.StatusBusy, func(t *testing.T, s callSetup) {
				if _, err := s.carol.Call(ctxT(t), "bob", protocol.CallAudio, nil); err != nil {
					t.Fatal(err)
				}
				waitEvent(t, s.bob, protocol.EvInvited)
				if err := s.bob.Accept(ctxT(t), nil); err != nil {
					t.Fatal(err)
				}
			}, nil},
			{"timeout", protocol.StatusTimeout, func(t *testing.T, s callSetup) {
				if err := s.alice.SetCallTimeout(time.Second); err != nil {
					t.Fatal(err)
				}
			}, nil},
		} {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				s := newCallSetup(t, lang)
				if tc.setup != nil {
					tc.setup(t, s)
				}
				tm := runUI(t, newModel(testConfig(s.alice, lang)))
				waitView(t, tm, "小明 (bob)")
				// bob is listed after Carol by name; move to him and call.
				tm.Send(press("j"))
				tm.Send(press("a"))
				tx := textFor(lang)
				v := waitView(t, tm, strings.TrimSuffix(tx.calling, "%s")+"小明 (bob)")
				if tc.name == "rejected" {
					checkSize(t, v, termW, termH)
					checkGolden(t, "calling", v)
				}
				if tc.act != nil {
					tc.act(t, s, func(k string) { tm.Send(press(k)) })
				}
				want := call.StatusText(tc.status, false, lang)
				v = waitView(t, tm, want)
				checkGolden(t, "outcome", v)
				// It stays until dismissed.
				time.Sleep(100 * time.Millisecond)
				if v := snap(t, tm); !strings.Contains(v, want) {
					t.Fatalf("outcome %q vanished:\n%s", want, v)
				}
				tm.Send(press("enter"))
				waitView(t, tm, "[")
				waitGone(t, tm, want+" ")
			})
		}
	}
}

// An incoming call: the prompt with nickname, type, attachment, countdown
// and bell; accept with y; the in-call screen with stats; q asks first; m
// mutes; h hangs up and the history shows 已完成.
func TestIncomingCall(t *testing.T) {
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			s := newCallSetup(t, lang)
			cfg := testConfig(s.alice, lang)
			bell := &bellCounter{}
			cfg.bell = bell
			tm := runUI(t, newModel(cfg))
			waitView(t, tm, "小明 (bob)")
			tx := textFor(lang)

			att := json.RawMessage(`{"topic":"demo"}`)
			if _, err := s.bob.Call(ctxT(t), "alice", protocol.CallAudio, att); err != nil {
				t.Fatal(err)
			}
			v := waitStable(t, tm, tx.incomingTitle, `{"topic":"demo"}`, fmtS(tx.expiresIn, 30))
			checkSize(t, v, termW, termH)
			checkGolden(t, "prompt", v)
			for deadline := time.Now().Add(waitTimeout); bell.n.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if n := bell.n.Load(); n != 1 {
				t.Errorf("bell rang %d times, want 1", n)
			}

			tm.Send(press("y"))
			waitEvent(t, s.bob, protocol.EvUserAccept)
			v = waitView(t, tm, tx.callAudio+" · "+tx.duration+" 00:00")
			checkSize(t, v, termW, termH)
			checkGolden(t, "incall", v)

			// Quality figures from the engine's STATS event.
			st := call.CallStats{UserID: "bob"}
			st.SendKbps, st.RecvKbps, st.LossPct, st.JitterMs, st.RttMs, st.Mos = 41, 39, 1.5, 12, 48, 4.12
			tm.Send(eventMsg{ev: call.Event{Name: call.EvStats, Time: fixedNow, Data: st}})
			v = waitView(t, tm, "MOS 4.12")
			checkGolden(t, "stats", v)

			// q asks first during a call; n keeps the call.
			tm.Send(press("q"))
			checkGolden(t, "quit-confirm", waitView(t, tm, "(y/n)"))
			tm.Send(press("n"))
			waitGone(t, tm, "(y/n)")

			tm.Send(press("m"))
			waitView(t, tm, tx.micOff)

			tm.Send(press("h"))
			waitEvent(t, s.bob, protocol.EvCallEnd)
			done := call.StatusText(protocol.StatusCompleted, true, lang)
			v = waitStable(t, tm, done)
			checkGolden(t, "ended", normalize(v))

			tm.Send(press("tab"))
			waitUntil(t, tm, "the record", func(v string) bool {
				return strings.Contains(lineWith(v, "(bob)"), done)
			})
			checkGolden(t, "history", normalize(waitStable(t, tm, done)))
		})
	}
}

// The prompt closes with the reason when another device of the account
// answers or rejects, and when the caller cancels.
func TestIncomingClosedElsewhere(t *testing.T) {
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			s := newCallSetup(t, lang)
			other := newEngine(t, s.srv, s.users["alice"], lang) // alice's second device
			tm := runUI(t, newModel(testConfig(s.alice, lang)))
			waitView(t, tm, "小明 (bob)")
			tx := textFor(lang)

			for _, tc := range []struct {
				name, want string
				act        func()
			}{
				{"answered", tx.answeredElsewhere, func() {
					waitEvent(t, other, protocol.EvInvited)
					if err := other.Accept(ctxT(t), nil); err != nil {
						t.Fatal(err)
					}
				}},
				{"rejected", tx.rejectedElsewhere, func() {
					waitEvent(t, other, protocol.EvInvited)
					if err := other.Reject(ctxT(t), nil); err != nil {
						t.Fatal(err)
					}
				}},
				{"canceled", call.StatusText(protocol.StatusCanceled, true, lang), func() {
					if err := s.bob.Cancel(ctxT(t)); err != nil {
						t.Fatal(err)
					}
				}},
			} {
				if _, err := s.bob.Call(ctxT(t), "alice", protocol.CallVideo, nil); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				waitView(t, tm, tx.incomingTitle, tx.callVideo)
				tc.act()
				v := waitStable(t, tm, tc.want)
				if strings.Contains(v, "╭") {
					t.Errorf("%s: prompt still open:\n%s", tc.name, v)
				}
				checkGolden(t, tc.name, normalize(v))
				if tc.name == "answered" {
					if err := s.bob.Hangup(ctxT(t)); err != nil {
						t.Fatal(err)
					}
					waitEvent(t, other, protocol.EvCallEnd)
				}
				waitEvent(t, s.bob, protocol.EvMessageSent)
			}
		})
	}
}
