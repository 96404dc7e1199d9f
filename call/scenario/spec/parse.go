package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/softphone/softphone/call/protocol"
)

// ErrInvalid is matched (errors.Is) by every error Parse returns for a bad
// file, as opposed to one it could not read.
var ErrInvalid = errors.New("invalid scenario")

// Error is a problem with a scenario file, located by line and, inside
// steps:, by step index.
type Error struct {
	Path string
	Line int // 0: not known
	Step int // 0: not inside a step
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Step > 0 {
		fmt.Fprintf(&b, ": step %d", e.Step)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Options tune Parse.
type Options struct {
	// Getenv resolves ${VAR} in token: and server:, and token_env: (nil:
	// os.Getenv).
	Getenv func(string) string
	// StatusText is call.StatusText: with it, expect_record's status: may
	// be a record text (对方已拒绝), checked against the known texts; nil
	// accepts any text.
	StatusText func(status int, callee bool, lang string) string
}

// ParseFile reads and parses a scenario file.
func ParseFile(path string, opts Options) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data, opts)
}

// Parse decodes and validates a scenario. path only names the file in
// errors and reports.
func Parse(path string, data []byte, opts Options) (*File, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	p := &parser{path: path, getenv: opts.Getenv, statusText: opts.StatusText}
	if len(data) > MaxFileSize {
		return nil, p.errf(0, "file of %d bytes exceeds %d", len(data), MaxFileSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	if len(doc.Content) == 0 {
		return nil, p.errf(0, "empty file: want accounts: and steps:")
	}
	f, err := p.file(doc.Content[0])
	if err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	path       string
	getenv     func(string) string
	statusText func(int, bool, string) string
	step       int // current step index, for errors
}

func (p *parser) errf(line int, format string, args ...any) *Error {
	return &Error{Path: p.path, Line: line, Step: p.step, Msg: fmt.Sprintf(format, args...)}
}

// pair is one key/value of a mapping.
type pair struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

// mapping returns n's pairs, rejecting anything but a mapping with unique
// scalar keys, and keys not in allowed (nil: any key).
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) ([]pair, error) {
	if n.Kind == yaml.AliasNode {
		return nil, p.errf(n.Line, "%s: aliases are not supported", what)
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n.Line, "%s: want a mapping of keys", what)
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k.Line, "%s: keys must be plain names", what)
		}
		if seen[k.Value] {
			return nil, p.errf(k.Line, "%s: key %q appears twice", what, k.Value)
		}
		seen[k.Value] = true
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			return nil, p.errf(k.Line, "%s: unknown field %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
		}
		if v.Kind == yaml.AliasNode {
			return nil, p.errf(v.Line, "%s: aliases are not supported", k.Value)
		}
		out = append(out, pair{k.Value, k, v})
	}
	return out, nil
}

func (p *parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n.Line, "%s: want a single value", what)
	}
	return n.Value, nil
}

func (p *parser) duration(n *yaml.Node, what string, lo, hi time.Duration) (time.Duration, error) {
	s, err := p.str(n, what)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, p.errf(n.Line, "%s: bad duration %q: want e.g. 5s or 500ms", what, s)
	}
	if d < lo || d > hi {
		return 0, p.errf(n.Line, "%s: %s is out of range %s–%s", what, d, lo, hi)
	}
	return d, nil
}

func (p *parser) integer(n *yaml.Node, what string) (int, error) {
	s, err := p.str(n, what)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, p.errf(n.Line, "%s: want an integer, got %q", what, s)
	}
	return v, nil
}

