// Package e2e runs the call engine against a real softphone server: embedded
// NATS/JetStream on a temporary directory and real WebSockets on loopback.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/servertest"
	"github.com/softphone/softphone/server"
)

// waitTimeout bounds every wait for an event; tests never assert timings,
// this only turns a hang into a failure.
const waitTimeout = 10 * time.Second

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("E2E_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// startServer runs a server on 127.0.0.1:0 with its own data directory,
// logging to stderr when E2E_LOG is set.
func startServer(t *testing.T, mod func(*server.Config)) *server.Server {
	t.Helper()
	return servertest.Start(t, func(c *server.Config) {
		c.Logger = testLogger(t)
		if mod != nil {
			mod(c)
		}
	})
}

// device is one logged-in engine plus the events it has produced.
type device struct {
	*call.Engine
	t    *testing.T
	name string
	cut  *servertest.Cutter
	seen []call.Event // every event read so far
	next int          // index in seen of the first event not yet matched
}

type devOpts struct {
	lang     string
	device   string
	checkSum *bool
	token    *string // nil: the account's token
	media    *call.MediaConfig
	servers  string // the engine's server list; "" = the server's URL
}

func newDevice(t *testing.T, srv *server.Server, account, token string, o devOpts) *device {
	t.Helper()
	d, err := tryDevice(t, srv, account, token, o)
	if err != nil {
		t.Fatalf("login %s: %v", account, err)
	}
	return d
}

func tryDevice(t *testing.T, srv *server.Server, account, token string, o devOpts) (*device, error) {
	t.Helper()
	cut := &servertest.Cutter{}
	servers := o.servers
	if servers == "" {
		servers = srv.URL()
	}
	e := call.New(call.Config{
		Server:         servers,
		Device:         o.device,
		CheckSum:       o.checkSum,
		Language:       o.lang,
		Logger:         testLogger(t),
		RequestTimeout: 5 * time.Second,
		ReconnectMin:   50 * time.Millisecond,
		ReconnectMax:   300 * time.Millisecond,
		DialContext:    cut.Dial,
		Media:          o.media,
	})
	t.Cleanup(func() { _ = e.Close() })
	if o.token != nil {
		token = *o.token
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Login(ctx, account, token); err != nil {
		return nil, err
	}
	name := account + "/" + e.Device()
	return &device{Engine: e, t: t, name: name, cut: cut}, nil
}

// read returns the next unread event, waiting up to d.
func (d *device) read(wait time.Duration) (call.Event, bool) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case ev, ok := <-d.Events():
		if !ok {
			return call.Event{}, false
		}
		d.seen = append(d.seen, ev)
		return ev, true
	case <-timer.C:
		return call.Event{}, false
	}
}

// wait returns the next event called name (for channel ch when ch != ""),
// skipping PRESENCE; any other event in between fails the test, so the
// order of events is checked too.
func (d *device) wait(name, ch string) call.Event {
	d.t.Helper()
	for {
		if d.next >= len(d.seen) {
			if _, ok := d.read(waitTimeout); !ok {
				d.t.Fatalf("%s: no %s event; saw %s", d.name, name, d.history())
			}
		}
		ev := d.seen[d.next]
		d.next++
		if ev.Name == protocol.EvPresence {
			continue
		}
		if ev.Name != name || (ch != "" && ev.ChannelID() != ch) {
			d.t.Fatalf("%s: got %s for %q while waiting for %s on %q; saw %s", d.name, ev.Name, ev.ChannelID(), name, ch, d.history())
		}
		return ev
	}
}

// quiet checks that no event other than PRESENCE arrives for a while.
func (d *device) quiet(wait time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		ev, ok := d.read(left)
		if !ok {
			return
		}
		d.next = len(d.seen)
		if ev.Name != protocol.EvPresence {
			d.t.Fatalf("%s: unexpected %s: %s", d.name, ev.Name, mustJSON(ev))
		}
	}
}

func (d *device) history() string {
	var b strings.Builder
	for i, ev := range d.seen {
		if i == d.next-1 {
			b.WriteString("→")
		}
		b.WriteString(mustJSON(ev))
		b.WriteString("\n")
	}
	return "\n" + b.String()
}

func (d *device) state(want protocol.CallState) {
	d.t.Helper()
	if got := d.State(); got != want {
		d.t.Fatalf("%s: state %v, want %v", d.name, got, want)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// users creates accounts and returns their tokens.
func users(t *testing.T, srv *server.Server, accounts ...string) map[string]string {
	t.Helper()
	toks := make(map[string]string)
	for _, a := range accounts {
		tok, err := srv.CreateUser(ctxT(t), a, strings.ToUpper(a[:1])+a[1:])
		if err != nil {
			t.Fatalf("create %s: %v", a, err)
		}
		toks[a] = tok
	}
	return toks
}

// checkNoEngineGoroutines fails t when goroutines of package call outlive
// the engines (registered first, so it runs after every engine's Close).
func checkNoEngineGoroutines(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			leaked := engineGoroutines()
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d engine goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func engineGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "softphone/softphone/call.(*") {
			out = append(out, g)
		}
	}
	return out
}

// statusTexts is the seed's statusMap with the English column, spelled out
// here rather than derived from call.StatusText so a regression shows.
var statusTexts = map[int]struct{ callerZh, calleeZh, callerEn, calleeEn string }{
	protocol.StatusCompleted: {"已完成", "已完成", "Completed", "Completed"},
	protocol.StatusCanceled:  {"已取消", "对方已取消", "Canceled", "Canceled by caller"},
	protocol.StatusRejected:  {"对方已拒绝", "已拒绝", "Rejected by callee", "Rejected"},
	protocol.StatusTimeout:   {"未接听", "未接听", "No answer", "Missed"},
	protocol.StatusBusy:      {"对方忙线", "未接听", "Callee busy", "Missed"},
}

// expectRecord checks a MESSAGE_SENT event for the channel with the text
// this device shows.
func expectRecord(t *testing.T, ev call.Event, ch string, status int, from, to string, callee bool, lang string) call.RecordMessage {
	t.Helper()
	rm, ok := ev.Data.(call.RecordMessage)
	if !ok {
		t.Fatalf("MESSAGE_SENT data is %T", ev.Data)
	}
	want := statusTexts[status]
	text := map[[2]bool]string{{false, false}: want.callerZh, {true, false}: want.calleeZh, {false, true}: want.callerEn, {true, true}: want.calleeEn}[[2]bool{callee, lang == "en"}]
	dir := call.DirectionOutgoing
	if callee {
		dir = call.DirectionIncoming
	}
	if rm.ChannelID != ch || rm.Status != status || rm.From != from || rm.To != to || rm.Text != text || rm.Direction != dir {
		t.Fatalf("record %s, want channel %s status %d %s→%s text %q direction %s", mustJSON(rm), ch, status, from, to, text, dir)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(mustJSON(ev)), &m); err != nil {
		t.Fatal(err)
	}
	data, _ := m["data"].(map[string]any)
	for _, k := range []string{"status", "text", "type", "channelId", "from", "to", "durations"} {
		if _, ok := data[k]; !ok {
			t.Fatalf("MESSAGE_SENT JSON lacks %q: %s", k, mustJSON(ev))
		}
	}
	return rm
}

func boolPtr(b bool) *bool { return &b }
