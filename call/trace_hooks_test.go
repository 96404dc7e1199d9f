package call_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/trace"
	"github.com/softphone/softphone/internal/servertest"
)

// TestTraceRecordsACall: two engines share one trace through a short audio
// call. The trace holds each side's signaling, state transitions, ICE
// candidates, the selected pair, the media connection and STATS — and
// neither token.
func TestTraceRecordsACall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := servertest.Start(t, nil)

	path := filepath.Join(t.TempDir(), "call.jsonl")
	tw, err := trace.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	login := func(account string) *call.Engine {
		e, tok := testLogin(ctx, t, srv, account, call.Config{Trace: tw, Media: &call.MediaConfig{
			AudioIn: call.SourceTone, AudioOut: call.SourceNone, VideoIn: call.SourceNone,
			StatsInterval: 300 * time.Millisecond,
		}})
		tokens[account] = tok
		return e
	}
	alice, bob := login("alice"), login("bob")
	if _, err := alice.Call(ctx, "bob", protocol.CallAudio, nil); err != nil {
		t.Fatal(err)
	}
	inv := waitEvent(t, bob, protocol.EvInvited).Data.(protocol.Invite)
	if err := bob.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, call.EvStats)
	waitEvent(t, alice, call.EvStats)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, protocol.EvCallEnd)
	_ = alice.Close()
	_ = bob.Close()
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for acc, tok := range tokens {
		if bytes.Contains(raw, []byte(tok)) {
			t.Errorf("the trace contains %s's token", acc)
		}
	}
	if bytes.Contains(raw, []byte("a=ice-pwd:")) && !bytes.Contains(raw, []byte("a=ice-pwd:[redacted]")) {
		t.Error("the trace contains an ICE password")
	}
	recs, err := trace.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]int{} // account → kind → count
	var states = map[string][]string{}
	for _, r := range recs {
		if kinds[r.Account] == nil {
			kinds[r.Account] = map[string]int{}
		}
		kinds[r.Account][r.Kind]++
		if r.Kind == trace.KindState {
			var s struct{ To string }
			_ = json.Unmarshal(r.Data, &s)
			states[r.Account] = append(states[r.Account], s.To)
		}
		if r.Kind == trace.KindSignalOut && strings.Contains(string(r.Data), `"type":"login"`) &&
			!strings.Contains(string(r.Data), `"token":"[redacted]"`) {
			t.Errorf("login frame without a redacted token: %s", r.Data)
		}
	}
	if kinds[""][trace.KindVersion] != 1 {
		t.Errorf("version records: %d", kinds[""][trace.KindVersion])
	}
	for _, acc := range []string{"alice", "bob"} {
		for _, k := range []string{trace.KindEngine, trace.KindSignalOut, trace.KindSignalIn, trace.KindEvent, trace.KindState,
			trace.KindICELocal, trace.KindICERemote, trace.KindICEPair, trace.KindMedia, trace.KindStats} {
			if kinds[acc][k] == 0 {
				t.Errorf("%s: no %s record (have %v)", acc, k, kinds[acc])
			}
		}
	}
	if got := strings.Join(states["alice"], ","); got != "calling,inCall,idle" {
		t.Errorf("alice's transitions %s", got)
	}
	if got := strings.Join(states["bob"], ","); got != "called,inCall,idle" {
		t.Errorf("bob's transitions %s", got)
	}
	var out bytes.Buffer
	if err := trace.Show(&out, recs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"→ login #1 account=alice", "← event INVITED", "state      idle → calling", "ice.pair   local host udp"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("timeline:\n%s", out.String())
	}
}
