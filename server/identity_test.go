package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
)

// TestRemovedAccountLosesSessions removes an account while its devices are
// logged in, on this node and on another one: they must not go on acting as
// the account, least of all once a new user got the same name.
func TestRemovedAccountLosesSessions(t *testing.T) {
	ns := externalNATS(t)
	n1 := startServer(t, clusterNode(ns, "n1"))
	n2 := startServer(t, clusterNode(ns, "n2"))
	ctx := context.Background()
	cl := adminClient(n1)
	for _, recreate := range []bool{false, true} {
		tok := mustUser(t, n1, "alice")
		here, there := dial(t, n1), dial(t, n2)
		here.login("alice", tok, "a1")
		there.login("alice", tok, "a2")
		if err := cl.RemoveUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		var fresh string
		if recreate {
			fresh = mustUser(t, n1, "alice")
		}
		for _, c := range []*wsClient{here, there} {
			select {
			case <-c.done:
			case <-time.After(waitFor):
				t.Fatalf("recreate=%v: a session of the removed account stayed open", recreate)
			}
		}
		if recreate {
			c := dial(t, n2)
			c.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "alice", Token: tok, Device: "a1", CheckSum: true})
			c.login("alice", fresh, "a1")
			if err := cl.RemoveUser(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// lockedBuffer is a log sink shared by the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTokensNeverLogged runs logins (good, wrong and misplaced tokens), a
// call with relays, a token reset and a failed relay with debug logging on,
// and checks that no account token, channel token or the app secret shows
// up in the log.
func TestTokensNeverLogged(t *testing.T) {
	logs := &lockedBuffer{}
	srv := startServer(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	a, b := dial(t, srv), dial(t, srv)
	a.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "alice", Token: tb, Device: "a1", CheckSum: true, Client: "test"})
	a.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "carol", Token: ta, Device: "a1", CheckSum: true})
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	var ar protocol.AcceptReply
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), &ar)
	ua := a.peerEvent(protocol.EvUserAccept)
	a.mustDo(protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ua.MediaToken, Kind: "offer", Payload: testOffer}, nil)
	b.event(protocol.EvRelay)
	a.wantCode(protocol.CodeUnauthorized, protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ar.MediaToken, Kind: "offer", Payload: testOffer})
	u, err := adminClient(srv).ResetToken(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv)
	c.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "bob", Token: tb, Device: "b2", CheckSum: true})
	c.login("bob", u.Token, "b2")
	// The reset ended bob's session, and with it the call.
	b.event(protocol.EvSessionEnded)
	a.event(protocol.EvCallEnd)

	out := logs.String()
	if !strings.Contains(out, "login refused") {
		t.Fatalf("the test did not exercise the refused-login log line:\n%s", out)
	}
	_, secret := srv.Credentials()
	for name, tok := range map[string]string{
		"alice's token": ta, "bob's token": tb, "bob's new token": u.Token,
		"caller channel token": ua.MediaToken, "callee channel token": ar.MediaToken, "app secret": secret,
	} {
		if tok == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(out, tok) {
			t.Errorf("%s appears in the log", name)
		}
	}
}

// TestLoginReplyFirstUnderEvents reconnects a device of a call over and over
// while its peer streams relay messages to that device: whenever the login
// lands amid the stream, the login reply must still be the first frame the
// device reads.
func TestLoginReplyFirstUnderEvents(t *testing.T) {
	srv := startServer(t, nil)
	a, b, _, tb := aliceAndBob(t, srv)
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
	ua := a.peerEvent(protocol.EvUserAccept)
	_ = b.conn.Close()

	relay, err := protocol.EncodeRequest("relay", protocol.ReqRelay,
		protocol.Relay{ChannelID: cr.ChannelID, Token: ua.MediaToken, Kind: "candidate", Payload: testCandidate})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		for {
			a.wmu.Lock()
			err := a.conn.WriteMessage(websocket.TextMessage, relay)
			a.wmu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-a.replies: // ok, or 429 when the stream outruns the rate limit
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-streamed }()

	login, err := protocol.EncodeRequest("login", protocol.ReqLogin, protocol.Login{Account: "bob", Token: tb, Device: "b1", CheckSum: true})
	if err != nil {
		t.Fatal(err)
	}
	relays := 0
	for i := 0; i < 30 || relays == 0; i++ {
		if i == 300 {
			t.Fatal("no relay ever reached the device")
		}
		conn, _, err := websocket.DefaultDialer.Dial(srv.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.WriteMessage(websocket.TextMessage, login); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(waitFor))
		for n := 0; n < 2; n++ {
			_, frame, err := conn.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var m protocol.Message
			if err := jsonUnmarshal(frame, &m); err != nil {
				t.Fatal(err)
			}
			if n == 0 && (m.Type != protocol.TypeReply || m.ID != "login" || m.Code != 0) {
				t.Fatalf("login %d: first frame %s", i, frame)
			}
			if n == 1 && m.Event == protocol.EvRelay {
				relays++
			}
		}
		_ = conn.Close()
	}
}
