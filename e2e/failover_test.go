package e2e

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/natstest"
	"github.com/softphone/softphone/server"
)

func node(ns *natsserver.Server, id string) func(*server.Config) {
	return func(c *server.Config) {
		c.NATSURL, c.DataDir, c.NodeID, c.Replicas = ns.ClientURL(), "", id, 1
		c.AppKey, c.AppSecret = "key", "secret"
	}
}

// TestFailoverBetweenServers: an engine given several servers logs in at
// the first that answers, and when its server goes away reconnects to
// another and keeps its call; the record of a call that ended meanwhile
// reaches it once.
func TestFailoverBetweenServers(t *testing.T) {
	ns := natstest.Shared(t)
	n1 := startServer(t, node(ns, "n1"))
	n2 := startServer(t, node(ns, "n2"))
	n3 := startServer(t, node(ns, "n3"))
	toks := users(t, n1, "alice", "bob")
	ctx := ctxT(t)

	// A dead address first: the login goes on to the next server.
	dead := "ws://127.0.0.1:1"
	alice := newDevice(t, n1, "alice", toks["alice"], devOpts{servers: dead + "," + n1.URL() + "," + n2.URL()})
	if node := alice.Session().Node; node != "n1" {
		t.Fatalf("alice logged in on %q, want n1", node)
	}
	bob := newDevice(t, n3, "bob", toks["bob"], devOpts{})

	cr, err := alice.Call(ctx, "bob", protocol.CallAudio, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := bob.wait(protocol.EvInvited, cr.ChannelID).Data.(protocol.Invite)
	if err := bob.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	alice.wait(protocol.EvUserAccept, cr.ChannelID)

	// n1 goes away: alice is back on n2, still in the call.
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	alice.wait(call.EvDisconnect, "")
	if ri := alice.wait(call.EvReconnected, "").Data.(call.ReconnectInfo); ri.State != protocol.StateInCall.String() {
		t.Fatalf("RECONNECTED %+v", ri)
	}
	if node := alice.Session().Node; node != "n2" {
		t.Fatalf("alice reconnected to %q, want n2", node)
	}

	// The call ends while alice is cut off: after her reconnect she learns
	// it ended and gets its record, once.
	alice.cut.Cut(true)
	alice.wait(call.EvDisconnect, "")
	if err := bob.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	bob.wait(protocol.EvCallEnd, cr.ChannelID)
	expectRecord(t, bob.wait(protocol.EvMessageSent, cr.ChannelID), cr.ChannelID, protocol.StatusCompleted, "alice", "bob", true, "zh")
	alice.cut.Unblock()
	alice.wait(call.EvReconnected, "")
	alice.wait(protocol.EvCallEnd, cr.ChannelID)
	expectRecord(t, alice.wait(protocol.EvMessageSent, cr.ChannelID), cr.ChannelID, protocol.StatusCompleted, "alice", "bob", false, "zh")
	alice.quiet(300 * time.Millisecond)
	alice.state(protocol.StateIdle)
}
