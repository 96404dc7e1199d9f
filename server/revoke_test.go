package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/turn"
)

// wantEnded checks that the server ended c's session for reason: the
// SESSION_ENDED event, then a close frame saying why, then the end of the
// connection.
func wantEnded(t *testing.T, c *wsClient, reason string) {
	t.Helper()
	var se protocol.SessionEnded
	if err := json.Unmarshal(c.event(protocol.EvSessionEnded).Data, &se); err != nil {
		t.Fatal(err)
	}
	if se.Reason != reason || se.Message != protocol.SessionEndMessage(reason) {
		t.Fatalf("SESSION_ENDED %+v, want reason %s", se, reason)
	}
	select {
	case <-c.done:
	case <-time.After(waitFor):
		t.Fatal("the connection stayed open after SESSION_ENDED")
	}
	var ce *websocket.CloseError
	if !errors.As(c.closeErr, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != se.Message {
		t.Fatalf("connection ended with %v, want a close frame %d %q", c.closeErr, websocket.ClosePolicyViolation, se.Message)
	}
}

// TestTokenResetEndsSessions: once `user reset-token` has answered, no
// session logged in with the old token acts any more, on any node: a request
// sent right after the reset is not served, the devices are told "token was
// reset", the call of one of them ends at once, and the old token is refused.
func TestTokenResetEndsSessions(t *testing.T) {
	ns := externalNATS(t)
	n1 := startServer(t, clusterNode(ns, "n1"))
	n2 := startServer(t, clusterNode(ns, "n2"))
	ta, tb, tc := mustUser(t, n1, "alice"), mustUser(t, n1, "bob"), mustUser(t, n1, "carol")
	a1, a2, b, c := dial(t, n1), dial(t, n2), dial(t, n2), dial(t, n1)
	a1.login("alice", ta, "a1")
	a2.login("alice", ta, "a2")
	b.login("bob", tb, "b1")
	c.login("carol", tc, "c1")
	cr := a1.call("bob", protocol.CallAudio, 0)
	b.invite()
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
	a1.peerEvent(protocol.EvUserAccept)

	u, err := adminClient(n1).ResetToken(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's session tries to call at once. The write may already
	// fail (the server closed the connection); either way no call happens.
	req, _ := protocol.EncodeRequest("late", protocol.ReqCall, protocol.Call{To: "carol", CallType: protocol.CallAudio})
	_ = a2.conn.WriteMessage(websocket.TextMessage, req)

	wantEnded(t, a1, protocol.EndTokenReset)
	wantEnded(t, a2, protocol.EndTokenReset)
	select {
	case m := <-a2.replies:
		t.Fatalf("a request after the reset was answered: %+v", m)
	default:
	}
	c.quiet() // carol was never invited
	end := b.peerEvent(protocol.EvCallEnd)
	if end.ChannelID != cr.ChannelID {
		t.Fatalf("CALL_END for %s, want the reset session's call %s", end.ChannelID, cr.ChannelID)
	}
	d := dial(t, n2)
	d.wantCode(protocol.CodeUnauthorized, protocol.ReqLogin, protocol.Login{Account: "alice", Token: ta, Device: "a2", CheckSum: true})
	d.login("alice", u.Token, "a2")
	// The ended call's record may reach the new login (same account) if
	// its announcement comes after this login: that is all it may see.
	d.mustDo(protocol.ReqPing, nil, nil)
	for len(d.events) > 0 {
		if m := <-d.events; m.Event != protocol.EvMessageSent {
			t.Fatalf("unexpected event %s %s", m.Event, m.Data)
		}
	}
	d.quiet()
}

// TestRemovalEndsSessionsWithReason: removing an account tells its devices
// why before closing them.
func TestRemovalEndsSessionsWithReason(t *testing.T) {
	srv := startServer(t, nil)
	a, b, _, _ := aliceAndBob(t, srv)
	if err := adminClient(srv).RemoveUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, a, protocol.EndAccountRemoved)
	b.quiet()
}

// quietTURNLogs keeps the client's expected refusals out of the output.
type quietTURNLogs struct{}

func (quietTURNLogs) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, nil)
}

// allocateWith makes a TURN allocation at the server's UDP relay with a
// real pion/turn client.
func allocateWith(t *testing.T, srv *server.Server, s protocol.ICEServer) error {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.TURNURL(), "turn:"), "?transport=udp")
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Username: s.Username, Password: s.Credential,
		Realm: turn.Realm, Conn: conn, LoggerFactory: quietTURNLogs{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err == nil {
		_ = relay.Close()
	}
	return err
}

// TestTURNCredentialsRevoked: TURN credentials of a login stop opening
// allocations as soon as the account's token is reset or the account is
// removed (and a recreated account's old credentials stay dead).
func TestTURNCredentialsRevoked(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.TURNListen = "127.0.0.1:0" })
	ctx := context.Background()
	cl := adminClient(srv)
	tok := mustUser(t, srv, "alice")
	first := dial(t, srv).login("alice", tok, "a1").ICEServers[0]
	if err := allocateWith(t, srv, first); err != nil {
		t.Fatalf("fresh credentials: %v", err)
	}
	u, err := cl.ResetToken(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := allocateWith(t, srv, first); err == nil {
		t.Fatal("credentials issued before the token reset still allocate")
	}
	second := dial(t, srv).login("alice", u.Token, "a1").ICEServers[0]
	if err := allocateWith(t, srv, second); err != nil {
		t.Fatalf("credentials after the reset: %v", err)
	}
	if err := cl.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := allocateWith(t, srv, second); err == nil {
		t.Fatal("credentials of a removed account still allocate")
	}
	mustUser(t, srv, "alice")
	if err := allocateWith(t, srv, second); err == nil {
		t.Fatal("credentials of the removed account work for the recreated one")
	}
}