// expand resolves ${VAR} and $VAR; an unset variable is an error, so a
// ticket's file run without its environment fails before connecting.
func (p *parser) expand(n *yaml.Node, what, s string) (string, error) {
	var missing []string
	out := os.Expand(s, func(name string) string {
		v := p.getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", p.errf(n.Line, "%s: environment variable %s is not set", what, strings.Join(missing, ", "))
	}
	return out, nil
}

var topKeys = []string{"name", "server", "accounts", "timeouts", "steps"}

func (p *parser) file(root *yaml.Node) (*File, error) {
	pairs, err := p.mapping(root, "the file", topKeys)
	if err != nil {
		return nil, err
	}
	f := &File{Path: p.path, Timeouts: Timeouts{Step: DefaultStepTimeout, Total: DefaultTotalTimeout}}
	var stepsNode, accountsNode *yaml.Node
	for _, kv := range pairs {
		switch kv.key {
		case "name":
			if _, err := p.str(kv.v, "name"); err != nil {
				return nil, err
			}
		case "server":
			s, err := p.str(kv.v, "server")
			if err != nil {
				return nil, err
			}
			if f.Server, err = p.expand(kv.v, "server", s); err != nil {
				return nil, err
			}
		case "accounts":
			accountsNode = kv.v
		case "timeouts":
			if err := p.timeouts(kv.v, &f.Timeouts); err != nil {
				return nil, err
			}
		case "steps":
			stepsNode = kv.v
		}
	}
	if accountsNode == nil {
		return nil, p.errf(root.Line, "no accounts: section")
	}
	if f.Accounts, err = p.accounts(accountsNode); err != nil {
		return nil, err
	}
	if stepsNode == nil {
		return nil, p.errf(root.Line, "no steps: section")
	}
	if f.Steps, err = p.steps(stepsNode, f); err != nil {
		return nil, err
	}
	if err := p.checkOrder(f); err != nil {
		return nil, err
	}
	return f, nil
}

func (p *parser) timeouts(n *yaml.Node, t *Timeouts) error {
	pairs, err := p.mapping(n, "timeouts", []string{"step", "call", "total"})
	if err != nil {
		return err
	}
	for _, kv := range pairs {
		var err error
		switch kv.key {
		case "step":
			t.Step, err = p.duration(kv.v, "timeouts.step", time.Millisecond, maxSleep)
		case "call":
			t.Call, err = p.duration(kv.v, "timeouts.call", time.Second, 120*time.Second)
		case "total":
			t.Total, err = p.duration(kv.v, "timeouts.total", time.Second, time.Hour)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var accountKeys = []string{"account", "token", "token_env", "devices", "media"}

func (p *parser) accounts(n *yaml.Node) ([]*Account, error) {
	pairs, err := p.mapping(n, "accounts", nil)
	if err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, p.errf(n.Line, "accounts: none listed")
	}
	var out []*Account
	for _, kv := range pairs {
		if !validName(kv.key) {
			return nil, p.errf(kv.k.Line, "account name %q: use letters, digits, _ and -", kv.key)
		}
		a := &Account{Key: kv.key, ID: kv.key, Line: kv.k.Line, Devices: []string{DefaultDevice}}
		what := "accounts." + kv.key
		if kv.v.Tag == "!!null" { // "alice:" with nothing: no token (debug server)
			out = append(out, a)
			continue
		}
		fields, err := p.mapping(kv.v, what, accountKeys)
		if err != nil {
			return nil, err
		}
		var tokenSet bool
		for _, f := range fields {
			fw := what + "." + f.key
			switch f.key {
			case "account":
				if a.ID, err = p.str(f.v, fw); err != nil {
					return nil, err
				}
				if !protocol.ValidID(a.ID) {
					return nil, p.errf(f.v.Line, "%s: invalid account id %q", fw, a.ID)
				}
			case "token":
				if tokenSet {
					return nil, p.errf(f.k.Line, "%s: give token or token_env, not both", what)
				}
				tokenSet = true
				s, err := p.str(f.v, fw)
				if err != nil {
					return nil, err
				}
				if a.Token, err = p.expand(f.v, fw, s); err != nil {
					return nil, err
				}
			case "token_env":
				if tokenSet {
					return nil, p.errf(f.k.Line, "%s: give token or token_env, not both", what)
				}
				tokenSet = true
				name, err := p.str(f.v, fw)
				if err != nil {
					return nil, err
				}
				if a.Token = p.getenv(name); a.Token == "" {
					return nil, p.errf(f.v.Line, "%s: environment variable %s is not set", fw, name)
				}
			case "devices":
				if a.Devices, err = p.devices(f.v, fw); err != nil {
					return nil, err
				}
			case "media":
				if a.Media, err = p.media(f.v, fw); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func (p *parser) devices(n *yaml.Node, what string) ([]string, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(n.Line, "%s: want a list of device names, e.g. [phone, laptop]", what)
	}
	var out []string
	for _, d := range n.Content {
		s, err := p.str(d, what)
		if err != nil {
			return nil, err
		}
		if !validName(s) {
			return nil, p.errf(d.Line, "%s: device name %q: use letters, digits, _ and -", what, s)
		}
		if slices.Contains(out, s) {
			return nil, p.errf(d.Line, "%s: device %q listed twice", what, s)
		}
		out = append(out, s)
	}
	return out, nil
}

// media accepts "none" (signaling only), "test" (tone + test pattern) or a
// mapping of audio_in / audio_out / video_in.
func (p *parser) media(n *yaml.Node, what string) (*Media, error) {
	test := &Media{AudioIn: SourceTone, AudioOut: SourceNone, VideoIn: SourceTestsrc}
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "none", "signaling":
			return nil, nil
		case "test":
			return test, nil
		}
		return nil, p.errf(n.Line, "%s: %q: want none, test, or a mapping of audio_in, audio_out, video_in", what, n.Value)
	}
	pairs, err := p.mapping(n, what, []string{"audio_in", "audio_out", "video_in"})
	if err != nil {
		return nil, err
	}
	m := *test
	for _, kv := range pairs {
		s, err := p.str(kv.v, what+"."+kv.key)
		if err != nil {
			return nil, err
		}
		switch kv.key {
		case "audio_in":
			m.AudioIn = s
		case "audio_out":
			m.AudioOut = s
		case "video_in":
			m.VideoIn = s
		}
	}
	return &m, nil
}

func (p *parser) steps(n *yaml.Node, f *File) ([]*Step, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n.Line, "steps: want a list of steps")
	}
	if len(n.Content) == 0 {
		return nil, p.errf(n.Line, "steps: none listed")
	}
	if len(n.Content) > MaxSteps {
		return nil, p.errf(n.Line, "steps: %d steps exceed the limit of %d", len(n.Content), MaxSteps)
	}
	var out []*Step
	for i, sn := range n.Content {
		p.step = i + 1
		s, err := p.parseStep(sn, f)
		if err != nil {
			return nil, err
		}
		s.Index = i + 1
		for _, sub := range s.Parallel {
			sub.Index = s.Index
		}
		out = append(out, s)
	}
	p.step = 0
	return out, nil
}

// actionKeys lists, per action, the keys its mapping form accepts.
var actionKeys = map[string][]string{
	ActLogin:        {"as"},
	ActLogout:       {"as"},
	ActCall:         {"as", "to", "type", "attachment", "timeout", "expect_error"},
	ActWait:         {"as", "event", "match", "within"},
	ActAccept:       {"as", "within", "expect_error"},
	ActReject:       {"as", "within", "expect_error"},
	ActCancel:       {"as", "expect_error"},
	ActHangup:       {"as", "expect_error"},
	ActSwitch:       {"as", "type", "state", "expect_error"},
	ActSleep:        {"duration"},
	ActExpectRecord: {"as", "status", "language", "direction", "min_duration", "within"},
	ActParallel:     nil, // a list of steps, not a mapping
	ActExpectStats:  {"as", "over", "within", "mos", "loss", "remote_loss", "rtt", "jitter", "playout", "concealed", "send_kbps", "recv_kbps", "fps"},
}

func actionNames() []string {
	names := make([]string, 0, len(actionKeys))
	for k := range actionKeys {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// parseStep decodes one step: a mapping with exactly one action key and an
// optional name. The action's value is its mapping of options, or a scalar
// shorthand (the actor; for sleep the duration).
func (p *parser) parseStep(n *yaml.Node, f *File) (*Step, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n.Line, "want a mapping such as {call: {as: alice, to: bob}}")
	}
	allowed := append([]string{"name"}, actionNames()...)
	pairs, err := p.mapping(n, "step", allowed)
	if err != nil {
		return nil, err
	}
	s := &Step{Line: n.Line}
	var body *yaml.Node
	for _, kv := range pairs {
		if kv.key == "name" {
			if s.Name, err = p.str(kv.v, "name"); err != nil {
				return nil, err
			}
			continue
		}
		if s.Action != "" {
			return nil, p.errf(kv.k.Line, "two actions in one step (%s and %s): one per step", s.Action, kv.key)
		}
		s.Action, body = kv.key, kv.v
		s.Line = kv.k.Line
	}
	if s.Action == "" {
		return nil, p.errf(n.Line, "no action (one of %s)", strings.Join(actionNames(), ", "))
	}
	if s.Action == ActParallel {
		return s, p.parallel(s, body, f)
	}
	if body.Kind == yaml.ScalarNode {
		if s.Action == ActSleep {
			s.Sleep, err = p.duration(body, "sleep", 0, maxSleep)
			return s, err
		}
		s.Actor, err = p.actor(body, f)
		if err != nil {
			return nil, err
		}
		return s, p.finish(s, body, f)
	}
	pairs, err = p.mapping(body, s.Action, actionKeys[s.Action])
	if err != nil {
		return nil, err
	}
	var attachment *yaml.Node
	for _, kv := range pairs {
		w := s.Action + "." + kv.key
		switch kv.key {
		case "as":
			s.Actor, err = p.actor(kv.v, f)
		case "within":
			s.Within, err = p.duration(kv.v, w, time.Millisecond, maxSleep)
		case "expect_error":
			var c int
			c, err = p.integer(kv.v, w)
			if err == nil && c <= 0 {
				err = p.errf(kv.v.Line, "%s: want a positive error code such as 20017", w)
			}
			s.ExpectError = protocol.Code(c)
		case "to":
			s.To, err = p.str(kv.v, w)
			if err == nil {
				s.To = resolveAccount(f, s.To)
				if !protocol.ValidID(s.To) {
					err = p.errf(kv.v.Line, "%s: invalid account %q", w, s.To)
				}
			}
		case "type":
			s.CallType, err = p.callType(kv.v, w)
		case "attachment":
			attachment = kv.v
		case "timeout":
			s.Timeout, err = p.duration(kv.v, w, time.Second, 120*time.Second)
		case "event":
			s.Event, err = p.event(kv.v, w)
		case "match":
			s.Match, err = p.match(kv.v, w)
		case "state":
			s.SwitchState, err = p.str(kv.v, w)
			if err == nil && !slices.Contains([]string{protocol.SwitchInvite, protocol.SwitchAgree, protocol.SwitchReject}, s.SwitchState) {
				err = p.errf(kv.v.Line, "%s: %q: want invite, agree or reject", w, s.SwitchState)
			}
		case "duration":
			s.Sleep, err = p.duration(kv.v, w, 0, maxSleep)
		case "status":
			err = p.status(kv.v, w, s)
		case "language":
			s.Language, err = p.str(kv.v, w)
			if err == nil && s.Language != "zh" && s.Language != "en" {
				err = p.errf(kv.v.Line, "%s: %q: want zh or en", w, s.Language)
			}
		case "direction":
			s.Direction, err = p.str(kv.v, w)
			if err == nil && s.Direction != DirectionOutgoing && s.Direction != DirectionIncoming {
				err = p.errf(kv.v.Line, "%s: %q: want outgoing or incoming", w, s.Direction)
			}
		case "min_duration":
			s.MinDur, err = p.duration(kv.v, w, 0, 24*time.Hour)
		case "over":
			s.Over, err = p.integer(kv.v, w)
			if err == nil && (s.Over < 1 || s.Over > 600) {
				err = p.errf(kv.v.Line, "%s: want 1–600 samples", w)
			}
		default: // expect_stats metrics
			var b Bound
			b, err = p.bound(kv.v, kv.key)
			s.Bounds = append(s.Bounds, b)
		}
		if err != nil {
			return nil, err
		}
	}
	if attachment != nil {
		if s.Attachment, err = p.attachment(attachment); err != nil {
			return nil, err
		}
	}
	return s, p.finish(s, body, f)
}

// maxParallel bounds the steps of one parallel block.
const maxParallel = 32

// parallel decodes a parallel block: a list of steps, each of another
// device (one device's events are read in order, so two concurrent steps of
// one device would race for them).
func (p *parser) parallel(s *Step, n *yaml.Node, f *File) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) < 2 || len(n.Content) > maxParallel {
		return p.errf(n.Line, "parallel: want a list of 2–%d steps", maxParallel)
	}
	seen := map[Actor]bool{}
	for _, sn := range n.Content {
		sub, err := p.parseStep(sn, f)
		if err != nil {
			return err
		}
		switch sub.Action {
		case ActParallel, ActLogin, ActLogout:
			return p.errf(sub.Line, "parallel: %s cannot run in parallel", sub.Action)
		}
		if sub.Actor.Account != "" {
			if seen[sub.Actor] {
				return p.errf(sub.Line, "parallel: %s has two steps; one step per device", sub.Actor)
			}
			seen[sub.Actor] = true
		}
		s.Parallel = append(s.Parallel, sub)
	}
	return nil
}

