package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/scenario/spec"
)

// The decoded file's types, so callers need not import spec.
type (
	File    = spec.File
	Step    = spec.Step
	Actor   = spec.Actor
	Account = spec.Account
)

// ErrInvalid is matched by every error ParseFile returns for a bad file.
var ErrInvalid = spec.ErrInvalid

// ParseFile reads, decodes and validates a scenario file; getenv resolves
// the tokens' environment variables (nil: os.Getenv). Record texts in
// expect_record are checked against the engine's texts.
func ParseFile(path string, getenv func(string) string) (*File, error) {
	return spec.ParseFile(path, spec.Options{Getenv: getenv, StatusText: call.StatusText})
}

// Parse is ParseFile for a file already read.
func Parse(path string, data []byte, getenv func(string) string) (*File, error) {
	return spec.Parse(path, data, spec.Options{Getenv: getenv, StatusText: call.StatusText})
}

// EngineSpec is what the Factory needs to build and log in one device.
type EngineSpec struct {
	Server  string
	Account string // the account id on the server
	Token   string // secret: never log it
	// Device is the scenario's device name ("phone"); the factory may make
	// it unique per run.
	Device string
	// Media is nil for a signaling-only device.
	Media *call.MediaConfig
}

// Factory creates an engine and logs it in. The command's factory is the
// one its headless commands use, so impairment and tracing apply.
type Factory func(ctx context.Context, s EngineSpec) (*call.Engine, error)

// Runner plays scenario files.
type Runner struct {
	Factory Factory
	// Server is used when a file names none, or for every file when
	// ForceServer is set (a --server flag given on the command line).
	Server      string
	ForceServer bool
	// NoMedia makes every device signaling-only, whatever the file says.
	NoMedia bool
	// Out receives the live report (nil: none); JSON selects one JSON
	// object per line instead of text.
	Out  io.Writer
	JSON bool
	// Events, when set, receives every engine event as it arrives (a
	// support engineer's view of what happened between the steps).
	Events io.Writer

	mu sync.Mutex // serialises writes to Out and Events
}

// Step outcomes.
const (
	Pass = "PASS"
	Fail = "FAIL"
	Skip = "SKIP"
)

// StepResult is the outcome of one step.
type StepResult struct {
	Index       int           `json:"step"`
	Line        int           `json:"line"`
	Action      string        `json:"action"`
	Description string        `json:"description"`
	Status      string        `json:"status"`
	Duration    time.Duration `json:"-"`
	DurationMs  float64       `json:"durationMs"`
	Detail      string        `json:"detail,omitempty"` // what a passing step observed
	Reason      string        `json:"reason,omitempty"` // why a step failed
}

// Result is the outcome of one file.
type Result struct {
	File     string        `json:"file"`
	Name     string        `json:"name"`
	Server   string        `json:"server"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"-"`
	Steps    []StepResult  `json:"steps"`
}

// Passed reports whether every step passed.
func (r *Result) Passed() bool {
	for _, s := range r.Steps {
		if s.Status != Pass {
			return false
		}
	}
	return true
}

// Failed returns the first failed step, if any.
func (r *Result) Failed() (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Status == Fail {
			return s, true
		}
	}
	return StepResult{}, false
}

// device is a logged-in engine of the run and every event it produced.
type device struct {
	name string
	eng  *call.Engine
	done chan struct{} // closed when the event reader ends

	mu      sync.Mutex
	log     []call.Event
	notify  chan struct{} // capacity 1: the log grew
	channel string        // the device's latest call: placed or ringing
	cursor  int           // wait steps match from here on
}

// session is one running file.
type session struct {
	r       *Runner
	f       *File
	server  string
	devices map[Actor]*device
	label   map[Actor]string // actor as printed
}

