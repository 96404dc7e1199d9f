// Package spec decodes and validates scenario files (package
// call/scenario plays them): a YAML file names accounts (and their
// devices), then steps such as login, call, wait for an event, accept, hang
// up and expect a record status or a stats bound.
//
// Scenario files come from support tickets: they are untrusted input. The
// decoder is strict (unknown keys, duplicate keys, bad values and unknown
// actors are errors naming the line) and the whole file is validated before
// anything connects.
//
// The package does not import the call engine, so its fuzz target runs at
// full speed (the engine's dependency graph, instrumented, brings the
// fuzzer down to a few executions a second); the few names it shares with
// package call are repeated below and kept equal by a test in
// call/scenario.
package spec

import (
	"encoding/json"
	"math"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// Actions a step can take.
const (
	ActLogin        = "login"
	ActLogout       = "logout"
	ActCall         = "call"
	ActWait         = "wait"
	ActAccept       = "accept"
	ActReject       = "reject"
	ActCancel       = "cancel"
	ActHangup       = "hangup"
	ActSwitch       = "switch"
	ActSleep        = "sleep"
	ActExpectRecord = "expect_record"
	ActExpectStats  = "expect_stats"
	// ActParallel runs its steps at the same time; it passes when all do.
	ActParallel = "parallel"
)

// Defaults of the timeouts: section.
const (
	DefaultStepTimeout  = 10 * time.Second
	DefaultTotalTimeout = 5 * time.Minute
	// MaxSteps keeps a hostile file from queueing an unbounded run.
	MaxSteps = 1000
	// MaxFileSize bounds what Parse reads.
	MaxFileSize = 1 << 20
	// maxSleep bounds sleep steps and deadlines (a typo such as 100h would
	// otherwise hang a CI job).
	maxSleep = 10 * time.Minute
)

// Names of package call the decoder needs.
const (
	SourceNone    = "none"
	SourceTone    = "tone"
	SourceTestsrc = "testsrc"

	DirectionOutgoing = "outgoing"
	DirectionIncoming = "incoming"

	EvDisconnect     = "onDisconnect"
	EvReconnected    = "RECONNECTED"
	EvAudioAvailable = "AUDIO_AVAILABLE"
	EvVideoAvailable = "VIDEO_AVAILABLE"
	EvAudioMuted     = "AUDIO_MUTED"
	EvVideoMuted     = "VIDEO_MUTED"
	EvStats          = "STATS"
	EvMediaWarning   = "MEDIA_WARNING"
)

// DefaultDevice names the device of an account that lists none.
const DefaultDevice = "default"

// File is a parsed and validated scenario.
type File struct {
	// Path is where the file was read from (for reports).
	Path string
	// Server is the signaling server URL the file asks for, after ${VAR}
	// expansion; "" means the command's configured server.
	Server   string
	Accounts []*Account
	Timeouts Timeouts
	Steps    []*Step
}

// Name is the file's base name without extension: the JUnit suite name.
func (f *File) Name() string { return baseName(f.Path) }

// Account is one account of the scenario.
type Account struct {
	// Key is the name the steps use (the mapping key under accounts:).
	Key string
	// ID is the account on the server; default Key.
	ID string
	// Token is the resolved token (from token: with ${VAR} expansion, or
	// from the variable token_env: names). Never printed.
	Token string
	// Devices are the device names the account logs in with.
	Devices []string
	// Media is the account's media sources; nil means signaling only.
	Media *Media
	Line  int
}

// Media chooses an account's media sources.
type Media struct {
	AudioIn  string // tone, silence, FILE.wav, default, a device, none
	AudioOut string // none (default here), default, a device
	VideoIn  string // testsrc (default), FILE.y4m, /dev/videoN, none
}

// Timeouts are the file's timeouts: section.
type Timeouts struct {
	// Step is the default deadline of wait, accept, reject, expect_record and
	// expect_stats ("within:" overrides it per step).
	Step time.Duration
	// Call is the default ring timeout of call steps; 0 keeps the
	// configured one.
	Call time.Duration
	// Total bounds the whole run.
	Total time.Duration
}

// Step is one step. Only the fields of its Action are set.
type Step struct {
	Index  int // 1-based
	Line   int
	Action string
	Name   string // optional description from the file
	// Actor is the account key and device ("bob/phone"); empty for sleep.
	Actor Actor
	// ExpectError is the protocol error code the action must fail with (0:
	// it must succeed).
	ExpectError protocol.Code
	// Within is the step's deadline (wait, accept, reject, expect_*).
	Within time.Duration

	// call
	To         string // the account id to call
	CallType   protocol.CallType
	Attachment json.RawMessage
	Timeout    time.Duration // ring timeout; 0 = the file's or the configured one

	// wait
	Event string
	Match map[string]string

	// switch
	SwitchState string

	// sleep
	Sleep time.Duration

	// expect_record
	Status    int    // 0: any status
	Text      string // status text the actor's side shows; "" = not checked
	Language  string // language of Text; "" = zh or en
	Direction string // outgoing/incoming; "" = not checked
	MinDur    time.Duration

	// expect_stats
	Bounds []Bound
	Over   int // samples averaged; default 1

	// parallel: the steps run at once (each with another actor)
	Parallel []*Step
}

// Actor names a device of an account.
type Actor struct {
	Account string // account key
	Device  string
}

func (a Actor) String() string {
	if a.Account == "" {
		return ""
	}
	return a.Account + "/" + a.Device
}

// Bound is one expect_stats comparison: Metric Op Value (Value in the
// metric's base unit: percent, milliseconds, kbps, ...).
type Bound struct {
	Metric string
	Op     string
	Value  float64
	Raw    string // as written, for reports
}

// statusNames are the record statuses by name (NeCallKit's code names).
var statusNames = map[string]int{
	"completed": protocol.StatusCompleted,
	"complete":  protocol.StatusCompleted,
	"canceled":  protocol.StatusCanceled,
	"cancelled": protocol.StatusCanceled,
	"rejected":  protocol.StatusRejected,
	"timeout":   protocol.StatusTimeout,
	"noanswer":  protocol.StatusTimeout,
	"busy":      protocol.StatusBusy,
}

// StatusName is the canonical name of a record status, for reports.
func StatusName(s int) string {
	switch s {
	case protocol.StatusCompleted:
		return "completed"
	case protocol.StatusCanceled:
		return "canceled"
	case protocol.StatusRejected:
		return "rejected"
	case protocol.StatusTimeout:
		return "timeout"
	case protocol.StatusBusy:
		return "busy"
	}
	return "unknown"
}

// Holds reports whether v satisfies the bound; NaN never does.
func (b Bound) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch b.Op {
	case ">=":
		return v >= b.Value
	case "<=":
		return v <= b.Value
	case ">":
		return v > b.Value
	case "<":
		return v < b.Value
	case "==":
		return v == b.Value
	}
	return false
}
