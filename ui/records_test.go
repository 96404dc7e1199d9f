package ui

import (
	"strings"
	"testing"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// The history loads a page of records and the next older page when the
// cursor reaches the last record shown, once; records shown already (one
// that arrived as MESSAGE_SENT meanwhile) are not shown twice.
func TestHistoryPages(t *testing.T) {
	eng := staticEngine(t)
	m := staticModel(t, eng, "en", termW, termH, nil)
	rec := func(ch, to string, min int) call.RecordMessage {
		r := call.RecordMessage{Direction: call.DirectionOutgoing}
		r.ChannelID, r.From, r.To, r.Status, r.Type, r.CreatedAt = ch, "alice", to, protocol.StatusRejected, protocol.CallAudio, at(min)
		return r
	}
	m.Update(recordsMsg{list: []call.RecordMessage{rec("c1", "bob", 1), rec("c2", "carol", 2)}, next: "42"})
	m.Update(press("tab"))
	if _, cmd := m.Update(press("j")); cmd == nil {
		t.Fatal("reaching the last record loaded no older page")
	}
	if _, cmd := m.Update(press("j")); cmd != nil {
		t.Fatal("a second older page was asked for while the first is on its way")
	}
	m.Update(recordsMsg{list: []call.RecordMessage{rec("c2", "carol", 2), rec("c3", "dave", 3)}, more: true})
	if n := len(m.records); n != 3 {
		t.Fatalf("%d records after the older page, want 3", n)
	}
	m.Update(press("j"))
	if l := selectedLine(m.View()); !strings.Contains(l, "Dave") {
		t.Fatalf("the cursor does not go on into the older page: %q\n%s", l, m.View())
	}
	if _, cmd := m.Update(press("j")); cmd != nil {
		t.Fatal("an older page was asked for after the last one")
	}
}
