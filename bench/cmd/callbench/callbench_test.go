package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/bench/bridge"
)

// statsLines writes a --json event stream with one STATS per second.
func statsLines(t *testing.T, path string, fps []float64) {
	t.Helper()
	var b bytes.Buffer
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.WriteString(`{"event":"USER_ACCEPT","time":"2026-01-01T00:00:00Z","data":{}}` + "\n")
	for i, f := range fps {
		// The sixth second says the peer suspended its video.
		data, _ := json.Marshal(map[string]any{"fps": f, "width": 640, "height": 360, "sendKbps": 300 + i, "targetKbps": 250, "lossPct": 1.5,
			"recvSuspended": i == 5})
		fmt.Fprintf(&b, `{"event":"STATS","time":%q,"data":%s}`+"\n", t0.Add(time.Duration(i+1)*time.Second).Format(time.RFC3339Nano), data)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVideoSummary(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	// Three warm-up seconds, then a 2 s freeze, a slow second, recovery.
	statsLines(t, a, []float64{5, 30, 30, 30, 0, 0, 12, 30, 30, 30})
	statsLines(t, b, []float64{30, 30, 30, 30, 30, 30})
	out := filepath.Join(dir, "video.json")
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"video", "-a", a, "-b", b, "-out", out}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	var res VideoResult
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	A := res.A
	if A.Frozen != 2 || A.LongestFrozen != 2 || A.Below15 != 3 || A.FpsMin != 0 || A.Below5Suspended != 1 || A.Below5Unnoticed != 1 {
		t.Errorf("A: %+v", A)
	}
	if want := (30 + 0 + 0 + 12 + 30 + 30 + 30) / 7.0; A.FpsMean != want {
		t.Errorf("A fps mean %.2f, want %.2f", A.FpsMean, want)
	}
	if A.Resolutions["640x360"] != 7 || A.TargetKbpsMean != 250 || A.SendKbpsMean != 307 {
		t.Errorf("A resolutions %v, send %.1f target %.1f", A.Resolutions, A.SendKbpsMean, A.TargetKbpsMean)
	}
	if res.B.Frozen != 0 || res.B.FpsMean != 30 {
		t.Errorf("B: %+v", res.B)
	}
	if !strings.Contains(stdout.String(), "2 s at 0 fps (longest 2)") {
		t.Errorf("summary: %s", stdout.String())
	}
}

func TestReportTables(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("plan.txt", "loss5|audio|loss=5%\n")
	leg := func(pesq float64, local float64) string {
		return fmt.Sprintf(`{"placement":{"offsetMs":100,"found":40,"speech":40},"pesqWB":%v,"shifts":2,"shiftsInSpeech":1,"coverage":1,"localCoverage":%v}`, pesq, local)
	}
	write("loss5/1/audio.json", `{"aToB":`+leg(3.5, 1)+`,"bToA":`+leg(2.5, 1)+`,"mouthToEarMs":55}`)
	write("loss5/1/call-rc.txt", "0\n")
	write("loss5/1/load-before.txt", "3.10 2.00 1.00\n")
	write("loss5/2/audio.json", `{"aToB":`+leg(3.0, 0.5)+`,"bToA":`+leg(3.0, 1)+`}`)
	write("loss5/2/call-rc.txt", "0\n")
	write("loss5/3/call-rc.txt", "1\n")
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"report", root}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{
		"| loss5 (audio) | loss=5% | 3.50/2.50, 3.00/3.00†, failed | **3.00** | 2.50 | 55, – | 4 (2), 4 (2) |",
		"| 3.10 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"audio"}, {"video", "-a", "x"}, {"report"}, {"bridge", "-a", "x"}, {"bridge", "-a", "x", "-b", "y", "-ab", "loss=abc"}} {
		var o, e bytes.Buffer
		if rc := run(args, &o, &e); rc == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

func TestWireSettle(t *testing.T) {
	start := time.Unix(1000, 0)
	d := bridge.Direction{Profile: "rate=300kbps,queue=200ms", Start: start,
		// Two seconds before the call, then 6 s over the cap, then under it;
		// the last (hang-up) second does not count.
		OfferedKbps: []float64{1, 1, 500, 450, 400, 350, 320, 310, 290, 280, 280, 280, 900}}
	w := wireFrom(d, 1002.4, 11)
	if w.CapKbps != 300 || w.SettleS != 6 || len(w.OfferedKbps) != 11 || w.OfferedKbps[0] != 500 {
		t.Errorf("wire %+v", w)
	}
	if want := (310 + 290 + 280 + 280 + 280) / 5.0; math.Abs(w.MeanAfter-want) > 1e-9 {
		t.Errorf("mean after 5 s %.2f, want %.2f", w.MeanAfter, want)
	}
	d.OfferedKbps = []float64{400, 400, 400, 400}
	if w := wireFrom(d, 1000, 4); w.SettleS != -1 {
		t.Errorf("never settles: %d", w.SettleS)
	}
	d.Profile = "loss=5%"
	if w := wireFrom(d, 1000, 4); w.CapKbps != 0 || w.SettleS != 0 {
		t.Errorf("no cap: %+v", w)
	}
}

// A cap lifted mid-call: the wire is judged before the lift, and each side
// reports when the full picture came back to stay.
func TestCapLifted(t *testing.T) {
	start := time.Unix(1000, 0)
	d := bridge.Direction{Profile: "rate=150kbps,queue=200ms", Start: start,
		Switched: []bridge.Switch{{At: start.Add(8 * time.Second), Profile: "clean"}},
		// The call's first STATS at 1002: 3 s over the cap, then under it
		// until the lift at its sixth second, then far over it.
		OfferedKbps: []float64{1, 1, 300, 200, 160, 140, 130, 120, 600, 700, 700, 700, 700}}
	w := wireFrom(d, 1002, 11)
	if w.LiftS == nil || *w.LiftS != 6 || w.SettleS != 3 {
		t.Errorf("wire %+v (lift %v)", w, w.LiftS)
	}
	if want := 120.0; w.MeanAfter != want {
		t.Errorf("mean after 5 s and before the lift %.1f, want %.1f", w.MeanAfter, want)
	}
	sec := func(fps float64, w, h int) Second { return Second{Fps: fps, Width: w, Height: h} }
	tests := []struct {
		name string
		secs []Second
		want int
	}{
		{"back 2 s after the lift", []Second{sec(30, 640, 360), sec(10, 160, 90), sec(10, 160, 90), sec(10, 160, 90),
			sec(20, 320, 180), sec(30, 640, 360), sec(30, 640, 360), sec(30, 640, 360), sec(0, 640, 360)}, 2},
		{"full size once, then down again", []Second{sec(30, 640, 360), sec(10, 160, 90), sec(10, 160, 90), sec(30, 640, 360),
			sec(20, 320, 180), sec(20, 320, 180), sec(20, 320, 180)}, -1},
		{"full size but frozen", []Second{sec(30, 640, 360), sec(10, 160, 90), sec(10, 160, 90), sec(0, 640, 360),
			sec(0, 640, 360), sec(0, 640, 360)}, -1},
	}
	for _, tt := range tests {
		full, back := fullBack(tt.secs, 3)
		if full != "640x360" || back == nil || *back != tt.want {
			t.Errorf("%s: full %s back %v, want %d", tt.name, full, *back, tt.want)
		}
	}
}
