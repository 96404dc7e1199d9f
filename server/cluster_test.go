package server_test

import (
	"testing"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
)

// TestTwoNodesShareOneNATS runs two gateways on one external NATS server:
// caller on one, callee on the other, state shared through JetStream.
func TestTwoNodesShareOneNATS(t *testing.T) {
	ns := externalNATS(t)
	shared := func(node string) func(*server.Config) {
		return func(c *server.Config) {
			c.NATSURL, c.DataDir, c.NodeID = ns.ClientURL(), "", node
			c.AppKey, c.AppSecret = "key", "secret"
			c.ReconnectGrace = time.Second
			c.Replicas = 1
		}
	}
	n1 := startServer(t, shared("n1"))
	n2 := startServer(t, shared("n2"))
	ta := mustUser(t, n1, "alice")
	tb := mustUser(t, n2, "bob")
	a, b := dial(t, n1), dial(t, n2)
	a.login("alice", ta, "a1")
	if lr := b.login("bob", tb, "b1"); lr.Node != "n2" {
		t.Fatalf("bob on node %q", lr.Node)
	}
	cr := a.call("bob", protocol.CallVideo, 0)
	if !cr.CalleeOnline {
		t.Fatal("callee on the other node not seen online")
	}
	b.invite()
	var ar protocol.AcceptReply
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), &ar)
	ua := a.peerEvent(protocol.EvUserAccept)
	// Channel tokens from one node verify on the other (shared AppSecret).
	b.mustDo(protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ar.MediaToken, Kind: "answer", Payload: testAnswer}, nil)
	a.event(protocol.EvRelay)
	a.mustDo(protocol.ReqRelay, protocol.Relay{ChannelID: cr.ChannelID, Token: ua.MediaToken, Kind: "offer", Payload: testOffer}, nil)
	b.event(protocol.EvRelay)

	// Node 2 goes away: after the grace node 1 ends the call (peerGone).
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	if p := a.peerEvent(protocol.EvCallEnd); p.Reason != "peerGone" {
		t.Fatalf("CALL_END %+v", p)
	}
	if r := a.record(); r.Status != protocol.StatusCompleted {
		t.Fatalf("record %+v", r)
	}
	var rr protocol.RecordsReply
	a.mustDo(protocol.ReqRecords, protocol.RecordsQuery{Peer: "bob"}, &rr)
	if len(rr.Records) != 1 {
		t.Fatalf("records %+v", rr)
	}
}
