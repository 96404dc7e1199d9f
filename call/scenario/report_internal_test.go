package scenario

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
)

// TestReportEscapesHostileText: a run report quotes scenario files, peers
// and server errors; text and JSON reports keep it printable.
func TestReportEscapesHostileText(t *testing.T) {
	const evil = "\x1b]0;pwned\a\x1b[2J\u009b31m\u202eevil"
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		r := &Runner{Out: &out, JSON: asJSON}
		r.emitStart(&Result{File: evil + ".yaml", Server: "ws://x"})
		r.emitStep(StepResult{Index: 1, Description: evil, Status: Fail, Reason: evil})
		r.emitStep(StepResult{Index: 2, Description: "ok", Status: Pass, Detail: evil})
		for _, c := range out.String() {
			if c != '\n' && (c < 0x20 || c >= 0x7f && c <= 0x9f || unicode.Is(unicode.Cf, c)) {
				t.Fatalf("json=%v: %U in the report:\n%s", asJSON, c, out.String())
			}
		}
		if !asJSON && !strings.Contains(out.String(), "\n           line 0: ") {
			t.Fatalf("the failure reason lost its own line:\n%s", out.String())
		}
	}
}
