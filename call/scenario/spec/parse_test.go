package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var testEnv = env(map[string]string{"ALICE_TOKEN": "ta", "BOB_TOKEN": "tb", "HOST": "example.org"})

const header = `accounts:
  alice: {token_env: ALICE_TOKEN}
  bob:
    token: ${BOB_TOKEN}
    devices: [phone, laptop]
steps:
  - login: alice
  - login: bob/phone
`

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		steps string
		check func(t *testing.T, f *File)
	}{
		{"call with everything", `  - call: {as: alice, to: bob, type: video, timeout: 5s, attachment: {a: [1, x]}}`, func(t *testing.T, f *File) {
			s := f.Steps[2]
			if s.Action != ActCall || s.To != "bob" || s.CallType != protocol.CallVideo || s.Timeout != 5*time.Second ||
				string(s.Attachment) != `{"a":[1,"x"]}` || s.Actor != (Actor{"alice", DefaultDevice}) || s.Line != 9 || s.Index != 3 {
				t.Fatalf("call step %+v", s)
			}
		}},
		{"shorthand actor and default type", "  - call: {as: alice, to: bob}\n  - hangup: alice", func(t *testing.T, f *File) {
			if f.Steps[2].CallType != protocol.CallAudio || f.Steps[3].Action != ActHangup || f.Steps[3].Within != DefaultStepTimeout {
				t.Fatalf("steps %+v %+v", f.Steps[2], f.Steps[3])
			}
		}},
		{"wait with alias and match", `  - wait: {as: bob/phone, event: onUserCancel, match: {userId: alice, status: 2}, within: 1500ms}`, func(t *testing.T, f *File) {
			s := f.Steps[2]
			if s.Event != protocol.EvUserCancel || s.Match["userId"] != "alice" || s.Match["status"] != "2" || s.Within != 1500*time.Millisecond {
				t.Fatalf("wait %+v", s)
			}
		}},
		{"sleep both forms", "  - sleep: 2s\n  - sleep: {duration: 10ms}", func(t *testing.T, f *File) {
			if f.Steps[2].Sleep != 2*time.Second || f.Steps[3].Sleep != 10*time.Millisecond {
				t.Fatal(f.Steps[2], f.Steps[3])
			}
		}},
		{"record by name and number", "  - expect_record: {as: alice, status: busy}\n  - expect_record: {as: alice, status: 3}\n  - expect_record: {as: alice, status: NoAnswer, language: en}", func(t *testing.T, f *File) {
			if f.Steps[2].Status != protocol.StatusBusy || f.Steps[3].Status != 3 || f.Steps[4].Status != protocol.StatusTimeout || f.Steps[4].Language != "en" {
				t.Fatal(f.Steps[2:])
			}
		}},
		{"record text without a text table", "  - expect_record: {as: bob/phone, status: 对方已取消}", func(t *testing.T, f *File) {
			if f.Steps[2].Text != "对方已取消" || f.Steps[2].Status != 0 {
				t.Fatal(f.Steps[2])
			}
		}},
		{"stats bounds with units", `  - expect_stats: {as: alice, mos: ">= 4", loss: "<=2%", rtt: "< 0.2s", recv_kbps: "> 1mbps", over: 3}`, func(t *testing.T, f *File) {
			s := f.Steps[2]
			want := map[string]Bound{"mos": {"mos", ">=", 4, ">= 4"}, "loss": {"loss", "<=", 2, "<=2%"}, "rtt": {"rtt", "<", 200, "< 0.2s"}, "recv_kbps": {"recv_kbps", ">", 1000, "> 1mbps"}}
			if len(s.Bounds) != 4 || s.Over != 3 {
				t.Fatalf("stats %+v", s)
			}
			for _, b := range s.Bounds {
				if w := want[b.Metric]; b != w {
					t.Errorf("bound %+v, want %+v", b, w)
				}
			}
		}},
		{"switch default state", "  - switch: {as: alice, type: video}\n  - switch: {as: bob/phone, type: audio}", func(t *testing.T, f *File) {
			if f.Steps[2].SwitchState != protocol.SwitchInvite || f.Steps[3].SwitchState != "" {
				t.Fatal(f.Steps[2], f.Steps[3])
			}
		}},
		{"expect_error and name", "  - name: nothing to cancel\n    cancel: {as: alice, expect_error: 20013}", func(t *testing.T, f *File) {
			if f.Steps[2].ExpectError != 20013 || f.Steps[2].Name != "nothing to cancel" {
				t.Fatal(f.Steps[2])
			}
		}},
		{"parallel", "  - login: bob/laptop\n  - parallel:\n      - wait: {as: bob/phone, event: INVITED}\n      - accept: bob/laptop\n      - sleep: 1s", func(t *testing.T, f *File) {
			s := f.Steps[3]
			if s.Action != ActParallel || len(s.Parallel) != 3 || s.Parallel[0].Event != "INVITED" || s.Parallel[1].Actor != (Actor{"bob", "laptop"}) ||
				s.Parallel[1].Index != 4 || s.Parallel[1].Line != 12 || s.Parallel[2].Sleep != time.Second {
				t.Fatalf("parallel %+v", s)
			}
		}},
		{"logout then wait", "  - logout: alice\n  - wait: {as: alice, event: onDisconnect}\n  - login: alice", func(t *testing.T, f *File) {
			if len(f.Steps) != 5 {
				t.Fatal(len(f.Steps))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.yaml", []byte(header+tt.steps+"\n"), Options{Getenv: testEnv})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Accounts[0].Token != "ta" || f.Accounts[1].Token != "tb" || len(f.Accounts[1].Devices) != 2 {
				t.Fatalf("accounts %+v %+v", f.Accounts[0], f.Accounts[1])
			}
			tt.check(t, f)
		})
	}
}

