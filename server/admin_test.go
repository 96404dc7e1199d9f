package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/admin"
	"github.com/softphone/softphone/server/auth"
)

func adminClient(srv *server.Server) *admin.Client {
	k, s := srv.Credentials()
	return admin.NewClient(srv.AdminURL(), k, s, nil)
}

func TestAdminAPI(t *testing.T) {
	srv := startServer(t, nil)
	ctx := context.Background()
	cl := adminClient(srv)
	u, err := cl.CreateUser(ctx, "alice", "Alice")
	if err != nil || u.Token == "" || u.Account != "alice" {
		t.Fatalf("create %+v %v", u, err)
	}
	var apiErr *admin.APIError
	if _, err := cl.CreateUser(ctx, "alice", "again"); !errors.As(err, &apiErr) || apiErr.Status != 409 {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := cl.CreateUser(ctx, "bad.name", ""); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("bad account: %v", err)
	}
	for _, name := range []string{"\x1b]0;pwned\a\x1b[2J\x1b[38;2;1;2;3mEVIL", "a\u202etxt", "tab\there", "nul\x00", "c1\u009b2J"} {
		_, err := cl.CreateUser(ctx, "mallory", name)
		if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(apiErr.Message, "control characters") {
			t.Fatalf("create with name %q: %v, want 400 about control characters", name, err)
		}
		if strings.ContainsAny(apiErr.Message, "\x1b\a\x00\u202e\u009b") {
			t.Fatalf("the 400 echoes the raw name: %q", apiErr.Message)
		}
	}
	if _, err := cl.CreateUser(ctx, "zhang", "张伟 👩\u200d💻"); err != nil {
		t.Fatalf("a printable name with a joiner: %v", err)
	}
	if err := cl.RemoveUser(ctx, "zhang"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateUser(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	users, err := cl.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Account != "alice" || users[0].Name != "Alice" || users[0].Token != "" || users[0].CreatedAt.IsZero() {
		t.Fatalf("list %+v %v", users, err)
	}
	c := dial(t, srv)
	c.login("alice", u.Token, "d")
	if err := cl.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := cl.RemoveUser(ctx, "bob"); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("remove missing: %v", err)
	}
	if _, err := cl.ResetToken(ctx, "nobody"); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("reset missing: %v", err)
	}
	c.wantCode(protocol.CodeNotFound, protocol.ReqCall, protocol.Call{To: "bob", CallType: 1})

	k, secret := srv.Credentials()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	cases := []struct {
		name                 string
		key, nonce, cur, sum string
		want                 int
	}{
		{"ok", k, "n1", now, auth.CheckSum(secret, "n1", now), 200},
		{"reused nonce", k, "n1", now, auth.CheckSum(secret, "n1", now), 401},
		{"bad checksum", k, "n2", now, auth.CheckSum("wrong", "n2", now), 401},
		{"stale CurTime", k, "n3", stale, auth.CheckSum(secret, "n3", stale), 401},
		{"wrong AppKey", "other", "n4", now, auth.CheckSum(secret, "n4", now), 401},
		{"missing headers", "", "", "", "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.AdminURL()+"/admin/v1/users", nil)
			req.Header.Set("AppKey", tc.key)
			req.Header.Set("Nonce", tc.nonce)
			req.Header.Set("CurTime", tc.cur)
			req.Header.Set("CheckSum", tc.sum)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	resp, err := http.Get(srv.AdminURL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: dir}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	k1, s1 := srv.Credentials()
	a, b := dial(t, srv), dial(t, srv)
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	b.mustDo(protocol.ReqReject, ref(cr.ChannelID), nil)
	a.event(protocol.EvUserReject)
	a.record()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	srv2 := startServer(t, func(c *server.Config) { c.DataDir = dir })
	if k2, s2 := srv2.Credentials(); k1 != k2 || s1 != s2 {
		t.Fatal("generated credentials changed across restart")
	}
	a = dial(t, srv2)
	a.login("alice", ta, "a1")
	var rr protocol.RecordsReply
	a.mustDo(protocol.ReqRecords, protocol.RecordsQuery{}, &rr)
	if len(rr.Records) != 1 || rr.Records[0].ChannelID != cr.ChannelID || rr.Records[0].Status != protocol.StatusRejected {
		t.Fatalf("records after restart %+v", rr.Records)
	}
	// Both are free after the restart.
	b = dial(t, srv2)
	b.login("bob", tb, "b1")
	cr = a.call("bob", protocol.CallAudio, 0)
	if inv := b.invite(); inv.ChannelID != cr.ChannelID {
		t.Fatalf("invite %+v", inv)
	}
}

// signedRequest builds an admin request with fresh NetEase-style headers.
func signedRequest(t *testing.T, srv *server.Server, method, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, srv.AdminURL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	k, secret := srv.Credentials()
	nonce, cur := auth.RandomID(16), strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("AppKey", k)
	req.Header.Set("Nonce", nonce)
	req.Header.Set("CurTime", cur)
	req.Header.Set("CheckSum", auth.CheckSum(secret, nonce, cur))
	return req
}

// TestAdminBodies: a body is one JSON object of valid UTF-8 within 16 KiB,
// or a clear 4xx that creates nothing; a body that trickles in is cut off.
func TestAdminBodies(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.HTTPBodyTimeout = 300 * time.Millisecond })
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"invalid UTF-8 in a name", "{\"account\":\"u1\",\"name\":\"\xff\xfe\"}", 400},
		{"a second object after the first", `{"account":"u2"}{"account":"u3"}`, 400},
		{"garbage after the object", `{"account":"u4"} x`, 400},
		{"an unknown field", `{"account":"u5","admin":true}`, 400},
		{"larger than 16 KiB", `{"account":"u6","name":"` + strings.Repeat("n", 17<<10) + `"}`, 413},
		{"not JSON", `account=u7`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(signedRequest(t, srv, http.MethodPost, "/admin/v1/users", strings.NewReader(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, b, tc.want)
			}
		})
	}
	users, err := adminClient(srv).ListUsers(context.Background())
	if err != nil || len(users) != 0 {
		t.Fatalf("refused bodies created accounts: %+v %v", users, err)
	}

	// A body announced but sent a byte at a time: the server stops waiting.
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := signedRequest(t, srv, http.MethodPost, "/admin/v1/users", nil)
	var head strings.Builder
	fmt.Fprintf(&head, "POST /admin/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n")
	for k, v := range req.Header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v[0])
	}
	head.WriteString("\r\n{")
	if _, err := conn.Write([]byte(head.String())); err != nil {
		t.Fatal(err)
	}
	// Keep trickling until the server answers or gives up. The read
	// deadline only turns a hang into a failure.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 512)
		_, err := conn.Read(buf)
		done <- err
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("a trickling body held the connection for 10 s")
			}
			return // answered or closed by the server: not held
		case <-tick.C:
			_, _ = conn.Write([]byte(" "))
		}
	}
}

// TestHTTPIdleTimeout: an idle keep-alive connection is closed.
func TestHTTPIdleTimeout(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.HTTPIdleTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Only turns a connection kept open for ever into a failure.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("an idle keep-alive connection stayed open")
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read on the idle connection: %v, want EOF", err)
	}
}