// Run plays f and returns its result; it stops at the first failed step.
// Every engine it created is closed before it returns.
func (r *Runner) Run(ctx context.Context, f *File) *Result {
	res := &Result{File: f.Path, Name: f.Name(), Start: time.Now()}
	s := &session{r: r, f: f, server: r.Server, devices: map[Actor]*device{}, label: map[Actor]string{}}
	if f.Server != "" && !r.ForceServer {
		s.server = f.Server
	}
	res.Server = s.server
	for _, a := range f.Accounts {
		for _, d := range a.Devices {
			act := Actor{Account: a.Key, Device: d}
			s.label[act] = a.Key
			if len(a.Devices) > 1 {
				s.label[act] = act.String()
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeouts.Total)
	defer cancel()
	defer s.close()
	r.emitStart(res)
	failed := false
	for _, st := range f.Steps {
		sr := StepResult{Index: st.Index, Line: st.Line, Action: st.Action, Description: s.describe(st)}
		if failed {
			sr.Status = Skip
			res.Steps = append(res.Steps, sr)
			r.emitStep(sr)
			continue
		}
		t0 := time.Now()
		detail, err := s.exec(ctx, st)
		sr.Duration = time.Since(t0)
		sr.DurationMs = float64(sr.Duration.Microseconds()) / 1000
		if err != nil {
			failed = true
			sr.Status, sr.Reason = Fail, oneLine(err.Error())
			if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
				sr.Reason += fmt.Sprintf(" (the scenario's total timeout %s ran out)", f.Timeouts.Total)
			}
		} else {
			sr.Status, sr.Detail = Pass, detail
		}
		res.Steps = append(res.Steps, sr)
		r.emitStep(sr)
	}
	res.Duration = time.Since(res.Start)
	r.emitEnd(res)
	return res
}

// close hangs up what is still going on (so the server writes the records
// and the next run finds the accounts idle) and closes every engine.
func (s *session) close() {
	var wg sync.WaitGroup
	for _, d := range s.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.eng.State() != protocol.StateIdle {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_ = d.eng.Hangup(ctx)
				cancel()
			}
			_ = d.eng.Close()
			<-d.done
		}()
	}
	wg.Wait()
}

func (s *session) describe(st *Step) string {
	if st.Name != "" {
		return st.Name
	}
	who := s.label[st.Actor]
	switch st.Action {
	case spec.ActLogin:
		return "login " + who
	case spec.ActLogout:
		return "logout " + who
	case spec.ActCall:
		d := fmt.Sprintf("%s calls %s (%s)", who, st.To, st.CallType)
		if st.Timeout > 0 {
			d += fmt.Sprintf(", ring timeout %s", st.Timeout)
		}
		return d
	case spec.ActWait:
		return fmt.Sprintf("%s gets %s%s within %s", who, st.Event, matchText(st.Match), st.Within)
	case spec.ActAccept:
		return who + " accepts"
	case spec.ActReject:
		return who + " rejects"
	case spec.ActCancel:
		return who + " cancels"
	case spec.ActHangup:
		return who + " hangs up"
	case spec.ActSwitch:
		d := fmt.Sprintf("%s switches to %s", who, st.CallType)
		if st.SwitchState != "" {
			d += " (" + st.SwitchState + ")"
		}
		return d
	case spec.ActSleep:
		return "sleep " + st.Sleep.String()
	case spec.ActParallel:
		subs := make([]string, len(st.Parallel))
		for i, sub := range st.Parallel {
			subs[i] = s.describe(sub)
		}
		return "parallel: " + strings.Join(subs, " | ")
	case spec.ActExpectRecord:
		want := st.Text
		if st.Status != 0 {
			want = spec.StatusName(st.Status)
		}
		return fmt.Sprintf("%s's record is %s", who, want)
	case spec.ActExpectStats:
		var bs []string
		for _, b := range st.Bounds {
			bs = append(bs, b.Metric+" "+b.Raw)
		}
		over := ""
		if st.Over > 1 {
			over = fmt.Sprintf(" (mean of %d samples)", st.Over)
		}
		return fmt.Sprintf("%s stats %s%s", who, strings.Join(bs, ", "), over)
	}
	return st.Action
}

