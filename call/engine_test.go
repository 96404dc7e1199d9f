package call

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// checkNoEngineGoroutines fails t when goroutines running this package's
// code outlive their engine. It polls briefly because a goroutine that was
// told to stop may need a moment to return.
func checkNoEngineGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		leaked := engineGoroutines()
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d engine goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func engineGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "softphone/softphone/call.(*") && !strings.Contains(g, "engineGoroutines") {
			out = append(out, g)
		}
	}
	return out
}

func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	e := New(Config{Server: "ws://127.0.0.1:1", Language: "en"})
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

func TestStateTableEnforced(t *testing.T) {
	ctx := context.Background()
	inv := &protocol.Invite{ChannelID: "ch1"}
	ops := map[string]func(e *Engine) error{
		"call": func(e *Engine) error {
			_, err := e.Call(ctx, "bob", protocol.CallAudio, nil)
			return err
		},
		"cancel":    func(e *Engine) error { return e.Cancel(ctx) },
		"accept":    func(e *Engine) error { return e.Accept(ctx, inv) },
		"reject":    func(e *Engine) error { return e.Reject(ctx, inv) },
		"hangup":    func(e *Engine) error { return e.Hangup(ctx) },
		"switch":    func(e *Engine) error { return e.SwitchCallType(ctx, protocol.CallAudio, "") },
		"switchBad": func(e *Engine) error { return e.SwitchCallType(ctx, protocol.CallType(7), "") },
	}
	// 0 means the state check passes; the request then fails because the
	// engine is not logged in (440), which proves nothing was refused early.
	tests := []struct {
		state protocol.CallState
		want  map[string]protocol.Code
	}{
		{protocol.StateIdle, map[string]protocol.Code{"call": 0, "cancel": 20013, "accept": 20017, "reject": 20021, "hangup": 20005, "switch": 20025, "switchBad": 20025}},
		{protocol.StateCalling, map[string]protocol.Code{"call": 20002, "cancel": 0, "accept": 20018, "reject": 20022, "hangup": 0, "switch": 20026, "switchBad": 20026}},
		{protocol.StateCalled, map[string]protocol.Code{"call": 20003, "cancel": 20015, "accept": 0, "reject": 0, "hangup": 0, "switch": 20027, "switchBad": 20027}},
		{protocol.StateInCall, map[string]protocol.Code{"call": 20004, "cancel": 20016, "accept": 20020, "reject": 20024, "hangup": 0, "switch": 0, "switchBad": protocol.CodeCallTypeNA}},
	}
	for _, tt := range tests {
		for op, want := range tt.want {
			t.Run(tt.state.String()+"/"+op, func(t *testing.T) {
				e := newTestEngine(t)
				e.mu.Lock()
				e.state = tt.state
				if tt.state != protocol.StateIdle {
					e.cur = &CallInfo{ChannelID: "ch1", Peer: "bob"}
				}
				e.mu.Unlock()
				err := ops[op](e)
				var pe *protocol.Error
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a *protocol.Error", err)
				}
				if want == 0 {
					want = protocol.CodeNotLoggedIn
				}
				if pe.Code != want {
					t.Fatalf("code = %d (%v), want %d", pe.Code, err, want)
				}
				if tt.state == protocol.StateIdle || want != protocol.CodeNotLoggedIn {
					if got := e.State(); got != tt.state {
						t.Fatalf("state changed to %v by a refused operation", got)
					}
				}
			})
		}
	}
}

func TestAcceptWrongInvite(t *testing.T) {
	e := newTestEngine(t)
	e.mu.Lock()
	e.state, e.cur = protocol.StateCalled, &CallInfo{ChannelID: "ch1"}
	e.mu.Unlock()
	err := e.Accept(context.Background(), &protocol.Invite{ChannelID: "other"})
	if protocol.CodeOf(err) != protocol.CodeInviteExpired {
		t.Fatalf("err = %v, want code %d", err, protocol.CodeInviteExpired)
	}
}

