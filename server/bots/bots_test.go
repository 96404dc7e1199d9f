package bots

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"zero", Config{}, ""},
		{"some bots", Config{Names: []string{Echo, Busy}}, ""},
		{"unknown bot", Config{Names: []string{"echo", "parrot"}}, `unknown bot "parrot"`},
		{"busy-line is internal", Config{Names: []string{BusyLine}}, "unknown bot"},
		{"negative delay", Config{EchoDelay: -time.Second}, "echo delay"},
		{"delay too long", Config{EchoDelay: time.Minute}, "echo delay"},
		{"negative hangup", Config{HangupAfter: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTokenIsStablePerSecretAndName(t *testing.T) {
	a, b := Token("s1", Echo), Token("s1", Echo)
	if a != b {
		t.Fatal("token not deterministic")
	}
	if Token("s1", Echo) == Token("s2", Echo) || Token("s1", Echo) == Token("s1", Reject) {
		t.Fatal("tokens of different secrets or bots collide")
	}
	if len(Token("s", Echo)) < 40 {
		t.Fatalf("token %q too short", Token("s", Echo))
	}
}

func TestNick(t *testing.T) {
	if got := Nick(Echo, ""); got != "回声测试" {
		t.Errorf("zh nick %q", got)
	}
	if got := Nick(Echo, "en"); got != "Echo test" {
		t.Errorf("en nick %q", got)
	}
	for _, n := range append(All, BusyLine) {
		if Nick(n, "zh") == n || len(Nick(n, "zh")) > protocol.MaxNickLength {
			t.Errorf("bot %s has no usable nickname", n)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	cfg := Config{}.withDefaults()
	tests := []struct {
		bot, from, attachment string
		want                  outcome
	}{
		{Echo, "alice", "", outcome{"echo", DefaultEchoMaxDuration}},
		{Reject, "alice", "", outcome{"reject", 0}},
		{NoAnswer, "alice", "", outcome{"noanswer", 0}},
		{Hangup, "alice", "", outcome{"hangup", DefaultHangupAfter}},
		{BusyLine, Busy, "", outcome{"echo", 0}},
		{BusyLine, "alice", "", outcome{"reject", 0}},
		{Outcomes, "alice", "", outcome{"hangup", DefaultHangupAfter}},
		{Outcomes, "alice", `{"outcome":"reject"}`, outcome{"reject", DefaultHangupAfter}},
		{Outcomes, "alice", `{"outcome":"hangup","after":"10s"}`, outcome{"hangup", 10 * time.Second}},
		{Outcomes, "alice", `{"outcome":"echo"}`, outcome{"echo", DefaultEchoMaxDuration}},
		{Outcomes, "alice", `{"outcome":"busy"}`, outcome{"hangup", DefaultHangupAfter}},
		{Outcomes, "alice", `{"after":"-1s"}`, outcome{"hangup", DefaultHangupAfter}},
		{Outcomes, "alice", `{"after":"1h"}`, outcome{"hangup", DefaultHangupAfter}},
		{Outcomes, "alice", `"not an object"`, outcome{"hangup", DefaultHangupAfter}},
	}
	for _, tt := range tests {
		t.Run(tt.bot+tt.attachment, func(t *testing.T) {
			b := &bot{name: tt.bot, cfg: cfg}
			inv := protocol.Invite{From: tt.from}
			if tt.attachment != "" {
				inv.Attachment = json.RawMessage(tt.attachment)
			}
			if got := b.outcomeOf(inv); got != tt.want {
				t.Fatalf("outcome %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzOutcomeOf: any attachment a caller sends yields a known behaviour
// with a bounded hang-up time.
func FuzzOutcomeOf(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"outcome":"reject"}`, `{"outcome":"echo","after":"5m"}`, `{"after":"9999h"}`, `[1,2]`, `{"outcome":7}`} {
		f.Add([]byte(s))
	}
	cfg := Config{}.withDefaults()
	b := &bot{name: Outcomes, cfg: cfg}
	f.Fuzz(func(t *testing.T, att []byte) {
		o := b.outcomeOf(protocol.Invite{From: "alice", Attachment: att})
		switch o.kind {
		case "reject", "noanswer", "hangup", "echo":
		default:
			t.Fatalf("outcome %q", o.kind)
		}
		if o.after < 0 || o.after > cfg.EchoMaxDuration {
			t.Fatalf("after %v", o.after)
		}
	})
}
