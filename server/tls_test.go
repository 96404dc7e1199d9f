package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/testcert"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/admin"
)

// TestTLS: with a certificate the one listener is https and wss: the
// browser client, /healthz, the admin API and devices all go over TLS, a
// client that trusts the CA gets in, one that does not is told why, and
// plain HTTP is refused. The in-process bots reach their own server.
func TestTLS(t *testing.T) {
	cert := testcert.New(t, "127.0.0.1", "localhost")
	srv := startServer(t, func(c *server.Config) {
		c.TLSCert, c.TLSKey = cert.CertFile, cert.KeyFile
		c.Bots.Enabled, c.Bots.Names = true, []string{"reject"}
	})
	if !strings.HasPrefix(srv.URL(), "wss://") || !strings.HasPrefix(srv.AdminURL(), "https://") {
		t.Fatalf("URLs %s %s, want wss and https", srv.URL(), srv.AdminURL())
	}
	trusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}}
	for path, want := range map[string]string{"/healthz": "ok", "/": "<!doctype html>", "/js/necallkit.js": "export class NECallKit"} {
		resp, err := trusting.Get(srv.AdminURL() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %d %.80q", path, resp.StatusCode, body)
		}
	}
	if resp, err := http.Get("http://" + srv.Addr() + "/healthz"); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS listener: %s, want 400", resp.Status)
		}
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.AdminURL() + "/healthz"); err == nil {
		t.Error("a client without the CA trusted the certificate")
	}

	key, secret := srv.Credentials()
	ac := admin.NewClient(srv.AdminURL(), key, secret, trusting)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, err := ac.CreateUser(ctx, "alice", "Alice")
	if err != nil {
		t.Fatalf("admin API over https: %v", err)
	}

	untrusting := call.New(call.Config{Server: srv.URL()})
	defer untrusting.Close()
	if err := untrusting.Login(ctx, "alice", u.Token); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("login without the CA: %v, want a certificate error", err)
	}
	eng := call.New(call.Config{Server: srv.URL(), TLS: &tls.Config{RootCAs: cert.Pool}})
	defer eng.Close()
	if err := eng.Login(ctx, "alice", u.Token); err != nil {
		t.Fatalf("login over wss: %v", err)
	}
	if _, err := eng.Call(ctx, "reject", protocol.CallAudio, nil); err != nil {
		t.Fatal(err)
	}
	for ev := range eng.Events() {
		if ev.Name == protocol.EvUserReject {
			break // the bot, over its own wss connection, answered
		}
	}
}