func TestSetCallTimeout(t *testing.T) {
	e := newTestEngine(t)
	for _, tt := range []struct {
		d  time.Duration
		ok bool
	}{{time.Second, true}, {120 * time.Second, true}, {999 * time.Millisecond, false}, {121 * time.Second, false}, {0, false}} {
		if err := e.SetCallTimeout(tt.d); (err == nil) != tt.ok {
			t.Errorf("SetCallTimeout(%v) = %v, want ok=%v", tt.d, err, tt.ok)
		}
	}
}

func TestStatusText(t *testing.T) {
	tests := []struct {
		status             int
		zhCaller, zhCallee string
		enCaller, enCallee string
	}{
		{protocol.StatusCompleted, "已完成", "已完成", "Completed", "Completed"},
		{protocol.StatusCanceled, "已取消", "对方已取消", "Canceled", "Canceled by caller"},
		{protocol.StatusRejected, "对方已拒绝", "已拒绝", "Rejected by callee", "Rejected"},
		{protocol.StatusTimeout, "未接听", "未接听", "No answer", "Missed"},
		{protocol.StatusBusy, "对方忙线", "未接听", "Callee busy", "Missed"},
		{9, "", "", "", ""},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			callee bool
			lang   string
			want   string
		}{
			{false, "zh", tt.zhCaller}, {true, "zh", tt.zhCallee}, {false, "", tt.zhCaller},
			{false, "en", tt.enCaller}, {true, "en", tt.enCallee}, {true, "en-US", tt.enCallee},
		} {
			if got := StatusText(tt.status, c.callee, c.lang); got != c.want {
				t.Errorf("StatusText(%d, callee=%v, %q) = %q, want %q", tt.status, c.callee, c.lang, got, c.want)
			}
		}
	}
}

func TestRecordMessageJSON(t *testing.T) {
	r := protocol.Record{Type: protocol.CallVideo, ChannelID: "c1", Status: protocol.StatusBusy, From: "alice", To: "bob",
		Durations: []protocol.Duration{{Accid: "alice", Duration: 0}}}
	for _, tt := range []struct {
		self, text, dir string
	}{{"alice", "对方忙线", DirectionOutgoing}, {"bob", "未接听", DirectionIncoming}} {
		b, err := json.Marshal(newRecordMessage(r, tt.self, "zh"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"type", "channelId", "status", "from", "to", "durations", "text", "direction"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: key %q missing in %s", tt.self, k, b)
			}
		}
		if m["text"] != tt.text || m["direction"] != tt.dir {
			t.Errorf("%s: text=%v direction=%v, want %q %q", tt.self, m["text"], m["direction"], tt.text, tt.dir)
		}
	}
}

