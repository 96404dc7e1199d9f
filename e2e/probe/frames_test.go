//go:build probe

package probe

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFrames: malformed and hostile frames are answered and change nothing.
func TestFrames(t *testing.T) {
	sp := startServe(t, "")
	at := sp.createUser("alice", "")
	bt := sp.createUser("bob", "")

	expect := func(t *testing.T, w *wsc, raw string, id string, want ...int) {
		t.Helper()
		f, ok := w.rawReq([]byte(raw), id, 5*time.Second)
		if !ok {
			t.Errorf("%.80q: no reply (closed=%v)", raw, w.isClosed())
			return
		}
		for _, c := range want {
			if f.Code == c {
				return
			}
		}
		t.Errorf("%.80q: code %d %q, want %v", raw, f.Code, f.Error, want)
	}

	probeCase(t, "M01", "frames of 64–256 KiB: 413 and the connection stays", func(t *testing.T) {
		w := login(t, sp, "alice", at)
		big := `{"v":1,"type":"ping","id":"big","data":{"x":"` + strings.Repeat("a", 100<<10) + `"}}`
		expect(t, w, big, "", 413)
		if r := w.req("ping", nil); r.Code != 0 {
			t.Errorf("ping after: %d", r.Code)
		}
	})
	probeCase(t, "M02", "a frame over 256 KiB closes with 1009", func(t *testing.T) {
		w := login(t, sp, "alice", at)
		_ = w.sendRaw(websocket.TextMessage, []byte(`{"v":1,"type":"ping","id":"x","data":"`+strings.Repeat("a", 300<<10)+`"}`))
		ce, ok := w.waitClosed(5 * time.Second)
		if !ok || ce == nil || ce.Code != 1009 {
			t.Errorf("close: %v %v", ce, ok)
		}
	})
	probeCase(t, "M03", "deeply nested JSON (envelope, attachment, relay payload): 400", func(t *testing.T) {
		w := login(t, sp, "alice", at)
		deep := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)
		expect(t, w, `{"v":1,"type":"ping","id":"d1","data":`+deep+`}`, "", 400)
		att := strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600)
		expect(t, w, `{"v":1,"type":"call","id":"d2","data":{"to":"bob","callType":1,"attachment":`+att+`}}`, "d2", 400, 413, 0)
		if r := w.req("ping", nil); r.Code != 0 {
			t.Errorf("ping after: %d", r.Code)
		}
		// If the deep attachment was accepted, cancel that call.
		b := login(t, sp, "bob", bt)
		if inv, ok := b.waitEvent("INVITED", time.Second); ok {
			w.req("cancel", map[string]any{"channelId": inv.str("channelId")})
		}
	})
	probeCase(t, "M04", "wrong types, unknown types, bad versions: 400/426", func(t *testing.T) {
		w := login(t, sp, "alice", at)
		cases := []struct{ raw, id string }{
			{`{"v":1,"type":"call","id":"t1","data":{"to":5,"callType":1}}`, "t1"},
			{`{"v":1,"type":"call","id":"t2","data":{"to":"bob","callType":"1"}}`, "t2"},
			{`{"v":1,"type":"call","id":"t3","data":{"to":"bob","callType":3}}`, "t3"},
			{`{"v":1,"type":"call","id":"t4","data":{"to":"bob","callType":1,"timeoutMs":1e309}}`, "t4"},
			{`{"v":1,"type":"call","id":"t5","data":{"to":"bob","callType":1,"timeoutMs":-5}}`, "t5"},
			{`{"v":1,"type":"call","id":"t6","data":{"to":"bob","callType":1,"timeoutMs":1.5}}`, "t6"},
			{`{"v":1,"type":"call","id":"t7","data":{"to":["bob"],"callType":1}}`, "t7"},
			{`{"v":1,"type":"call","id":"t8","data":null}`, "t8"},
			{`{"v":1,"type":"call","id":"t9","data":"bob"}`, "t9"},
			{`{"v":1,"type":"call","id":"t10","data":{"to":"../bob","callType":1}}`, "t10"},
			{`{"v":1,"type":"call","id":"t11","data":{"to":"bob.>","callType":1}}`, "t11"},
			{`{"v":1,"type":"call","id":"t12","data":{"to":"bob*","callType":1}}`, "t12"},
			{`{"v":1,"type":"records","id":"t13","data":{"limit":100000}}`, "t13"},
			{`{"v":1,"type":"records","id":"t14","data":{"cursor":"-1"}}`, "t14"},
			{`{"v":1,"type":"records","id":"t15","data":{"cursor":"99999999999999999999"}}`, "t15"},
			{`{"v":1,"type":"nosuch","id":"t16"}`, "t16"},
			{`{"v":1,"type":"","id":"t17"}`, "t17"},
			{`{"v":1,"type":"relay","id":"t18","data":{"channelId":"x","token":"t","kind":"evil","payload":{}}}`, "t18"},
			{`{"v":1,"type":"switch","id":"t19","data":{"channelId":"x","callType":2,"state":"hack"}}`, "t19"},
			{`{"v":1,"type":"login","id":"t20","data":{}}`, "t20"},
		}
		for _, c := range cases {
			expect(t, w, c.raw, c.id, 400, 106, 413)
		}
		expect(t, w, `{"v":2,"type":"ping","id":"v2"}`, "v2", 426)
		expect(t, w, `{"v":0,"type":"ping","id":"v0"}`, "v0", 426)
		expect(t, w, `{"type":"ping","id":"v-"}`, "v-", 426, 400)
		if r := w.req("ping", nil); r.Code != 0 {
			t.Errorf("ping after: %d", r.Code)
		}
	})
	probeCase(t, "M05", "not JSON objects, trailing data, invalid UTF-8, binary frames: 400, connection stays", func(t *testing.T) {
		w := login(t, sp, "alice", at)
		for _, raw := range []string{``, `null`, `[]`, `5`, `"x"`, `{`, `{"v":1,"type":"ping","id":"a"} {"v":1}`,
			"{\"v\":1,\"type\":\"p\xffng\",\"id\":\"u1\"}", "{\"v\":1,\"type\":\"ping\",\"id\":\"\xff\xfe\"}",
			`{"v":1,"type":"ping","id":"dup","id":"dup2"}`, "\xef\xbb\xbf{\"v\":1,\"type\":\"ping\",\"id\":\"bom\"}"} {
			_ = w.sendRaw(websocket.TextMessage, []byte(raw))
		}
		_ = w.sendRaw(websocket.BinaryMessage, []byte(`{"v":1,"type":"ping","id":"bin"}`))
		_ = w.sendRaw(websocket.BinaryMessage, []byte{0, 1, 2, 0xff})
		time.Sleep(500 * time.Millisecond)
		if r := w.req("ping", nil); r.Code != 0 || w.isClosed() {
			t.Fatalf("ping after: %d closed=%v", r.Code, w.isClosed())
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, f := range w.all {
			if f.Type == "reply" && f.Code == 0 && (f.ID == "a" || f.ID == "bin" || f.ID == "u1" || f.ID == "bom") {
				t.Errorf("served: %s", f.Raw)
			}
		}
	})
	probeCase(t, "M06", "requests before login: 440", func(t *testing.T) {
		w := dialWS(t, sp.url)
		for _, typ := range []string{"call", "contacts", "records", "iceServers", "ping", "logout"} {
			r := w.req(typ, nil)
			if r.Code != 440 && r.Code != 400 {
				t.Errorf("%s before login: %d", typ, r.Code)
			}
		}
	})
	probeCase(t, "M07", "field limits: attachment 4 KiB, relay payload 48 KiB, ids 64, client 128, token 256", func(t *testing.T) {
		w := login(t, sp, "alice", at)
		att := `"` + strings.Repeat("a", 4<<10) + `"`
		expect(t, w, `{"v":1,"type":"call","id":"l1","data":{"to":"bob","callType":1,"attachment":`+att+`}}`, "l1", 413)
		sdp := "v=0\\r\\nm=audio 9 UDP 0\\r\\n" + strings.Repeat("a=x:y\\r\\n", 7000)
		expect(t, w, `{"v":1,"type":"relay","id":"l2","data":{"channelId":"x","token":"t","kind":"offer","payload":{"type":"offer","sdp":"`+sdp+`"}}}`, "l2", 413)
		expect(t, w, `{"v":1,"type":"call","id":"l3","data":{"to":"`+strings.Repeat("b", 65)+`","callType":1}}`, "l3", 400)
		expect(t, w, `{"v":1,"type":"ping","id":"`+strings.Repeat("i", 65)+`"}`, "", 400)
		w2 := dialWS(t, sp.url)
		expect(t, w2, `{"v":1,"type":"login","id":"l5","data":{"account":"alice","token":"`+at+`","device":"d","checkSum":true,"client":"`+strings.Repeat("c", 129)+`"}}`, "l5", 400)
		expect(t, w2, `{"v":1,"type":"login","id":"l6","data":{"account":"alice","token":"`+strings.Repeat("t", 257)+`","device":"d","checkSum":true}}`, "l6", 400)
		expect(t, w2, "{\"v\":1,\"type\":\"login\",\"id\":\"l7\",\"data\":{\"account\":\"alice\",\"token\":\""+at+"\",\"device\":\"d\",\"checkSum\":true,\"client\":\"\\u001b]0;x\\u0007\"}}", "l7", 0, 400)
	})
	probeCase(t, "M08", "relay payload shapes are checked (no smuggling to the peer)", func(t *testing.T) {
		a, b := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		ch, atok, _ := connect(t, a, b)
		bad := []string{
			`{"type":"answer","sdp":"v=0\r\nm=audio"}`,
			`{"type":"offer","sdp":"hello"}`,
			`{"type":"offer","sdp":"v=0\r\nm=audio 9","extra":1}`,
			`{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}`,
			`{"candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 99999 typ host","sdpMid":"0"}}`,
			`{"candidate":{"candidate":"x","sdpMid":"0"}}`,
			`{}`,
			`{"audioMuted":"yes"}`,
			`{"mediaWarning":{"kind":"noMedia","error":"` + strings.Repeat("e", 5000) + `"}}`,
		}
		kinds := []string{"offer", "offer", "offer", "candidate", "candidate", "candidate", "control", "control", "control"}
		for i, p := range bad {
			raw := fmt.Sprintf(`{"v":1,"type":"relay","id":"r%d","data":{"channelId":"%s","token":"%s","kind":"%s","payload":%s}}`, i, ch, atok, kinds[i], p)
			f, ok := a.rawReq([]byte(raw), fmt.Sprintf("r%d", i), 5*time.Second)
			if ok && f.Code == 0 {
				t.Logf("relay %s %s accepted", kinds[i], p[:min(len(p), 60)])
				if i < 8 {
					t.Errorf("malformed relay payload accepted: %s", p[:min(len(p), 60)])
				}
			}
		}
		a.req("hangup", map[string]any{"channelId": ch})
	})
	probeCase(t, "M09", "WebSocket protocol violations close the connection; the server stays up", func(t *testing.T) {
		for _, frameBytes := range [][]byte{
			{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'},                        // unmasked client frame
			{0xF1, 0x80, 0, 0, 0, 0},                                     // reserved bits set
			{0x09, 0x80, 0, 0, 0, 0},                                     // fragmented ping
			{0x80, 0x80, 0, 0, 0, 0},                                     // continuation without a start
			{0x81, 0xFF, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // 2^63 length
			{0x88, 0x81, 0, 0, 0, 0, 1},                                  // 1-byte close payload
		} {
			c := rawWSConn(t, sp)
			_, _ = c.Write(frameBytes)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			c.Close()
		}
		w := login(t, sp, "alice", at)
		if r := w.req("ping", nil); r.Code != 0 {
			t.Errorf("server not serving after protocol violations")
		}
	})
	probeCase(t, "M10", "permessage-deflate is not negotiated (no decompression bomb)", func(t *testing.T) {
		d := websocket.Dialer{EnableCompression: true}
		c, resp, err := d.Dial(sp.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); strings.Contains(ext, "deflate") {
			t.Errorf("server negotiated %s", ext)
		}
	})
	probeCase(t, "M11", "the server still completes a call after all of the above", func(t *testing.T) {
		a, b := login(t, sp, "alice", at), login(t, sp, "bob", bt)
		ch, _, _ := connect(t, a, b)
		a.req("hangup", map[string]any{"channelId": ch})
		if _, ok := b.waitEvent("MESSAGE_SENT", 5*time.Second); !ok {
			t.Errorf("no record")
		}
	})
}

// rawWSConn opens a TCP connection and completes a WebSocket handshake by
// hand, for frames no library would send.
func rawWSConn(t *testing.T, sp *serveProc) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sp.port))
	if err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString([]byte("probe-key-123456"))
	fmt.Fprintf(c, "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", err, resp)
	}
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		t.Fatal("bad accept")
	}
	return c
}
