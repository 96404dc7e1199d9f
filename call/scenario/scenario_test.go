package scenario

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/scenario/spec"
	"github.com/softphone/softphone/internal/servertest"
	"github.com/softphone/softphone/server"
)

// testServer runs a real server (embedded NATS/JetStream in a temporary
// directory) with the accounts the examples use, and returns it with an
// environment holding their tokens.
func testServer(t *testing.T) (*server.Server, func(string) string) {
	t.Helper()
	srv := servertest.Start(t, func(c *server.Config) { c.ReconnectGrace = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	envs := map[string]string{}
	for _, a := range []string{"alice", "bob", "carol"} {
		tok, err := srv.CreateUser(ctx, a, strings.ToUpper(a[:1])+a[1:])
		if err != nil {
			t.Fatalf("create %s: %v", a, err)
		}
		envs[strings.ToUpper(a)+"_TOKEN"] = tok
	}
	return srv, func(k string) string { return envs[k] }
}

// factory builds engines the way cmd's connect does, minus the flags.
func factory() Factory {
	var n atomic.Int64
	return func(ctx context.Context, s EngineSpec) (*call.Engine, error) {
		if s.Media != nil {
			// Small pictures keep video cheap on a loaded CI machine.
			s.Media.VideoWidth, s.Media.VideoHeight, s.Media.FPS = 320, 180, 15
		}
		eng := call.New(call.Config{
			Server:         s.Server,
			Device:         fmt.Sprintf("%s-%d", s.Device, n.Add(1)),
			RequestTimeout: 5 * time.Second,
			Media:          s.Media,
		})
		if err := eng.Login(ctx, s.Account, s.Token); err != nil {
			_ = eng.Close()
			return nil, fmt.Errorf("login %s: %w", s.Account, err)
		}
		return eng, nil
	}
}

// logWriter sends the live report to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestExamples plays every scenario of examples/ against a real server.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(files) < 7 {
		t.Fatalf("examples: %v %v", files, err)
	}
	srv, getenv := testServer(t)
	var results []*Result
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := ParseFile(path, getenv)
			if err != nil {
				t.Fatal(err)
			}
			r := &Runner{Factory: factory(), Server: srv.URL(), Out: logWriter{t}}
			res := r.Run(context.Background(), f)
			results = append(results, res)
			if !res.Passed() {
				fs, _ := res.Failed()
				t.Fatalf("step %d (line %d) %s: %s", fs.Index, fs.Line, fs.Description, fs.Reason)
			}
			if len(res.Steps) != len(f.Steps) {
				t.Fatalf("%d results for %d steps", len(res.Steps), len(f.Steps))
			}
		})
	}
	// The completed example measured the quality it promised.
	for _, res := range results {
		if res.Name != "completed" {
			continue
		}
		var stats int
		for _, s := range res.Steps {
			if s.Action == spec.ActExpectStats {
				stats++
				if !strings.Contains(s.Detail, "mos ") {
					t.Errorf("stats step without figures: %+v", s)
				}
			}
		}
		if stats == 0 {
			t.Error("completed example has no expect_stats step")
		}
	}
}

// TestFailure: a wrong expectation fails its step with a reason, skips the
// rest, and shows up in the JSON and JUnit reports.
func TestFailure(t *testing.T) {
	srv, getenv := testServer(t)
	src := `accounts:
  alice: {token_env: ALICE_TOKEN}
  bob: {token_env: BOB_TOKEN}
timeouts: {step: 3s}
steps:
  - login: alice
  - login: bob
  - call: {as: alice, to: bob}
  - reject: bob
  - expect_record: {as: alice, status: completed}
  - hangup: alice
`
	f, err := Parse("wrong.yaml", []byte(src), getenv)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := &Runner{Factory: factory(), Server: srv.URL(), Out: &out, JSON: true}
	res := r.Run(context.Background(), f)
	if res.Passed() {
		t.Fatalf("passed:\n%s", out.String())
	}
	fs, ok := res.Failed()
	if !ok || fs.Index != 5 || fs.Line != 10 || !strings.Contains(fs.Reason, "status 3 rejected (对方已拒绝)") || !strings.Contains(fs.Reason, "want completed") {
		t.Fatalf("failed step %+v", fs)
	}
	if last := res.Steps[5]; last.Status != Skip {
		t.Fatalf("step after the failure: %+v", last)
	}
	if !strings.Contains(out.String(), `"type":"step","step":5,"line":10,"action":"expect_record"`) || !strings.Contains(out.String(), `"type":"end","file":"wrong.yaml","status":"FAIL","passed":4,"failed":1,"skipped":1`) {
		t.Fatalf("json report:\n%s", out.String())
	}

	var x bytes.Buffer
	if err := WriteJUnit(&x, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x.Bytes(), &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, x.String())
	}
	s := doc.Suites[0]
	if len(doc.Suites) != 1 || s.Name != "wrong" || s.Tests != 6 || s.Failures != 1 || s.Skipped != 1 || s.Cases[4].Failure == nil ||
		!strings.Contains(s.Cases[4].Failure.Message, "want completed") || s.Cases[0].Time == "" {
		t.Fatalf("junit:\n%s", x.String())
	}
}