func matchText(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return " {" + strings.Join(parts, ", ") + "}"
}

// exec runs one step; a non-nil error is the step's failure reason.
func (s *session) exec(ctx context.Context, st *Step) (string, error) {
	if st.Action == spec.ActSleep {
		select {
		case <-time.After(st.Sleep):
			return "", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if st.Action == spec.ActLogin {
		return s.login(ctx, st)
	}
	if st.Action == spec.ActParallel {
		return s.parallel(ctx, st)
	}
	d := s.devices[st.Actor]
	if d == nil { // validation guarantees a login step came first
		return "", fmt.Errorf("%s is not logged in (its login step failed?)", st.Actor)
	}
	switch st.Action {
	case spec.ActLogout:
		return "", d.eng.Logout(ctx)
	case spec.ActWait:
		return s.wait(ctx, d, st)
	case spec.ActExpectRecord:
		return s.expectRecord(ctx, d, st)
	case spec.ActExpectStats:
		return s.expectStats(ctx, d, st)
	}
	detail, err := s.act(ctx, d, st)
	if st.ExpectError == 0 {
		return detail, err
	}
	if err == nil {
		return "", fmt.Errorf("%s succeeded; want error code %d", st.Action, st.ExpectError)
	}
	if got := protocol.CodeOf(err); got != st.ExpectError {
		return "", fmt.Errorf("%s failed with code %d (%v); want code %d", st.Action, got, err, st.ExpectError)
	}
	return fmt.Sprintf("error %d as expected", st.ExpectError), nil
}

// parallel runs the block's steps at once and waits for all of them.
func (s *session) parallel(ctx context.Context, st *Step) (string, error) {
	details := make([]string, len(st.Parallel))
	errs := make([]error, len(st.Parallel))
	var wg sync.WaitGroup
	for i, sub := range st.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			details[i], errs[i] = s.exec(ctx, sub)
		}()
	}
	wg.Wait()
	var fails, oks []string
	for i, sub := range st.Parallel {
		switch {
		case errs[i] != nil:
			fails = append(fails, fmt.Sprintf("%s (line %d): %v", s.describe(sub), sub.Line, errs[i]))
		case details[i] != "":
			oks = append(oks, details[i])
		}
	}
	if len(fails) > 0 {
		return "", errors.New(strings.Join(fails, "; "))
	}
	return strings.Join(oks, " | "), nil
}

func (s *session) login(ctx context.Context, st *Step) (string, error) {
	acc := s.account(st.Actor.Account)
	var media *call.MediaConfig
	if acc.Media != nil && !s.r.NoMedia {
		media = &call.MediaConfig{AudioIn: acc.Media.AudioIn, AudioOut: acc.Media.AudioOut, VideoIn: acc.Media.VideoIn}
	}
	lctx, cancel := context.WithTimeout(ctx, s.f.Timeouts.Step)
	defer cancel()
	eng, err := s.r.Factory(lctx, EngineSpec{Server: s.server, Account: acc.ID, Token: acc.Token, Device: st.Actor.Device, Media: media})
	if err != nil {
		return "", err
	}
	d := &device{name: s.label[st.Actor], eng: eng, done: make(chan struct{}), notify: make(chan struct{}, 1)}
	s.devices[st.Actor] = d
	go s.read(d)
	mode := "signaling only"
	if media != nil {
		mode = "media " + media.AudioIn + "/" + media.VideoIn
	}
	return fmt.Sprintf("device %s, %s", eng.Device(), mode), nil
}

func (s *session) account(key string) *Account {
	for _, a := range s.f.Accounts {
		if a.Key == key {
			return a
		}
	}
	return nil // unreachable after validation
}