func TestParseFileLevel(t *testing.T) {
	src := `name: demo
server: ws://${HOST}:7800
timeouts: {step: 3s, call: 5s, total: 1m}
accounts:
  alice:
    account: alice-01
    token_env: ALICE_TOKEN
    media: {audio_in: silence}
  bob:
    media: test
steps:
  - login: alice
  - login: bob
  - call: {as: alice, to: bob}
  - call: {as: bob, to: echo}
`
	f, err := Parse("dir/demo.yaml", []byte(src), Options{Getenv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if f.Server != "ws://example.org:7800" || f.Timeouts != (Timeouts{3 * time.Second, 5 * time.Second, time.Minute}) || f.Name() != "demo" {
		t.Fatalf("file %+v", f)
	}
	a := f.Accounts[0]
	if a.ID != "alice-01" || a.Media == nil || a.Media.AudioIn != "silence" || a.Media.VideoIn != "testsrc" || a.Media.AudioOut != "none" {
		t.Fatalf("alice %+v %+v", a, a.Media)
	}
	if f.Steps[2].To != "bob" || f.Steps[3].To != "echo" || f.Steps[2].Timeout != 5*time.Second || f.Steps[2].Within != 3*time.Second {
		t.Fatalf("steps %+v %+v", f.Steps[2], f.Steps[3])
	}
	if f.Accounts[1].Token != "" {
		t.Fatal("bob has a token")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // substring of the error, which must also name the line
	}{
		{"unknown top key", "acounts: {}\n", `t.yaml:1: the file: unknown field "acounts"`},
		{"no accounts", "steps: [{sleep: 1s}]\n", "no accounts"},
		{"no steps", "accounts: {alice: }\n", "no steps"},
		{"empty steps", "accounts: {alice: }\nsteps: []\n", "steps: none listed"},
		{"yaml syntax", "accounts: [\n", "t.yaml"},
		{"unknown account field", "accounts:\n  alice: {tokn: x}\nsteps: [{sleep: 1s}]\n", `t.yaml:2: accounts.alice: unknown field "tokn"`},
		{"token env missing", "accounts:\n  alice: {token_env: NOPE}\nsteps: [{sleep: 1s}]\n", "t.yaml:2: accounts.alice.token_env: environment variable NOPE is not set"},
		{"token expansion missing", "accounts:\n  alice: {token: \"${NOPE}\"}\nsteps: [{sleep: 1s}]\n", "environment variable NOPE is not set"},
		{"token and token_env", "accounts:\n  alice: {token: x, token_env: ALICE_TOKEN}\nsteps: [{sleep: 1s}]\n", "not both"},
		{"bad device list", "accounts:\n  alice: {devices: phone}\nsteps: [{sleep: 1s}]\n", "want a list of device names"},
		{"duplicate device", "accounts:\n  alice: {devices: [a, a]}\nsteps: [{sleep: 1s}]\n", `device "a" listed twice`},
		{"bad media", "accounts:\n  alice: {media: webcam}\nsteps: [{sleep: 1s}]\n", "want none, test"},
		{"bad account name", "accounts:\n  al ice: \nsteps: [{sleep: 1s}]\n", "account name"},
		{"duplicate key", "accounts:\n  alice: \n  alice: \nsteps: [{sleep: 1s}]\n", `key "alice" appears twice`},
		{"unknown actor", header + "  - call: {as: carol, to: bob}\n", `t.yaml:9: step 3: unknown actor "carol" (accounts: alice, bob)`},
		{"ambiguous actor", header + "  - hangup: bob\n", `t.yaml:9: step 3: actor "bob" is ambiguous`},
		{"unknown device", header + "  - hangup: bob/tablet\n", `unknown device "tablet" of bob`},
		{"before login", header + "  - hangup: bob/laptop\n", `t.yaml:9: step 3: hangup: bob/laptop is used before its login step`},
		{"double login", header + "  - login: alice\n", "already logged in"},
		{"logout not logged in", header + "  - logout: bob/laptop\n", "is not logged in"},
		{"bad duration", header + "  - sleep: 5 seconds\n", `t.yaml:9: step 3: sleep: bad duration "5 seconds"`},
		{"duration out of range", header + "  - sleep: 100h\n", "out of range"},
		{"bad within", header + "  - wait: {as: alice, event: INVITED, within: soon}\n", `wait.within: bad duration "soon"`},
		{"unknown step field", header + "  - call: {as: alice, to: bob, typ: video}\n", `t.yaml:9: step 3: call: unknown field "typ"`},
		{"unknown action", header + "  - dial: alice\n", `unknown field "dial"`},
		{"two actions", header + "  - hangup: alice\n    cancel: alice\n", "two actions in one step"},
		{"no action", header + "  - name: x\n", "no action"},
		{"step not a mapping", header + "  - hangup\n", "want a mapping"},
		{"bad call type", header + "  - call: {as: alice, to: bob, type: fax}\n", `"fax": want audio or video`},
		{"call without to", header + "  - call: {as: alice}\n", "no to: account"},
		{"bad to", header + "  - call: {as: alice, to: \"b b\"}\n", "invalid account"},
		{"ring timeout range", header + "  - call: {as: alice, to: bob, timeout: 500ms}\n", "out of range"},
		{"unknown event", header + "  - wait: {as: alice, event: RINGING}\n", `unknown event "RINGING"`},
		{"wait without event", header + "  - wait: {as: alice}\n", "no event"},
		{"match not mapping", header + "  - wait: {as: alice, event: INVITED, match: [a]}\n", "want a mapping"},
		{"status out of range", header + "  - expect_record: {as: alice, status: 9}\n", "not a record status"},
		{"record without status", header + "  - expect_record: {as: alice}\n", "no status"},
		{"bad language", header + "  - expect_record: {as: alice, status: 1, language: fr}\n", "want zh or en"},
		{"bad direction", header + "  - expect_record: {as: alice, status: 1, direction: up}\n", "want outgoing or incoming"},
		{"bad bound", header + "  - expect_stats: {as: alice, mos: 4}\n", "want a comparison"},
		{"bad unit", header + "  - expect_stats: {as: alice, mos: \">= 4ms\"}\n", `unit "ms" does not fit`},
		{"no bound", header + "  - expect_stats: {as: alice}\n", "no bound"},
		{"bad over", header + "  - expect_stats: {as: alice, mos: \">= 1\", over: 0}\n", "1–600"},
		{"bad switch state", header + "  - switch: {as: alice, type: video, state: maybe}\n", "want invite, agree or reject"},
		{"switch without type", header + "  - switch: {as: alice}\n", "no type"},
		{"bad expect_error", header + "  - cancel: {as: alice, expect_error: -1}\n", "positive error code"},
		{"expect_error on wait", header + "  - wait: {as: alice, event: INVITED, expect_error: 1}\n", `unknown field "expect_error"`},
		{"parallel of one", header + "  - parallel:\n      - hangup: alice\n", "want a list of 2–32 steps"},
		{"parallel not a list", header + "  - parallel: alice\n", "want a list of 2–32 steps"},
		{"parallel same device", header + "  - parallel:\n      - hangup: alice\n      - wait: {as: alice, event: CALL_END}\n", "t.yaml:11: step 3: parallel: alice/default has two steps"},
		{"parallel login", header + "  - parallel:\n      - login: bob/laptop\n      - hangup: alice\n", "parallel: login cannot run in parallel"},
		{"parallel nested", header + "  - parallel:\n      - parallel: [{sleep: 1s}, {sleep: 1s}]\n      - hangup: alice\n", "parallel: parallel cannot run in parallel"},
		{"parallel before login", header + "  - parallel:\n      - hangup: bob/laptop\n      - hangup: alice\n", "t.yaml:10: step 3: hangup: bob/laptop is used before its login step"},
		{"parallel bad sub-step", header + "  - parallel:\n      - hangup: alice\n      - sleep: never\n", `t.yaml:11: step 3: sleep: bad duration "never"`},
		{"alias", "accounts:\n  alice: &a {token_env: ALICE_TOKEN}\n  bob: *a\nsteps: [{sleep: 1s}]\n", "aliases are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src), Options{Getenv: testEnv})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml:") {
				t.Fatalf("error %q does not name the line", err)
			}
		})
	}
}

func TestParseTooBig(t *testing.T) {
	_, err := Parse("big.yaml", make([]byte, MaxFileSize+1), Options{})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v", err)
	}
}

func TestBoundHolds(t *testing.T) {
	tests := []struct {
		op   string
		v    float64
		want bool
	}{
		{">=", 4, true}, {">=", 3.9, false}, {">", 4, false}, {"<", 3, true}, {"<=", 4, true}, {"==", 4, true}, {"==", 4.1, false},
	}
	for _, tt := range tests {
		if got := (Bound{Op: tt.op, Value: 4}).Holds(tt.v); got != tt.want {
			t.Errorf("%v %s 4 = %v", tt.v, tt.op, got)
		}
	}
}