// finish checks what a step needs and fills defaults.
func (p *parser) finish(s *Step, n *yaml.Node, f *File) error {
	if s.Action != ActSleep && s.Actor.Account == "" {
		return p.errf(n.Line, "%s: no actor: give as: ACCOUNT or ACCOUNT/DEVICE", s.Action)
	}
	switch s.Action {
	case ActCall:
		if s.To == "" {
			return p.errf(n.Line, "call: no to: account")
		}
		if s.CallType == 0 {
			s.CallType = protocol.CallAudio
		}
		if s.Timeout == 0 {
			s.Timeout = f.Timeouts.Call
		}
	case ActWait:
		if s.Event == "" {
			return p.errf(n.Line, "wait: no event: name (e.g. USER_ACCEPT)")
		}
	case ActSwitch:
		if s.CallType == 0 {
			return p.errf(n.Line, "switch: no type: audio or video")
		}
		if s.SwitchState == "" && s.CallType == protocol.CallVideo {
			s.SwitchState = protocol.SwitchInvite
		}
	case ActExpectRecord:
		if s.Status == 0 && s.Text == "" {
			return p.errf(n.Line, "expect_record: no status: (completed, canceled, rejected, timeout, busy, 1–5 or a record text)")
		}
	case ActExpectStats:
		if len(s.Bounds) == 0 {
			return p.errf(n.Line, "expect_stats: no bound (e.g. mos: \">= 4\")")
		}
		if s.Over == 0 {
			s.Over = 1
		}
	}
	if s.Within == 0 {
		s.Within = f.Timeouts.Step
	}
	return nil
}

