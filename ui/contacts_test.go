package ui

import (
	"strings"
	"testing"

	"github.com/softphone/softphone/call/protocol"
)

// Contacts: nicknames, live presence, recent peers first, filter, add and
// remove, against a real server.
func TestContacts(t *testing.T) {
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			srv := startServer(t)
			u := createUsers(t, srv,
				account{name: "alice", nick: "Alice"}, account{name: "bob", nick: "小明"},
				account{name: "carol", nick: "Carol"}, account{name: "dave", nick: "Dave"})
			alice := newEngine(t, srv, u["alice"], lang)
			for _, c := range []string{"bob", "carol", "dave"} {
				if _, err := alice.AddContact(ctxT(t), c); err != nil {
					t.Fatal(err)
				}
			}
			// A canceled call to dave makes him the most recent peer.
			if _, err := alice.Call(ctxT(t), "dave", protocol.CallAudio, nil); err != nil {
				t.Fatal(err)
			}
			if err := alice.Cancel(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, alice, protocol.EvMessageSent)
			newEngine(t, srv, u["bob"], lang)

			tm := runUI(t, newModel(testConfig(alice, lang)))
			v := waitStable(t, tm, "Dave (dave)", "小明 (bob)", "Carol (carol)")
			if strings.Index(v, "dave") > strings.Index(v, "bob") {
				t.Errorf("recent peer dave is not first:\n%s", v)
			}
			checkSize(t, v, termW, termH)
			checkGolden(t, "list", v)

			// carol comes online: PRESENCE updates her row.
			newEngine(t, srv, u["carol"], lang)
			online := textFor(lang).presenceOnline
			v = waitUntil(t, tm, "carol online", func(v string) bool {
				return strings.Contains(lineWith(v, "(carol)"), online)
			})
			checkGolden(t, "presence", v)

			// Filter by typing after /.
			tm.Send(press("/"))
			for _, r := range "CA" {
				tm.Send(press(string(r)))
			}
			v = waitGone(t, tm, "dave")
			if !strings.Contains(v, "carol") {
				t.Errorf("filter lost carol:\n%s", v)
			}
			checkGolden(t, "filter", v)
			tm.Send(press("esc"))
			waitView(t, tm, "dave")

			// Add an unknown account: listed as pending, like an account
			// that has not added alice back (the server does not tell).
			tm.Send(press("+"))
			for _, r := range "erin" {
				tm.Send(press(string(r)))
			}
			checkGolden(t, "add", waitView(t, tm, "erin"))
			tm.Send(press("enter"))
			v = waitView(t, tm, fmtS(textFor(lang).contactPending, "erin"), textFor(lang).presencePending)
			checkGolden(t, "add-unknown", v)

			// Remove dave (first row) after confirming.
			tm.Send(press("-"))
			checkGolden(t, "remove-confirm", waitView(t, tm, "(y/n)"))
			tm.Send(press("y"))
			v = waitGone(t, tm, "Dave (dave)")
			checkGolden(t, "removed", v)
			list, err := alice.Contacts(ctxT(t))
			if err != nil || len(list) != 3 {
				t.Errorf("contacts after remove: %v %v", list, err)
			}
		})
	}
}
