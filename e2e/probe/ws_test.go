//go:build probe

package probe

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// frame is one server frame as received.
type frame struct {
	V     int             `json:"v"`
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Event string          `json:"event"`
	Code  int             `json:"code"`
	Error string          `json:"error"`
	Data  json.RawMessage `json:"data"`
	Raw   []byte          `json:"-"`
}

func (f frame) data() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(f.Data, &m)
	return m
}

func (f frame) str(key string) string {
	s, _ := f.data()[key].(string)
	return s
}

// wsc is a raw protocol client: requests by id, events collected in order.
type wsc struct {
	t    *testing.T
	c    *websocket.Conn
	wmu  sync.Mutex
	mu   sync.Mutex
	cond *sync.Cond
	seq  int

	replies map[string]frame
	events  []frame
	all     []frame
	closed  bool
	closeCE *websocket.CloseError
	readErr error

	account, device string
}

func insecureClient() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func dialWS(t *testing.T, url string) *wsc {
	t.Helper()
	w, err := tryDialWS(t, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return w
}

func tryDialWS(t *testing.T, url string, h http.Header) (*wsc, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	c, _, err := d.Dial(url, h)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 22)
	w := &wsc{t: t, c: c, replies: map[string]frame{}}
	w.cond = sync.NewCond(&w.mu)
	go w.readLoop()
	t.Cleanup(func() { _ = c.Close() })
	return w, nil
}

func (w *wsc) readLoop() {
	for {
		_, b, err := w.c.ReadMessage()
		w.mu.Lock()
		if err != nil {
			w.closed = true
			w.readErr = err
			if ce, ok := err.(*websocket.CloseError); ok {
				w.closeCE = ce
			}
			w.cond.Broadcast()
			w.mu.Unlock()
			return
		}
		var f frame
		_ = json.Unmarshal(b, &f)
		f.Raw = b
		w.all = append(w.all, f)
		if f.Type == "reply" {
			w.replies[f.ID] = f
		} else {
			w.events = append(w.events, f)
		}
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// waitFor waits until cond (called with w.mu held) is true or timeout.
func (w *wsc) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		w.cond.Wait()
	}
	return true
}

func (w *wsc) sendRaw(typ int, b []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return w.c.WriteMessage(typ, b)
}

// send sends a request and returns its id.
func (w *wsc) send(typ string, data any) string {
	w.mu.Lock()
	w.seq++
	id := strconv.Itoa(w.seq)
	w.mu.Unlock()
	m := map[string]any{"v": 1, "type": typ, "id": id}
	if data != nil {
		m["data"] = data
	}
	b, _ := json.Marshal(m)
	_ = w.sendRaw(websocket.TextMessage, b)
	return id
}

// reply waits for the reply to id; ok false on timeout or close.
func (w *wsc) reply(id string, timeout time.Duration) (frame, bool) {
	var f frame
	ok := w.waitFor(timeout, func() bool {
		var have bool
		f, have = w.replies[id]
		return have || w.closed
	})
	w.mu.Lock()
	f, have := w.replies[id]
	w.mu.Unlock()
	return f, ok && have
}

// req sends and waits for the reply (10 s).
func (w *wsc) req(typ string, data any) frame {
	w.t.Helper()
	id := w.send(typ, data)
	f, ok := w.reply(id, 10*time.Second)
	if !ok {
		w.t.Fatalf("no reply to %s %v (closed=%v err=%v)", typ, data, w.isClosed(), w.readErr)
	}
	return f
}

// rawReq sends raw bytes and waits for the next reply frame with the id
// (or any reply without an id when id is "").
func (w *wsc) rawReq(b []byte, id string, timeout time.Duration) (frame, bool) {
	w.mu.Lock()
	n := len(w.all)
	w.mu.Unlock()
	_ = w.sendRaw(websocket.TextMessage, b)
	var got frame
	ok := w.waitFor(timeout, func() bool {
		for _, f := range w.all[n:] {
			if f.Type == "reply" && f.ID == id {
				got = f
				return true
			}
		}
		return w.closed
	})
	return got, ok && got.Type == "reply"
}