// resolveAccount maps an account key of the file to its server id; other
// names (a bot such as echo) pass through.
func resolveAccount(f *File, name string) string {
	for _, a := range f.Accounts {
		if a.Key == name {
			return a.ID
		}
	}
	return name
}

func (p *parser) actor(n *yaml.Node, f *File) (Actor, error) {
	s, err := p.str(n, "as")
	if err != nil {
		return Actor{}, err
	}
	acc, dev, hasDev := strings.Cut(s, "/")
	for _, a := range f.Accounts {
		if a.Key != acc {
			continue
		}
		if !hasDev {
			if len(a.Devices) > 1 {
				return Actor{}, p.errf(n.Line, "actor %q is ambiguous: %s has devices %s; write %s/%s", s, acc, strings.Join(a.Devices, ", "), acc, a.Devices[0])
			}
			return Actor{Account: acc, Device: a.Devices[0]}, nil
		}
		if !slices.Contains(a.Devices, dev) {
			return Actor{}, p.errf(n.Line, "unknown device %q of %s (devices: %s)", dev, acc, strings.Join(a.Devices, ", "))
		}
		return Actor{Account: acc, Device: dev}, nil
	}
	keys := make([]string, 0, len(f.Accounts))
	for _, a := range f.Accounts {
		keys = append(keys, a.Key)
	}
	return Actor{}, p.errf(n.Line, "unknown actor %q (accounts: %s)", s, strings.Join(keys, ", "))
}

