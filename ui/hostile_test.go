package ui

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
)

// evil is what a hostile server or peer puts in a nickname, an account
// name, an attachment or an error: retitle the window (OSC 0), clear the
// screen, recolour, a C1 CSI, a bidi override.
const evil = "\x1b]0;pwned\a\x1b[2J\x1b[38;2;1;2;3mEVIL\u009b31m\u202egnp.exe"

// checkPrintable fails when a screen holds anything a terminal acts on
// (the test renderer draws no colours, so no escape at all is expected).
func checkPrintable(t *testing.T, what, v string) {
	t.Helper()
	if safe := termsafe.Text(v); safe != v {
		t.Fatalf("%s: the screen holds controls; escaped it reads:\n%s", what, safe)
	}
}

// TestHostileTextIsEscaped feeds the model what a hostile server could
// send — nicknames, accounts, an invite with an attachment, event data,
// errors, a close reason — and checks every screen stays printable text
// of the terminal's size, with the escapes visible.
func TestHostileTextIsEscaped(t *testing.T) {
	eng := staticEngine(t)
	attachment, _ := json.Marshal(map[string]string{"note": evil})
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := staticModel(t, eng, lang, termW, termH, func(c *modelConfig) { c.debug = true })
			m.Update(contactsMsg{list: []protocol.Contact{
				{Account: "bob", NickName: evil, Presence: protocol.PresenceOnline},
				{Account: "ev\x1b[2Jil", NickName: "x", Presence: protocol.PresenceOffline},
			}})
			v := m.View()
			checkPrintable(t, "contacts", v)
			checkSize(t, v, termW, termH)
			if !strings.Contains(v, `\x1b]0;pwned\x07`) {
				t.Fatalf("the nickname's escapes are not shown:\n%s", v)
			}

			m.Update(recordsMsg{list: []call.RecordMessage{{Record: protocol.Record{
				Type: protocol.CallAudio, ChannelID: "c1", Status: protocol.StatusRejected, From: "ev\u202eil", To: "alice",
				CreatedAt: at(5), EndedAt: at(5)}, Direction: call.DirectionIncoming}}})
			m.Update(press("tab"))
			checkPrintable(t, "history", m.View())
			m.Update(press("tab"))

			inv := protocol.Invite{ChannelID: "ch1", From: "bob", FromNick: evil, To: "alice", CallType: protocol.CallVideo,
				Attachment: attachment, CreatedAt: fixedNow.UnixMilli(), ExpiresAt: fixedNow.UnixMilli() + 30000}
			m.Update(eventMsg{ev: call.Event{Name: protocol.EvInvited, Time: fixedNow, Data: inv}})
			v = m.View()
			checkPrintable(t, "incoming call", v)
			checkSize(t, v, termW, termH)

			m.Update(eventMsg{ev: call.Event{Name: protocol.EvUserCancel, Time: fixedNow, Data: protocol.Peer{ChannelID: "ch1", UserID: evil}}})
			m.setNotice(m.errText(&protocol.Error{Code: 499, Message: evil}), true)
			checkPrintable(t, "notice", m.View())

			m.Update(eventMsg{ev: call.Event{Name: call.EvDisconnect, Time: fixedNow,
				Data: call.DisconnectInfo{Error: evil, Reason: protocol.EndTokenReset}}})
			v = m.View()
			checkPrintable(t, "session ended", v)
			if !strings.Contains(v, m.t.tokenReset) {
				t.Fatalf("the status line does not say the token was reset:\n%s", v)
			}

			m.Update(press("l")) // the event log shows every event's data
			checkPrintable(t, "event log", m.View())
		})
	}
}
