package server_test

import (
	"context"
	"errors"
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