func TestEventJSON(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 600700800, time.UTC)
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Name: protocol.EvUserReject, Time: at, Data: protocol.Peer{ChannelID: "c1", UserID: "bob"}},
			`{"event":"USER_REJECT","time":"2025-01-02T03:04:05.6007008Z","data":{"channelId":"c1","userId":"bob"}}`},
		{Event{Name: EvDisconnect, Time: at, Data: DisconnectInfo{Error: "eof", Reconnecting: true}},
			`{"event":"onDisconnect","time":"2025-01-02T03:04:05.6007008Z","data":{"error":"eof","reconnecting":true}}`},
		{Event{Name: protocol.EvMessageSent, Time: at, Data: RecordMessage{Record: protocol.Record{Status: 1}, Text: "已完成", Direction: "outgoing"}},
			`{"event":"MESSAGE_SENT","time":"2025-01-02T03:04:05.6007008Z","data":{"type":0,"channelId":"","status":1,"from":"","to":"","durations":null,"createdAt":0,"endedAt":0,"text":"已完成","direction":"outgoing"}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.ev)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("got  %s\nwant %s", b, tt.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	lo, hi := 200*time.Millisecond, 5*time.Second
	for _, r := range []float64{0, 0.5, 0.999999} {
		rnd := func() float64 { return r }
		prevCeil := time.Duration(0)
		for n := -1; n <= 100; n++ {
			d := backoff(n, lo, hi, rnd)
			if d < lo || d > hi {
				t.Fatalf("backoff(%d) = %v outside [%v, %v]", n, d, lo, hi)
			}
			if r == 0.999999 && n >= 1 {
				if d < prevCeil {
					t.Fatalf("backoff(%d) = %v shrank below %v", n, d, prevCeil)
				}
				prevCeil = d
			}
		}
	}
	if d := backoff(100, lo, hi, func() float64 { return 0 }); d != hi/2 {
		t.Errorf("capped backoff with zero jitter = %v, want %v", d, hi/2)
	}
}

func TestNormalizeServer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "ws://127.0.0.1:7800/v1/ws"},
		{"127.0.0.1:9", "ws://127.0.0.1:9/v1/ws"},
		{"ws://h:1", "ws://h:1/v1/ws"},
		{"ws://h:1/", "ws://h:1/v1/ws"},
		{"ws://h:1/v1/ws", "ws://h:1/v1/ws"},
		{"http://h:1", "ws://h:1/v1/ws"},
		{"https://h/custom", "wss://h/custom"},
		{"ftp://h", ""},
	}
	for _, tt := range tests {
		got, err := normalizeServer(tt.in)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("normalizeServer(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestEventStateMachine drives handleEventLocked with the frames a server
// sends and checks state transitions and what is emitted.
func TestEventStateMachine(t *testing.T) {
	invite := func(ch string) *protocol.Invite {
		return &protocol.Invite{ChannelID: ch, From: "alice", To: "bob", CallType: protocol.CallAudio}
	}
	peer := func(ch string) *protocol.Peer { return &protocol.Peer{ChannelID: ch, UserID: "alice"} }
	type step struct {
		name  string
		data  any
		state protocol.CallState
		emits bool
	}
	tests := []struct {
		name  string
		start protocol.CallState
		steps []step
	}{
		{"invite rings once", protocol.StateIdle, []step{
			{protocol.EvInvited, invite("c1"), protocol.StateCalled, true},
			{protocol.EvInvited, invite("c1"), protocol.StateCalled, false},
			{protocol.EvInvited, invite("c2"), protocol.StateCalled, false},
			{protocol.EvUserCancel, peer("c2"), protocol.StateCalled, true},
			{protocol.EvUserCancel, peer("c1"), protocol.StateIdle, true},
			{protocol.EvInvited, invite("c1"), protocol.StateIdle, false},
		}},
		{"other client accepted", protocol.StateIdle, []step{
			{protocol.EvInvited, invite("c1"), protocol.StateCalled, true},
			{protocol.EvOtherClientAccept, peer("c1"), protocol.StateIdle, true},
		}},
		{"timeout while ringing", protocol.StateIdle, []step{
			{protocol.EvInvited, invite("c1"), protocol.StateCalled, true},
			{protocol.EvCallingTimeout, peer("c1"), protocol.StateIdle, true},
		}},
		{"caller accepted then ended", protocol.StateCalling, []step{
			{protocol.EvUserAccept, peer("other"), protocol.StateCalling, true},
			{protocol.EvUserAccept, peer("c1"), protocol.StateInCall, true},
			{protocol.EvCallTypeChange, &protocol.CallTypeChange{ChannelID: "c1", CallType: protocol.CallAudio, State: "agree"}, protocol.StateInCall, true},
			{protocol.EvMessageSent, &protocol.Record{ChannelID: "zz", Status: 1, From: "bob", To: "alice"}, protocol.StateInCall, true},
			{protocol.EvCallEnd, peer("c1"), protocol.StateIdle, true},
		}},
		{"a record once per call", protocol.StateIdle, []step{
			{protocol.EvMessageSent, &protocol.Record{ChannelID: "r1", Status: 1, From: "bob", To: "alice"}, protocol.StateIdle, true},
			{protocol.EvMessageSent, &protocol.Record{ChannelID: "r1", Status: 1, From: "bob", To: "alice"}, protocol.StateIdle, false},
			{protocol.EvMessageSent, &protocol.Record{ChannelID: "r2", Status: 2, From: "bob", To: "alice"}, protocol.StateIdle, true},
		}},
		{"busy", protocol.StateCalling, []step{{protocol.EvUserBusy, peer("c1"), protocol.StateIdle, true}}},
		{"reject", protocol.StateCalling, []step{{protocol.EvUserReject, peer("c1"), protocol.StateIdle, true}}},
		{"other client rejected", protocol.StateCalled, []step{{protocol.EvOtherClientReject, peer("c1"), protocol.StateIdle, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t)
			var mu sync.Mutex
			var got []string
			e.On(AllEvents, func(ev Event) {
				mu.Lock()
				got = append(got, ev.Name)
				mu.Unlock()
			})
			e.mu.Lock()
			e.account = "bob"
			e.state = tt.start
			if tt.start != protocol.StateIdle {
				e.cur = &CallInfo{ChannelID: "c1", Peer: "alice", CallType: protocol.CallVideo}
			}
			e.mu.Unlock()
			var want []string
			for i, s := range tt.steps {
				e.mu.Lock()
				e.handleEventLocked(s.name, s.data)
				st := e.state
				e.mu.Unlock()
				if st != s.state {
					t.Fatalf("step %d %s: state %v, want %v", i, s.name, st, s.state)
				}
				if s.emits {
					want = append(want, s.name)
				}
			}
			waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(want) })
			time.Sleep(20 * time.Millisecond) // nothing extra may follow
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("emitted %v, want %v", got, want)
			}
		})
	}
}

// TestEarlyEventsStashed: USER_BUSY that overtakes the call reply is held
// until the channel id is known, then applied.
func TestEarlyEventsStashed(t *testing.T) {
	e := newTestEngine(t)
	ci := &CallInfo{Peer: "bob", Outgoing: true}
	e.mu.Lock()
	e.state, e.cur = protocol.StateCalling, ci
	e.handleEventLocked(protocol.EvUserBusy, &protocol.Peer{ChannelID: "c9", UserID: "bob"})
	if e.state != protocol.StateCalling || len(e.early) != 1 {
		t.Fatalf("state %v early %d", e.state, len(e.early))
	}
	ci.ChannelID = "c9"
	e.replayEarlyLocked()
	st := e.state
	e.mu.Unlock()
	if st != protocol.StateIdle {
		t.Fatalf("state %v after replay, want idle", st)
	}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name   string
		start  protocol.CallState
		calls  []protocol.ChannelState
		state  protocol.CallState
		events []string
	}{
		{"ended meanwhile", protocol.StateInCall, nil, protocol.StateIdle, []string{protocol.EvCallEnd}},
		{"resumed", protocol.StateInCall, []protocol.ChannelState{{ChannelID: "c1", State: protocol.ChannelActive, From: "bob", To: "alice"}}, protocol.StateInCall, nil},
		{"accepted meanwhile", protocol.StateCalling, []protocol.ChannelState{{ChannelID: "c1", State: protocol.ChannelActive, From: "bob", To: "alice"}}, protocol.StateInCall, []string{protocol.EvUserAccept}},
		{"still ringing", protocol.StateCalled, []protocol.ChannelState{{ChannelID: "c1", State: protocol.ChannelRinging, From: "alice", To: "bob"}}, protocol.StateCalled, nil},
		{"pending invite", protocol.StateIdle, []protocol.ChannelState{{ChannelID: "c7", State: protocol.ChannelRinging, From: "alice", To: "bob"}}, protocol.StateCalled, []string{protocol.EvInvited}},
		{"adopt active", protocol.StateIdle, []protocol.ChannelState{{ChannelID: "c7", State: protocol.ChannelActive, From: "alice", To: "bob"}}, protocol.StateInCall, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t)
			e.mu.Lock()
			e.account = "bob"
			e.state = tt.start
			if tt.start != protocol.StateIdle {
				e.cur = &CallInfo{ChannelID: "c1", Peer: "alice"}
			}
			e.reconcileLocked(tt.calls)
			st := e.state
			e.mu.Unlock()
			if st != tt.state {
				t.Fatalf("state %v, want %v", st, tt.state)
			}
			var got []string
			for range tt.events {
				select {
				case ev := <-e.Events():
					got = append(got, ev.Name)
				case <-time.After(2 * time.Second):
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.events, ",") {
				t.Fatalf("events %v, want %v", got, tt.events)
			}
			if tt.name == "pending invite" {
				e.mu.Lock()
				e.toIdleLocked()
				e.reconcileLocked(tt.calls) // the same invite again must not ring twice
				st := e.state
				e.mu.Unlock()
				if st != protocol.StateIdle {
					t.Fatalf("re-delivered invite rang again")
				}
			}
		})
	}
}

// TestSlowConsumerNeverBlocks: nobody reads Events and a handler is slow,
// yet emitting stays instantaneous and everything arrives in order.
func TestSlowConsumerNeverBlocks(t *testing.T) {
	e := newTestEngine(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []int
	e.On("X", func(ev Event) {
		<-release
		mu.Lock()
		seen = append(seen, ev.Data.(int))
		mu.Unlock()
	})
	const n = 10000
	start := time.Now()
	for i := range n {
		e.bus.emit("X", i)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("emitting %d events took %v", n, d)
	}
	close(release)
	for i := range n {
		ev := <-e.Events()
		if ev.Data.(int) != i {
			t.Fatalf("channel event %d carries %v", i, ev.Data)
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n })
	for i, v := range seen {
		if v != i {
			t.Fatalf("handler event %d carries %d", i, v)
		}
	}
}

func TestOnOff(t *testing.T) {
	e := newTestEngine(t)
	var mu sync.Mutex
	count := map[string]int{}
	inc := func(k string) func(Event) {
		return func(Event) { mu.Lock(); count[k]++; mu.Unlock() }
	}
	a := e.On("A", inc("a1"))
	e.On("A", inc("a2"))
	e.On(AllEvents, inc("all"))
	e.On("A", func(Event) { panic("handler bug") }) // must not kill dispatch
	all := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return count["all"] == n }
	}
	// Dispatch is asynchronous: wait for each event before changing handlers.
	e.bus.emit("A", nil)
	waitFor(t, all(1))
	e.Off("A", a)
	e.bus.emit("A", nil)
	waitFor(t, all(2))
	e.Off("A", 0)
	e.bus.emit("A", nil)
	e.bus.emit("done", nil)
	waitFor(t, all(4))
	mu.Lock()
	defer mu.Unlock()
	if count["a1"] != 1 || count["a2"] != 2 {
		t.Fatalf("counts %v", count)
	}
}

func TestLoginUnreachable(t *testing.T) {
	e := newTestEngine(t)
	err := e.Login(context.Background(), "alice", "tok")
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err = %v, want unreachable", err)
	}
	if err := e.Login(context.Background(), "bad.account", "tok"); protocol.CodeOf(err) != protocol.CodeBadRequest {
		t.Fatalf("bad account: %v", err)
	}
}

func TestCloseReleasesGoroutines(t *testing.T) {
	checkNoEngineGoroutines(t) // other tests cleaned up
	var es []*Engine
	for range 5 {
		es = append(es, New(Config{}))
	}
	if len(engineGoroutines()) == 0 {
		t.Fatal("leak detector sees no engine goroutines; it would miss leaks")
	}
	for _, e := range es {
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := <-e.Events(); ok {
			t.Fatal("Events not closed")
		}
	}
	checkNoEngineGoroutines(t)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