// read records the device's events until the engine closes its channel.
func (s *session) read(d *device) {
	defer close(d.done)
	for ev := range d.eng.Events() {
		d.mu.Lock()
		d.log = append(d.log, ev)
		if inv, ok := ev.Data.(protocol.Invite); ok && ev.Name == protocol.EvInvited {
			d.channel = inv.ChannelID
		}
		d.mu.Unlock()
		select {
		case d.notify <- struct{}{}:
		default:
		}
		s.r.emitEvent(d.name, ev)
	}
}

// await calls check (under the device's lock) on the log now and whenever
// it grows, until check reports true or ctx ends.
func (d *device) await(ctx context.Context, check func(log []call.Event) bool) bool {
	for {
		d.mu.Lock()
		ok := check(d.log)
		d.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-d.notify:
		case <-ctx.Done():
			return false
		}
	}
}

// recent summarises the device's last events for a failure reason.
func (d *device) recent(from int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	start := max(from, len(d.log)-12)
	for _, ev := range d.log[start:] {
		if ev.Name == call.EvStats {
			continue
		}
		names = append(names, ev.Name+summary(ev))
	}
	if len(names) == 0 {
		return "no events"
	}
	return "saw " + strings.Join(names, ", ")
}

func summary(ev call.Event) string {
	switch v := ev.Data.(type) {
	case protocol.Peer:
		if v.Reason != "" {
			return "(" + v.UserID + ", " + v.Reason + ")"
		}
		return "(" + v.UserID + ")"
	case protocol.Invite:
		return "(from " + v.From + ")"
	case call.RecordMessage:
		return fmt.Sprintf("(status %d)", v.Status)
	case protocol.CallTypeChange:
		return fmt.Sprintf("(%s %s)", v.CallType, v.State)
	}
	return ""
}

// act performs a request step.
func (s *session) act(ctx context.Context, d *device, st *Step) (string, error) {
	switch st.Action {
	case spec.ActCall:
		if st.Timeout > 0 {
			if err := d.eng.SetCallTimeout(st.Timeout); err != nil {
				return "", err
			}
		}
		reply, err := d.eng.Call(ctx, st.To, st.CallType, st.Attachment)
		if err != nil {
			return "", err
		}
		d.mu.Lock()
		d.channel = reply.ChannelID
		d.mu.Unlock()
		detail := "channel " + reply.ChannelID
		if !reply.CalleeOnline {
			detail += ", callee offline"
		}
		return detail, nil
	case spec.ActAccept, spec.ActReject:
		// Wait for the ring: the INVITED may still be on its way.
		if st.ExpectError == 0 {
			if err := waitState(ctx, d.eng, protocol.StateCalled, st.Within); err != nil {
				return "", fmt.Errorf("%w; %s", err, d.recent(d.cursorNow()))
			}
		}
		if st.Action == spec.ActAccept {
			return "", d.eng.Accept(ctx, nil)
		}
		return "", d.eng.Reject(ctx, nil)
	case spec.ActCancel:
		return "", d.eng.Cancel(ctx)
	case spec.ActHangup:
		return "", d.eng.Hangup(ctx)
	case spec.ActSwitch:
		return "", d.eng.SwitchCallType(ctx, st.CallType, st.SwitchState)
	}
	return "", fmt.Errorf("unknown action %q", st.Action)
}

func (d *device) cursorNow() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cursor
}

