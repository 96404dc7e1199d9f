//go:build probe

package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminAPI: authentication, replay, bodies and paths of /admin/v1.
func TestAdminAPI(t *testing.T) {
	sp := startServe(t, "")
	now := func() int64 { return time.Now().Unix() }
	get := func(h http.Header) adminReply { return sp.adminRaw("GET", "/admin/v1/users", h, nil) }

	probeCase(t, "A01", "missing headers: 401", func(t *testing.T) {
		if r := get(http.Header{}); r.Status != 401 {
			t.Errorf("%d %s", r.Status, r.Body)
		}
		h := signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		for _, k := range []string{"AppKey", "Nonce", "CurTime", "CheckSum"} {
			hh := h.Clone()
			hh.Del(k)
			if r := get(hh); r.Status != 401 {
				t.Errorf("without %s: %d", k, r.Status)
			}
		}
	})
	probeCase(t, "A02", "wrong AppKey or CheckSum: 401", func(t *testing.T) {
		if r := get(signedHeaders("nope", sp.secret, freshNonce(), now())); r.Status != 401 {
			t.Errorf("wrong key: %d", r.Status)
		}
		if r := get(signedHeaders(sp.appKey, sp.secret+"x", freshNonce(), now())); r.Status != 401 {
			t.Errorf("wrong secret: %d", r.Status)
		}
		h := signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		h.Set("CheckSum", h.Get("CheckSum")[:39]+"0")
		if r := get(h); r.Status != 401 {
			t.Errorf("checksum off by a digit: %d", r.Status)
		}
		h = signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		h.Set("CheckSum", "")
		if r := get(h); r.Status != 401 {
			t.Errorf("empty checksum: %d", r.Status)
		}
	})
	probeCase(t, "A03", "CurTime outside ±300 s or not a number: 401", func(t *testing.T) {
		for _, d := range []int64{-400, 400, -100000} {
			if r := get(signedHeaders(sp.appKey, sp.secret, freshNonce(), now()+d)); r.Status != 401 {
				t.Errorf("skew %d: %d", d, r.Status)
			}
		}
		h := signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		h.Set("CurTime", "abc")
		if r := get(h); r.Status != 401 {
			t.Errorf("CurTime abc: %d", r.Status)
		}
	})
	probeCase(t, "A04", "a replayed request (same nonce) is refused", func(t *testing.T) {
		h := signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		if r := get(h); r.Status != 200 {
			t.Fatalf("first: %d %s", r.Status, r.Body)
		}
		if r := get(h); r.Status != 401 {
			t.Errorf("replay: %d", r.Status)
		}
		// Replaying onto another endpoint with the same signature.
		if r := sp.adminRaw("POST", "/admin/v1/users/alice/token", h, nil); r.Status != 401 {
			t.Errorf("replay on another path: %d", r.Status)
		}
	})
	probeCase(t, "A05", "a nonce used before a restart is still refused after it", func(t *testing.T) {
		h := signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		if r := get(h); r.Status != 200 {
			t.Fatalf("first: %d", r.Status)
		}
		sp.restart()
		if r := get(h); r.Status != 401 {
			t.Errorf("replay after restart: %d %s", r.Status, r.Body)
		}
	})
	probeCase(t, "A06", "oversized, malformed and hostile bodies: clear 4xx, server alive", func(t *testing.T) {
		post := func(body []byte) adminReply {
			return sp.adminRaw("POST", "/admin/v1/users", signedHeaders(sp.appKey, sp.secret, freshNonce(), now()), bytes.NewReader(body))
		}
		cases := map[string][]byte{
			"10 MiB":          bytes.Repeat([]byte("a"), 10<<20),
			"big name":        []byte(`{"account":"big","name":"` + strings.Repeat("x", 20000) + `"}`),
			"unknown field":   []byte(`{"account":"u1","admin":true}`),
			"trailing":        []byte(`{"account":"u2"}{"account":"u3"}`),
			"not json":        []byte(`account=u4`),
			"deep":            []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)),
			"bad id dot":      []byte(`{"account":"a.b"}`),
			"bad id wildcard": []byte(`{"account":"a>"}`),
			"bad id star":     []byte(`{"account":"*"}`),
			"bad id long":     []byte(`{"account":"` + strings.Repeat("a", 65) + `"}`),
			"bad id unicode":  []byte(`{"account":"аlice"}`),
			"empty id":        []byte(`{"account":""}`),
			"id wrong type":   []byte(`{"account":5}`),
			"name 65 bytes":   []byte(`{"account":"u5","name":"` + strings.Repeat("n", 65) + `"}`),
			"invalid utf8":    append([]byte(`{"account":"u6","name":"`), 0xff, 0xfe, '"', '}'),
		}
		for name, body := range cases {
			r := post(body)
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("%s: HTTP %d %s", name, r.Status, r.Body)
			}
		}
		// "trailing" must not have created u3 (nor u2 silently).
		users := string(sp.admin("GET", "/admin/v1/users", nil).Body)
		for _, u := range []string{`"u3"`, `"u6"`} {
			if strings.Contains(users, u) {
				t.Errorf("%s was created", u)
			}
		}
		if r := get(signedHeaders(sp.appKey, sp.secret, freshNonce(), now())); r.Status != 200 {
			t.Errorf("server not answering after: %d", r.Status)
		}
	})
	probeCase(t, "A07", "unknown paths and methods reveal nothing without auth", func(t *testing.T) {
		for _, p := range []string{"/admin/v1/nothing", "/admin/", "/admin/v1/users/alice", "/admin/v1/users/../users"} {
			if r := sp.adminRaw("GET", p, http.Header{}, nil); r.Status != 401 && r.Status != 404 && r.Status != 405 {
				t.Errorf("%s: %d", p, r.Status)
			} else if r.Status != 401 {
				t.Logf("INFO: %s without auth → %d", p, r.Status)
			}
		}
		if r := sp.adminRaw("PUT", "/admin/v1/users", signedHeaders(sp.appKey, sp.secret, freshNonce(), now()), nil); r.Status != 405 && r.Status != 404 {
			t.Errorf("PUT: %d", r.Status)
		}
	})
	probeCase(t, "A08", "overlong nonce and headers: refused, server alive", func(t *testing.T) {
		h := signedHeaders(sp.appKey, sp.secret, strings.Repeat("n", 129), now())
		if r := get(h); r.Status != 401 {
			t.Errorf("129-byte nonce: %d", r.Status)
		}
		h = signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		h.Set("X-Big", strings.Repeat("b", 2<<20))
		r := get(h)
		t.Logf("2 MiB header → %d", r.Status)
		if r := get(signedHeaders(sp.appKey, sp.secret, freshNonce(), now())); r.Status != 200 {
			t.Errorf("server not answering after: %d", r.Status)
		}
	})
	probeCase(t, "A09", "the signature covers neither method, path nor body (NetEase scheme)", func(t *testing.T) {
		t.Logf("INFO: CheckSum = SHA1(AppSecret+Nonce+CurTime) as in NetEase's server API: a captured request's headers sign any method/path/body within ±300 s once; replay is stopped by the nonce. Use TLS (--tls-cert) off loopback.")
	})
	probeCase(t, "A10", "slow request bodies and idle connections are bounded", func(t *testing.T) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sp.port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		h := signedHeaders(sp.appKey, sp.secret, freshNonce(), now())
		var req bytes.Buffer
		fmt.Fprintf(&req, "POST /admin/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nContent-Type: application/json\r\n")
		for k, v := range h {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v[0])
		}
		req.WriteString("\r\n{")
		_, _ = c.Write(req.Bytes())
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(45 * time.Second))
		buf := make([]byte, 1)
		for time.Since(start) < 45*time.Second {
			_, _ = c.Write([]byte(" "))
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(buf); err != nil && !isTimeout(err) {
				break
			} else if err == nil {
				break
			}
		}
		held := time.Since(start)
		t.Logf("a body dribbled a byte every 5 s is held %v", held.Round(time.Second))
		if held >= 45*time.Second {
			t.Errorf("a slow request body holds a connection and a handler for %v+ (no read timeout)", held.Round(time.Second))
		}
		// An idle keep-alive connection.
		c2, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sp.port))
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		_, _ = c2.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		br := bufio.NewReader(c2)
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		_ = c2.SetReadDeadline(time.Now().Add(130 * time.Second))
		start = time.Now()
		_, err = br.ReadByte()
		t.Logf("an idle keep-alive connection is closed after %v (%v)", time.Since(start).Round(time.Second), err)
		if time.Since(start) >= 125*time.Second {
			t.Errorf("idle keep-alive connections are never closed")
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