func (p *parser) callType(n *yaml.Node, what string) (protocol.CallType, error) {
	s, err := p.str(n, what)
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(s) {
	case "audio", "1":
		return protocol.CallAudio, nil
	case "video", "2":
		return protocol.CallVideo, nil
	}
	return 0, p.errf(n.Line, "%s: %q: want audio or video", what, s)
}

// eventAliases maps NeCallKit's event name strings (onUserAccept, ...) to
// the engine's names, so a seed user's names work too.
var eventAliases = map[string]string{
	"onInvited":           protocol.EvInvited,
	"onUserAccept":        protocol.EvUserAccept,
	"onUserReject":        protocol.EvUserReject,
	"onUserBusy":          protocol.EvUserBusy,
	"onCallingTimeOut":    protocol.EvCallingTimeout,
	"onUserCancel":        protocol.EvUserCancel,
	"onCallEnd":           protocol.EvCallEnd,
	"onOtherClientAccept": protocol.EvOtherClientAccept,
	"onOtherClientReject": protocol.EvOtherClientReject,
	"onMessageSent":       protocol.EvMessageSent,
	"onCallTypeChange":    protocol.EvCallTypeChange,
	"onAudioAvailable":    EvAudioAvailable,
	"onCameraAvailable":   EvVideoAvailable,
	"onAudioMuted":        EvAudioMuted,
	"onVideoMuted":        EvVideoMuted,
}

