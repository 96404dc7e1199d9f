package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/server/admin"
)

// evilText is what a hostile server or peer puts in a nickname, an account
// name or an error: retitle, clear, recolour, a C1 CSI, a bidi override.
const evilText = "\x1b]0;pwned\a\x1b[2J\x1b[38;2;1;2;3mEVIL\u009b31m\u202egnp.exe"

// checkTerminalSafe fails when out holds anything a terminal acts on (the
// definition is termsafe's, fuzzed against an independent one there).
func checkTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if safe := termsafe.Text(out); safe != out {
		t.Fatalf("%s: the output holds controls; escaped it reads:\n%s", what, safe)
	}
}

// TestOutputEscapesHostileText runs the CLI's printers on what a hostile
// server could send: the table and JSON of user list, the event lines
// (human and --json) of call/answer, the records table, and the one-line
// error. Everything stays printable; JSON still decodes to the same value.
func TestOutputEscapesHostileText(t *testing.T) {
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out}
	users := []admin.User{{Account: "mallory", Name: evilText, CreatedAt: time.Unix(1_700_000_000, 0)}}

	if err := printUsers(c, users, false); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, "user list", out.String())
	if !strings.Contains(out.String(), `\x1b]0;pwned\x07`) {
		t.Fatalf("user list hides the escapes instead of showing them:\n%s", out.String())
	}

	out.Reset()
	if err := printUsers(c, users, true); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, "user list --json", out.String())
	var got struct {
		Users []struct{ Name string } `json:"users"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.Users) != 1 || got.Users[0].Name != evilText {
		t.Fatalf("user list --json decodes to %+v (%v), want the name unchanged", got, err)
	}

	inv := protocol.Invite{ChannelID: "ch", From: "mallory", FromNick: evilText, To: "alice", CallType: protocol.CallAudio,
		Attachment: json.RawMessage(`{"note":"` + "\u009b2J\u202e" + `"}`)}
	events := []call.Event{
		{Name: protocol.EvInvited, Time: time.Now(), Data: inv},
		{Name: protocol.EvCallEnd, Time: time.Now(), Data: protocol.Peer{ChannelID: "ch", UserID: evilText, Reason: evilText}},
		{Name: call.EvDisconnect, Time: time.Now(), Data: call.DisconnectInfo{Error: evilText}},
	}
	for _, asJSON := range []bool{false, true} {
		out.Reset()
		p := &eventPrinter{w: &out, mu: &sync.Mutex{}, json: asJSON}
		for _, ev := range events {
			if err := p.print(ev); err != nil {
				t.Fatal(err)
			}
		}
		checkTerminalSafe(t, "events", out.String())
	}

	out.Reset()
	rec := call.RecordMessage{Record: protocol.Record{Type: protocol.CallAudio, Status: protocol.StatusRejected,
		From: evilText, To: "alice", CreatedAt: time.Now().UnixMilli()}, Text: evilText, Direction: call.DirectionIncoming}
	if err := printRecords(&out, []call.RecordMessage{rec}, "alice", "en"); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, "records", out.String())

	var stderr bytes.Buffer
	code := run(t.Context(), []string{"trace", "show", "/nonexistent/" + evilText}, &out, &stderr, func(string) string { return "" })
	if code == 0 || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("exit %d, stderr %q: want one error line", code, stderr.String())
	}
	checkTerminalSafe(t, "error line", stderr.String())
}

// The human lines of the headless commands: a STATS line says the loss
// the peer reports of our stream (where an impaired sender shows), and a
// record of a call that never connected has no length, as in records.
func TestHumanEventLines(t *testing.T) {
	var st call.CallStats
	st.Mos, st.LossPct, st.RemoteLossPct = 4.38, 0, 12.1
	if got := describe(call.Event{Name: call.EvStats, Data: st}); !strings.Contains(got, "loss 0.0% · remote loss 12.1%") {
		t.Errorf("STATS line without the remote loss: %q", got)
	}
	r := call.RecordMessage{Text: "未接听"}
	r.Status, r.Type, r.From, r.To = protocol.StatusTimeout, protocol.CallAudio, "alice", "bob"
	if got := describe(call.Event{Name: protocol.EvMessageSent, Data: r}); got != "未接听 · status 4 · audio alice → bob · –" {
		t.Errorf("record line = %q", got)
	}
	r.Status, r.Durations = protocol.StatusCompleted, []protocol.Duration{{Accid: "alice", Duration: 66}}
	if got := describe(call.Event{Name: protocol.EvMessageSent, Data: r}); !strings.HasSuffix(got, " · 01:06") {
		t.Errorf("record line = %q", got)
	}

	// After the record, one line sums the call's quality up.
	var out strings.Builder
	p := &eventPrinter{w: &out, mu: &sync.Mutex{}}
	for _, mos := range []float64{4.4, 3.8} {
		st.Mos = mos
		if err := p.print(call.Event{Name: call.EvStats, Time: time.Now(), Data: st}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.print(call.Event{Name: protocol.EvMessageSent, Time: time.Now(), Data: r}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "quality over 2 samples: mos 4.10 avg, 3.80 min · loss 0.0% avg, 0.0% max · remote loss 12.1% avg") {
		t.Errorf("no quality line after the record:\n%s", out.String())
	}
}

// The device table lines up names in any script by display width (a
// localized sound server names devices in Chinese) and says so when there
// are none.
func TestDeviceTableAlignsCJK(t *testing.T) {
	var b strings.Builder
	devs := []pa.Device{
		{Index: 0, Name: "内置音频", HostAPI: "ALSA", MaxInputChannels: 2, DefaultSampleRate: 48000, DefaultInput: true},
		{Index: 1, Name: "system", HostAPI: "JACK Audio Connection Kit", MaxOutputChannels: 2, DefaultSampleRate: 48000},
	}
	if err := writeDeviceTable(&b, devs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := func(l, s string) int { return ansi.StringWidth(l[:strings.Index(l, s)]) }
	if len(lines) != 3 || col(lines[1], "ALSA") != col(lines[0], "HOST API") || col(lines[2], "JACK") != col(lines[0], "HOST API") {
		t.Fatalf("columns misaligned:\n%s", b.String())
	}
	b.Reset()
	if err := writeDeviceTable(&b, nil); err != nil || !strings.HasPrefix(b.String(), "no audio devices") {
		t.Fatalf("no devices: %q, %v", b.String(), err)
	}
}

func TestAnswerWhat(t *testing.T) {
	for _, tc := range []struct {
		o    answerOptions
		want string
	}{
		{answerOptions{action: actionAccept, count: 1}, "accept one call"},
		{answerOptions{action: actionAccept, count: 1, after: time.Second}, "accept one call after 1s"},
		{answerOptions{action: actionReject, count: 0, after: 2 * time.Second}, "reject every call after 2s"},
		{answerOptions{action: actionIgnore, count: 3, after: time.Second}, "ignore 3 calls"},
	} {
		if got := answerWhat(tc.o); got != tc.want {
			t.Errorf("answerWhat(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
}