// TestStepFailures covers the failure reasons of the other step kinds.
func TestStepFailures(t *testing.T) {
	srv, getenv := testServer(t)
	tests := []struct {
		name, steps, reason string
	}{
		{"wait deadline", "  - wait: {as: alice, event: USER_ACCEPT, within: 300ms}", "no USER_ACCEPT within 300ms; no events"},
		{"wait mismatch", "  - call: {as: alice, to: bob}\n  - wait: {as: bob, event: INVITED, match: {callType: 2}, within: 500ms}", `INVITED arrived but callType is "1", not "2"`},
		{"unexpected success", "  - call: {as: alice, to: bob}\n  - cancel: {as: alice, expect_error: 20013}", "cancel succeeded; want error code 20013"},
		{"other error", "  - accept: {as: alice, expect_error: 20018}", "accept failed with code 20017"},
		{"action error", "  - call: {as: alice, to: nobody}", "code 404"},
		{"accept never rings", "  - accept: {as: bob, within: 300ms}", "state is idle, not called, after 300ms"},
		{"no stats without media", "  - expect_stats: {as: alice, mos: \">= 4\", within: 300ms}", "0 of 1 STATS samples"},
		{"no record", "  - expect_record: {as: alice, status: 1, within: 300ms}", "no call record (MESSAGE_SENT)"},
		{"record text", "  - call: {as: alice, to: bob}\n  - cancel: alice\n  - expect_record: {as: bob, status: 已取消}", `want text "已取消"`},
		{"parallel", "  - call: {as: alice, to: bob}\n  - parallel:\n      - wait: {as: bob, event: INVITED, within: 2s}\n      - wait: {as: alice, event: USER_ACCEPT, within: 300ms}", "alice gets USER_ACCEPT within 300ms (line 10): no USER_ACCEPT within 300ms"},
		// A call that is over ends a wait for what only a call brings,
		// long before the step's within.
		{"ended before the wait", "  - call: {as: alice, to: bob}\n  - reject: bob\n  - wait: {as: alice, event: USER_ACCEPT, within: 60s}", "no USER_ACCEPT: the call ended first (USER_REJECT(bob))"},
		{"ended before the stats", "  - call: {as: alice, to: bob}\n  - cancel: alice\n  - expect_stats: {as: alice, mos: \">= 4\", within: 60s}", "0 of 1 STATS samples: the call ended first"},
		{"bad token", "", "login alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := "accounts:\n  alice: {token_env: ALICE_TOKEN}\n  bob: {token_env: BOB_TOKEN}\nsteps:\n  - login: alice\n  - login: bob\n"
			g := getenv
			if tt.steps == "" {
				g = func(k string) string { return "wrong-" + getenv(k) }
				tt.steps = "  - sleep: 1ms"
			}
			f, err := Parse("t.yaml", []byte(head+tt.steps+"\n"), g)
			if err != nil {
				t.Fatal(err)
			}
			r := &Runner{Factory: factory(), Server: srv.URL(), Out: logWriter{t}}
			res := r.Run(context.Background(), f)
			fs, ok := res.Failed()
			if !ok || !strings.Contains(fs.Reason, tt.reason) {
				t.Fatalf("failure %+v, want reason containing %q", fs, tt.reason)
			}
		})
	}
}

// TestRecordTexts: with the engine's texts, status: takes any side's text
// in zh or en and refuses others before running.
func TestRecordTexts(t *testing.T) {
	head := "accounts:\n  a: \nsteps:\n  - login: a\n"
	for _, tt := range []struct {
		status string
		ok     bool
	}{{"对方已拒绝", true}, {"已拒绝", true}, {"Canceled by caller", true}, {"未接听", true}, {"declined", false}, {"Rejected!", false}} {
		f, err := Parse("t.yaml", []byte(head+"  - expect_record: {as: a, status: "+tt.status+"}\n"), nil)
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v", tt.status, err)
		}
		if err == nil && f.Steps[1].Text != tt.status {
			t.Errorf("%q: text %q", tt.status, f.Steps[1].Text)
		}
	}
}

// TestNamesMatchCall keeps spec's copies of the engine's names equal to
// the originals.
func TestNamesMatchCall(t *testing.T) {
	pairs := [][2]string{
		{spec.SourceNone, call.SourceNone}, {spec.SourceTone, call.SourceTone}, {spec.SourceTestsrc, call.SourceTestsrc},
		{spec.DirectionOutgoing, call.DirectionOutgoing}, {spec.DirectionIncoming, call.DirectionIncoming},
		{spec.EvDisconnect, call.EvDisconnect}, {spec.EvReconnected, call.EvReconnected},
		{spec.EvAudioAvailable, call.EvAudioAvailable}, {spec.EvVideoAvailable, call.EvVideoAvailable},
		{spec.EvAudioMuted, call.EvAudioMuted}, {spec.EvVideoMuted, call.EvVideoMuted},
		{spec.EvStats, call.EvStats}, {spec.EvMediaWarning, call.EvMediaWarning},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("spec has %q, call %q", p[0], p[1])
		}
	}
	if protocol.StatusBusy != 5 {
		t.Error("record statuses moved")
	}
}