// knownEvents are the names a wait step may name.
var knownEvents = []string{
	protocol.EvInvited, protocol.EvUserAccept, protocol.EvUserReject, protocol.EvUserBusy,
	protocol.EvCallingTimeout, protocol.EvUserCancel, protocol.EvCallEnd, protocol.EvOtherClientAccept,
	protocol.EvOtherClientReject, protocol.EvMessageSent, protocol.EvCallTypeChange, protocol.EvPresence,
	protocol.EvRelay, EvDisconnect, EvReconnected, EvAudioAvailable, EvVideoAvailable,
	EvAudioMuted, EvVideoMuted, EvStats, EvMediaWarning,
}

func (p *parser) event(n *yaml.Node, what string) (string, error) {
	s, err := p.str(n, what)
	if err != nil {
		return "", err
	}
	if a, ok := eventAliases[s]; ok {
		return a, nil
	}
	if !slices.Contains(knownEvents, s) {
		return "", p.errf(n.Line, "%s: unknown event %q (known: %s)", what, s, strings.Join(knownEvents, ", "))
	}
	return s, nil
}

// match decodes a flat mapping of event data fields to expected values.
func (p *parser) match(n *yaml.Node, what string) (map[string]string, error) {
	pairs, err := p.mapping(n, what, nil)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		if m[kv.key], err = p.str(kv.v, what+"."+kv.key); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// status accepts a status name, a number 1–5, or a record text (zh or en).
func (p *parser) status(n *yaml.Node, what string, s *Step) error {
	v, err := p.str(n, what)
	if err != nil {
		return err
	}
	if st, ok := statusNames[strings.ToLower(v)]; ok {
		s.Status = st
		return nil
	}
	if st, err := strconv.Atoi(v); err == nil {
		if st < protocol.StatusCompleted || st > protocol.StatusBusy {
			return p.errf(n.Line, "%s: %d is not a record status (1–5)", what, st)
		}
		s.Status = st
		return nil
	}
	if p.statusText != nil && !p.knownText(v) {
		return p.errf(n.Line, "%s: %q is not a status name (completed, canceled, rejected, timeout, busy), 1–5 or a record text such as 对方已拒绝", what, v)
	}
	s.Text = v
	return nil
}

// knownText reports whether t is a record text of some status, side and
// language.
func (p *parser) knownText(t string) bool {
	for _, lang := range []string{"zh", "en"} {
		for st := protocol.StatusCompleted; st <= protocol.StatusBusy; st++ {
			if p.statusText(st, false, lang) == t || p.statusText(st, true, lang) == t {
				return true
			}
		}
	}
	return false
}

// metricUnits lists each expect_stats metric with the units it accepts and
// their factor to the base unit ("" = a bare number in the base unit).
var metricUnits = map[string]map[string]float64{
	"mos":         {"": 1},
	"loss":        {"": 1, "%": 1},
	"remote_loss": {"": 1, "%": 1},
	"concealed":   {"": 1, "%": 1},
	"rtt":         {"": 1, "ms": 1, "s": 1000},
	"jitter":      {"": 1, "ms": 1, "s": 1000},
	"playout":     {"": 1, "ms": 1, "s": 1000},
	"send_kbps":   {"": 1, "kbps": 1, "mbps": 1000},
	"recv_kbps":   {"": 1, "kbps": 1, "mbps": 1000},
	"fps":         {"": 1},
}

var boundRe = regexp.MustCompile(`^\s*(>=|<=|==|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z%]*)\s*$`)

func (p *parser) bound(n *yaml.Node, metric string) (Bound, error) {
	raw, err := p.str(n, metric)
	if err != nil {
		return Bound{}, err
	}
	m := boundRe.FindStringSubmatch(raw)
	if m == nil {
		return Bound{}, p.errf(n.Line, "%s: %q: want a comparison such as \">= 4\", \"<= 2%%\" or \"< 200ms\"", metric, raw)
	}
	v, err := strconv.ParseFloat(m[2], 64)
	if err != nil || math.IsInf(v, 0) {
		return Bound{}, p.errf(n.Line, "%s: bad number %q", metric, m[2])
	}
	factor, ok := metricUnits[metric][strings.ToLower(m[3])]
	if !ok {
		return Bound{}, p.errf(n.Line, "%s: unit %q does not fit this metric", metric, m[3])
	}
	return Bound{Metric: metric, Op: m[1], Value: v * factor, Raw: strings.TrimSpace(raw)}, nil
}

func (p *parser) attachment(n *yaml.Node) (json.RawMessage, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, p.errf(n.Line, "attachment: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, p.errf(n.Line, "attachment: not representable as JSON: %v", err)
	}
	return b, nil
}

// checkOrder rejects steps of a device before its login, and a second
// login of a device that is logged in.
func (p *parser) checkOrder(f *File) error {
	in, ever := map[Actor]bool{}, map[Actor]bool{}
	var check func(s *Step) error
	check = func(s *Step) error {
		switch s.Action {
		case ActSleep:
		case ActParallel:
			for _, sub := range s.Parallel {
				if err := check(sub); err != nil {
					return err
				}
			}
		case ActLogin:
			if in[s.Actor] {
				return p.errf(s.Line, "login: %s is already logged in", s.Actor)
			}
			in[s.Actor], ever[s.Actor] = true, true
		case ActLogout:
			if !in[s.Actor] {
				return p.errf(s.Line, "logout: %s is not logged in", s.Actor)
			}
			in[s.Actor] = false
		case ActWait, ActExpectRecord, ActExpectStats:
			// The events of a device stay readable after its logout.
			if !ever[s.Actor] {
				return p.errf(s.Line, "%s: %s is used before its login step", s.Action, s.Actor)
			}
		default:
			if !in[s.Actor] {
				return p.errf(s.Line, "%s: %s is used before its login step", s.Action, s.Actor)
			}
		}
		return nil
	}
	for _, s := range f.Steps {
		p.step = s.Index
		if err := check(s); err != nil {
			return err
		}
	}
	p.step = 0
	return nil
}

// yamlLineRe finds the "line N: " the YAML library puts into its messages.
var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a syntax error into an *Error with the line in the usual
// FILE:LINE: place.
func yamlError(path string, err error) *Error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Path: path, Line: line, Msg: m[2]}
	}
	return &Error{Path: path, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validName(s string) bool { return nameRe.MatchString(s) }

func baseName(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}