// waitState polls the engine's state: it changes on events the scenario
// does not necessarily wait for.
func waitState(ctx context.Context, eng *call.Engine, want protocol.CallState, within time.Duration) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if got := eng.State(); got == want {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("state is %s, not %s, after %s", got, want, within)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// callScoped events belong to a call in progress: once the device's call
// has ended none of them can come, so a step waiting for one stops then
// instead of waiting out its within.
func callScoped(name string) bool {
	switch name {
	case protocol.EvUserAccept, protocol.EvCallTypeChange, call.EvStats, call.EvAudioAvailable, call.EvVideoAvailable,
		call.EvAudioPlaying, call.EvAudioMuted, call.EvVideoMuted, call.EvMediaWarning:
		return true
	}
	return false
}

// endedLocked returns the event that ended the device's current call, if
// it is in log (d.mu held).
func (d *device) endedLocked(log []call.Event) (call.Event, bool) {
	if d.channel == "" {
		return call.Event{}, false
	}
	for _, ev := range log {
		if ev.ChannelID() != d.channel {
			continue
		}
		switch ev.Name {
		case protocol.EvUserReject, protocol.EvUserBusy, protocol.EvCallingTimeout, protocol.EvUserCancel,
			protocol.EvCallEnd, protocol.EvOtherClientAccept, protocol.EvOtherClientReject, protocol.EvMessageSent:
			return ev, true
		}
	}
	return call.Event{}, false
}

func (s *session) wait(ctx context.Context, d *device, st *Step) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, st.Within)
	defer cancel()
	from := d.cursorNow()
	var (
		found    call.Event
		ended    call.Event
		mismatch string // why the last event of the right name did not match
	)
	ok := d.await(wctx, func(log []call.Event) bool {
		for i := d.cursor; i < len(log); i++ {
			ev := log[i]
			if ev.Name != st.Event {
				continue
			}
			if why := matchData(ev, st.Match); why != "" {
				mismatch = why
				continue
			}
			found, d.cursor = ev, i+1
			return true
		}
		if callScoped(st.Event) {
			var over bool
			ended, over = d.endedLocked(log)
			return over
		}
		return false
	})
	if ok && found.Name == "" {
		return "", fmt.Errorf("no %s: the call ended first (%s%s); %s", st.Event, ended.Name, summary(ended), d.recent(from))
	}
	if !ok {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		why := fmt.Sprintf("no %s within %s", st.Event, st.Within)
		if mismatch != "" {
			why += "; " + st.Event + " arrived but " + mismatch
		}
		return "", fmt.Errorf("%s; %s", why, d.recent(from))
	}
	if ch := found.ChannelID(); ch != "" {
		return strings.TrimSpace("channel " + ch + " " + summary(found)), nil
	}
	return strings.TrimSpace(summary(found)), nil
}

// matchData compares an event's JSON fields with the wanted values; it
// returns "" on a match, else what differed.
func matchData(ev call.Event, want map[string]string) string {
	if len(want) == 0 {
		return ""
	}
	b, err := json.Marshal(ev.Data)
	if err != nil {
		return "its data does not encode: " + err.Error()
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		return "its data is not an object"
	}
	for _, k := range sortedKeys(want) {
		v, ok := got[k]
		if !ok {
			return fmt.Sprintf("has no field %q", k)
		}
		if g := scalarText(v); g != want[k] {
			return fmt.Sprintf("%s is %q, not %q", k, g, want[k])
		}
	}
	return ""
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *session) expectRecord(ctx context.Context, d *device, st *Step) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, st.Within)
	defer cancel()
	acc := s.account(st.Actor.Account)
	var rec call.RecordMessage
	ok := d.await(wctx, func(log []call.Event) bool {
		// The record of the device's latest call; a device that never saw
		// a call takes the newest record.
		for i := len(log) - 1; i >= 0; i-- {
			r, ok := log[i].Data.(call.RecordMessage)
			if ok && log[i].Name == protocol.EvMessageSent && (d.channel == "" || r.ChannelID == d.channel) {
				rec = r
				return true
			}
		}
		return false
	})
	if !ok {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		ch := "its call"
		if c := d.channelNow(); c != "" {
			ch = "channel " + c
		}
		return "", fmt.Errorf("no call record (MESSAGE_SENT) for %s within %s; %s", ch, st.Within, d.recent(0))
	}
	callee := rec.To == acc.ID && rec.From != acc.ID
	lang := st.Language
	if lang == "" {
		lang = "zh"
	}
	text := call.StatusText(rec.Status, callee, lang)
	got := fmt.Sprintf("status %d %s (%s)", rec.Status, spec.StatusName(rec.Status), text)
	if st.Status != 0 && rec.Status != st.Status {
		return "", fmt.Errorf("record of channel %s has %s; want %s", rec.ChannelID, got, spec.StatusName(st.Status))
	}
	if st.Text != "" {
		matched := false
		for _, l := range []string{"zh", "en"} {
			if (st.Language == "" || st.Language == l) && call.StatusText(rec.Status, callee, l) == st.Text {
				matched = true
			}
		}
		if !matched {
			return "", fmt.Errorf("record of channel %s has %s for this side; want text %q", rec.ChannelID, got, st.Text)
		}
	}
	if st.Direction != "" && rec.Direction != st.Direction {
		return "", fmt.Errorf("record of channel %s is %s; want %s", rec.ChannelID, rec.Direction, st.Direction)
	}
	var longest int64
	for _, du := range rec.Durations {
		longest = max(longest, du.Duration)
	}
	if st.MinDur > 0 && time.Duration(longest)*time.Second < st.MinDur {
		return "", fmt.Errorf("record of channel %s lasted %ds; want at least %s", rec.ChannelID, longest, st.MinDur)
	}
	detail := fmt.Sprintf("%s, %s", got, rec.Direction)
	if rec.Status == protocol.StatusCompleted {
		detail += ", " + call.ClockText(rec.Length()) // as records and the TUI show it
	}
	return detail, nil
}