func (w *wsc) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// waitEvent waits for the next event named name after index from; returns
// it and its index.
func (w *wsc) waitEvent(name string, timeout time.Duration) (frame, bool) {
	var got frame
	ok := w.waitFor(timeout, func() bool {
		for _, f := range w.events {
			if f.Event == name {
				got = f
				return true
			}
		}
		return false
	})
	return got, ok
}

// waitEventWhere waits for an event named name whose data satisfies pred.
func (w *wsc) waitEventWhere(name string, timeout time.Duration, pred func(frame) bool) (frame, bool) {
	var got frame
	ok := w.waitFor(timeout, func() bool {
		for _, f := range w.events {
			if f.Event == name && pred(f) {
				got = f
				return true
			}
		}
		return false
	})
	return got, ok
}

func (w *wsc) eventsNamed(name string) []frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []frame
	for _, f := range w.events {
		if f.Event == name {
			out = append(out, f)
		}
	}
	return out
}

func (w *wsc) clearEvents() {
	w.mu.Lock()
	w.events = nil
	w.mu.Unlock()
}

// waitClosed waits for the connection to close; returns the close error.
func (w *wsc) waitClosed(timeout time.Duration) (*websocket.CloseError, bool) {
	ok := w.waitFor(timeout, func() bool { return w.closed })
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeCE, ok
}

var deviceSeq struct {
	sync.Mutex
	n int
}

func newDevice() string {
	deviceSeq.Lock()
	defer deviceSeq.Unlock()
	deviceSeq.n++
	return fmt.Sprintf("probe%d%d", time.Now().UnixNano()%1000000, deviceSeq.n)
}

// login dials and logs in; fatal when refused.
func login(t *testing.T, sp *serveProc, account, token string) *wsc {
	t.Helper()
	w := dialWS(t, sp.url)
	w.account, w.device = account, newDevice()
	r := w.req("login", map[string]any{"account": account, "token": token, "device": w.device, "checkSum": true})
	if r.Code != 0 {
		t.Fatalf("login %s: %d %s", account, r.Code, r.Error)
	}
	return w
}

// tryLogin dials and logs in, returning the reply.
func tryLogin(t *testing.T, sp *serveProc, account, token string) (*wsc, frame) {
	t.Helper()
	w := dialWS(t, sp.url)
	w.account, w.device = account, newDevice()
	r := w.req("login", map[string]any{"account": account, "token": token, "device": w.device, "checkSum": true})
	return w, r
}

// call places a call from w to peer and returns the channel id.
func (w *wsc) call(t *testing.T, peer string, extra map[string]any) string {
	t.Helper()
	d := map[string]any{"to": peer, "callType": 1}
	for k, v := range extra {
		d[k] = v
	}
	r := w.req("call", d)
	if r.Code != 0 {
		t.Fatalf("call %s→%s: %d %s", w.account, peer, r.Code, r.Error)
	}
	return r.str("channelId")
}

// connect sets up an active call caller→callee and returns the channel and
// both media tokens.
func connect(t *testing.T, caller, callee *wsc) (ch, callerTok, calleeTok string) {
	t.Helper()
	ch = caller.call(t, callee.account, nil)
	if _, ok := callee.waitEventWhere("INVITED", 10*time.Second, func(f frame) bool { return f.str("channelId") == ch }); !ok {
		t.Fatalf("%s got no INVITED for %s", callee.account, ch)
	}
	r := callee.req("accept", map[string]any{"channelId": ch})
	if r.Code != 0 {
		t.Fatalf("accept: %d %s", r.Code, r.Error)
	}
	calleeTok = r.str("mediaToken")
	ev, ok := caller.waitEventWhere("USER_ACCEPT", 10*time.Second, func(f frame) bool { return f.str("channelId") == ch })
	if !ok {
		t.Fatalf("no USER_ACCEPT")
	}
	return ch, ev.str("mediaToken"), calleeTok
}
