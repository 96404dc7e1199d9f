//go:build probe

package probe

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// evil is what a hostile peer or server puts in every string it controls:
// retitle the terminal (OSC 0), clear the screen, a 24-bit colour, a bidi
// override, an 8-bit CSI, a BEL and a lone carriage return.
const evil = "\x1b]0;pwned\x07\x1b[2J\x1b[38;2;1;2;3mEVIL\u202eLIVE\u009b31m\r\x1b[1;1H"

// evilMarkers are byte strings that must never reach a terminal raw.
// (Each includes a neighbour from evil: the TUI writes ESC [2J itself.)
var evilMarkers = []string{"\x1b]0;pwned", "\x07\x1b[2J", "\x1b[38;2;1;2;3mEVIL", "\u202eLIVE", "\u009b31m", "31m\r\x1b[1;1H"}

// hostileServer speaks the softphone protocol and admin API, and puts evil
// into every string a client shows: nicknames, accounts, attachments, error
// texts, records, contacts.
type hostileServer struct {
	t   *testing.T
	srv *http.Server
	ln  net.Listener
	url string // ws://…/v1/ws
	mu  sync.Mutex
	// invite pushes an INVITED with evil strings after login.
	invite bool
}

func startHostile(t *testing.T, invite bool) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileServer{t: t, ln: ln, url: "ws://" + ln.Addr().String() + "/v1/ws", invite: invite}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/ws", h.ws)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/admin/v1/users", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_ = json.NewEncoder(w).Encode(map[string]any{"users": []map[string]any{
				{"account": "alice" + evil, "name": evil, "createdAt": time.Now()},
				{"account": "bob", "name": "Bob" + evil},
			}})
			return
		}
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 400, "error": "refused " + evil})
	})
	mux.HandleFunc("/admin/v1/users/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/token") {
			_ = json.NewEncoder(w).Encode(map[string]any{"account": "alice" + evil, "token": "tok" + evil})
			return
		}
		w.WriteHeader(404)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 404, "error": "no such " + evil})
	})
	h.srv = &http.Server{Handler: mux}
	go func() { _ = h.srv.Serve(ln) }()
	t.Cleanup(func() { _ = h.srv.Close() })
	return h
}

func (h *hostileServer) ws(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	var wmu sync.Mutex
	write := func(m map[string]any) {
		m["v"] = 1
		b, _ := json.Marshal(m)
		wmu.Lock()
		defer wmu.Unlock()
		_ = c.WriteMessage(websocket.TextMessage, b)
	}
	reply := func(id string, data any) { write(map[string]any{"type": "reply", "id": id, "data": data}) }
	fail := func(id string, code int) {
		write(map[string]any{"type": "reply", "id": id, "code": code, "error": "hostile " + evil})
	}
	event := func(name string, data any) { write(map[string]any{"type": "event", "event": name, "data": data}) }
	now := time.Now().UnixMilli()
	record := func(ch, from, to string, status int) map[string]any {
		return map[string]any{"type": 1, "channelId": ch, "status": status, "from": from, "to": to,
			"durations": []map[string]any{{"accid": from, "duration": 3}, {"accid": to, "duration": 3}},
			"createdAt": now - 60000, "endedAt": now - 57000}
	}
	var me string
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		var m struct {
			Type string          `json:"type"`
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(b, &m)
		var d map[string]any
		_ = json.Unmarshal(m.Data, &d)
		switch m.Type {
		case "login":
			me, _ = d["account"].(string)
			if me == "baduser" {
				fail(m.ID, 401)
				continue
			}
			reply(m.ID, map[string]any{"account": me, "nickName": "Me" + evil, "device": d["device"], "node": "n" + evil,
				"serverTime": now, "defaultTimeoutMs": 30000, "maxTimeoutMs": 120000})
			if h.invite {
				go func() {
					time.Sleep(500 * time.Millisecond)
					event("INVITED", map[string]any{"channelId": "chEvil", "requestId": "rq", "channelName": "chEvil",
						"from": "bob", "fromNick": "Bob" + evil, "to": me, "callType": 2,
						"attachment": map[string]any{"note": evil, evil: 1}, "createdAt": time.Now().UnixMilli(),
						"expiresAt": time.Now().Add(60 * time.Second).UnixMilli()})
					event("PRESENCE", map[string]any{"account": "bob", "presence": "online" + evil})
					time.Sleep(4 * time.Second)
					event("USER_CANCEL", map[string]any{"channelId": "chEvil", "userId": "bob" + evil})
					event("MESSAGE_SENT", record("chEvil", "bob"+evil, me, 2))
				}()
			}
		case "ping":
			reply(m.ID, map[string]any{"serverTime": time.Now().UnixMilli()})
		case "contacts", "contact.add", "contact.remove":
			reply(m.ID, map[string]any{"contacts": []map[string]any{
				{"account": "bob", "nickName": "Bob" + evil, "presence": "online"},
				{"account": "carol" + evil, "nickName": evil, "presence": "offline" + evil},
			}})
		case "records":
			if _, ok := d["channelId"]; ok {
				reply(m.ID, map[string]any{"records": []any{}})
				continue
			}
			reply(m.ID, map[string]any{"records": []any{
				record("r1", "bob"+evil, me, 1), record("r2", me, "carol"+evil, 3),
			}})
		case "call":
			to, _ := d["to"].(string)
			if to == "err" {
				fail(m.ID, 404)
				continue
			}
			if to == "media" {
				// Accepted; then the "peer" sends a no-media warning and
				// a mute control full of escapes, and hangs up.
				reply(m.ID, map[string]any{"channelId": "chMed", "requestId": "rq3", "channelName": "chMed",
					"createdAt": now, "expiresAt": now + 30000, "calleeOnline": true})
				go func() {
					time.Sleep(300 * time.Millisecond)
					event("USER_ACCEPT", map[string]any{"channelId": "chMed", "userId": "media", "device": "dev1",
						"mediaToken": "v1.9999999999.c2VjcmV0", "tokenExpiresAt": now + 600000})
					time.Sleep(300 * time.Millisecond)
					event("RELAY", map[string]any{"channelId": "chMed", "from": "media", "fromDevice": "dev1", "kind": "control",
						"payload": map[string]any{"mediaWarning": map[string]any{"kind": "noMedia" + evil, "error": "peer says " + evil}}})
					event("RELAY", map[string]any{"channelId": "chMed", "from": "media", "fromDevice": "dev1", "kind": "control" + evil,
						"payload": map[string]any{"audioMuted": true}})
					time.Sleep(500 * time.Millisecond)
					event("CALL_END", map[string]any{"channelId": "chMed", "userId": "media", "device": "dev1", "reason": "hangup" + evil})
					event("MESSAGE_SENT", record("chMed", me, "media", 1))
				}()
				continue
			}
			reply(m.ID, map[string]any{"channelId": "chOut", "requestId": "rq2", "channelName": "chOut",
				"createdAt": now, "expiresAt": now + 30000, "calleeOnline": true})
			go func() {
				time.Sleep(300 * time.Millisecond)
				event("USER_REJECT", map[string]any{"channelId": "chOut", "userId": to + evil, "device": "d" + evil})
				event("MESSAGE_SENT", record("chOut", me, to+evil, 3))
			}()
		case "iceServers":
			reply(m.ID, map[string]any{"iceServers": []any{}, "serverTime": now})
		default:
			reply(m.ID, map[string]any{})
		}
	}
}