func (d *device) channelNow() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.channel
}

func (s *session) expectStats(ctx context.Context, d *device, st *Step) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, st.Within)
	defer cancel()
	var (
		samples []call.CallStats
		ended   call.Event
		over    bool
	)
	ok := d.await(wctx, func(log []call.Event) bool {
		samples = samples[:0]
		for i := len(log) - 1; i >= 0 && len(samples) < st.Over; i-- {
			if cs, ok := log[i].Data.(call.CallStats); ok {
				samples = append(samples, cs)
			}
		}
		if len(samples) < st.Over {
			ended, over = d.endedLocked(log)
			return over
		}
		return true
	})
	if ok && over {
		return "", fmt.Errorf("%d of %d STATS samples: the call ended first (%s%s)", len(samples), st.Over, ended.Name, summary(ended))
	}
	if !ok {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%d of %d STATS samples within %s (is media on for this account? signaling-only devices have no stats)", len(samples), st.Over, st.Within)
	}
	var parts, fails []string
	for _, b := range st.Bounds {
		var sum float64
		for _, cs := range samples {
			sum += metric(cs, b.Metric)
		}
		v := sum / float64(len(samples))
		got := fmt.Sprintf("%s %s", b.Metric, formatMetric(b.Metric, v))
		parts = append(parts, got)
		if !b.Holds(v) {
			fails = append(fails, fmt.Sprintf("%s, want %s", got, b.Raw))
		}
	}
	if len(fails) > 0 {
		return "", errors.New(strings.Join(fails, "; "))
	}
	return strings.Join(parts, ", "), nil
}

func metric(cs call.CallStats, name string) float64 {
	switch name {
	case "mos":
		return cs.Mos
	case "loss":
		return cs.LossPct
	case "remote_loss":
		return cs.RemoteLossPct
	case "concealed":
		return cs.ConcealedPct
	case "rtt":
		return cs.RttMs
	case "jitter":
		return cs.JitterMs
	case "playout":
		return cs.PlayoutDelayMs
	case "send_kbps":
		return cs.SendKbps
	case "recv_kbps":
		return cs.RecvKbps
	case "fps":
		return cs.Fps
	}
	return math.NaN()
}

func formatMetric(name string, v float64) string {
	switch name {
	case "loss", "remote_loss", "concealed":
		return fmt.Sprintf("%.1f%%", v)
	case "rtt", "jitter", "playout":
		return fmt.Sprintf("%.0fms", v)
	case "send_kbps", "recv_kbps":
		return fmt.Sprintf("%.0fkbps", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
