package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/softphone/softphone/call/protocol"
)

// Relay payloads as WebRTC produces them (docs/protocol.md).
var (
	testOffer     = json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`)
	testAnswer    = json.RawMessage(`{"type":"answer","sdp":"v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`)
	testCandidate = json.RawMessage(`{"candidate":{"candidate":"candidate:2878742611 1 udp 2130706431 127.0.0.1 55900 typ host generation 0","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}`)
)

// TestRelayPayloadShapes: the server relays the documented payload shapes
// byte for byte and refuses anything else with 400 to the sender, naming
// the field; the peer receives nothing for a refused relay.
func TestRelayPayloadShapes(t *testing.T) {
	srv := startServer(t, nil)
	a, b, _, _ := aliceAndBob(t, srv)
	cr := a.call("bob", protocol.CallAudio, 0)
	b.invite()
	b.mustDo(protocol.ReqAccept, ref(cr.ChannelID), nil)
	ua := a.peerEvent(protocol.EvUserAccept)
	relay := func(kind, payload string) protocol.Relay {
		return protocol.Relay{ChannelID: cr.ChannelID, Token: ua.MediaToken, Kind: kind, Payload: json.RawMessage(payload)}
	}

	good := []struct{ kind, payload string }{
		{"offer", string(testOffer)},
		{"candidate", string(testCandidate)},
		{"candidate", `{"candidate":{"candidate":"candidate:1 1 tcp 1518280447 192.0.2.2 9 typ host tcptype active","sdpMLineIndex":0}}`},
		{"candidate", `{"candidate":{"candidate":"candidate:3 1 UDP 41885439 203.0.113.9 61000 typ relay raddr 0.0.0.0 rport 0","sdpMid":"0","usernameFragment":"uF1x"}}`},
		{"candidate", `{"candidate":{"candidate":""}}`}, // end of candidates
		{"candidate", `{"candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0}}`},
		{"control", `{"renegotiate":true}`},
		{"control", `{"audioMuted":false,"videoMuted":true}`},
		{"control", `{"mediaWarning":{"kind":"noMedia","error":"ICE failed"}}`},
	}
	for _, g := range good {
		a.mustDo(protocol.ReqRelay, relay(g.kind, g.payload), nil)
		var re protocol.RelayEvent
		if err := json.Unmarshal(b.event(protocol.EvRelay).Data, &re); err != nil {
			t.Fatal(err)
		}
		if re.Kind != g.kind || string(re.Payload) != g.payload {
			t.Fatalf("relayed %s %s, sent %s %s", re.Kind, re.Payload, g.kind, g.payload)
		}
	}

	bad := []struct {
		name, kind, payload, field string
	}{
		{"bare RTCIceCandidateInit", "candidate", `{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`, "payload"},
		{"candidate null", "candidate", `{"candidate":null}`, "payload.candidate"},
		{"candidate missing", "candidate", `{}`, "payload.candidate"},
		{"candidate not a candidate", "candidate", `{"candidate":{"candidate":"hello","sdpMid":"0"}}`, "payload.candidate.candidate"},
		{"candidate bad type", "candidate", `{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ local","sdpMid":"0"}}`, "payload.candidate.candidate"},
		{"candidate bad port", "candidate", `{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 70000 typ host","sdpMid":"0"}}`, "payload.candidate.candidate"},
		{"candidate without media line", "candidate", `{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}}`, "payload.candidate"},
		{"candidate negative index", "candidate", `{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMLineIndex":-1}}`, "payload"},
		{"candidate extra field", "candidate", `{"candidate":{"candidate":"","foo":1}}`, "payload"},
		{"offer as string", "offer", `"v=0"`, "payload"},
		{"offer without type", "offer", `{"sdp":"v=0\r\nm=audio 9 RTP/AVP 0\r\n"}`, "payload.type"},
		{"answer in an offer", "offer", string(testAnswer), "payload.type"},
		{"offer without media", "offer", `{"type":"offer","sdp":"v=0\r\n"}`, "payload.sdp"},
		{"offer not SDP", "offer", `{"type":"offer","sdp":"hello"}`, "payload.sdp"},
		{"offer with extra field", "offer", `{"type":"offer","sdp":"v=0\r\nm=audio 9 RTP/AVP 0\r\n","sessionId":1}`, "payload"},
		{"empty control", "control", `{}`, "payload"},
		{"control typo", "control", `{"audioMute":true}`, "payload"},
		{"control wrong type", "control", `{"audioMuted":"yes"}`, "payload"},
		{"warning without kind", "control", `{"mediaWarning":{"error":"x"}}`, "payload.mediaWarning.kind"},
	}
	for _, c := range bad {
		_, err := a.do(protocol.ReqRelay, relay(c.kind, c.payload), nil)
		var pe *protocol.Error
		if !asProtocolError(err, &pe) || pe.Code != protocol.CodeBadRequest {
			t.Fatalf("%s: got %v, want code 400", c.name, err)
		}
		if !strings.Contains(pe.Message, "field "+c.field+":") {
			t.Errorf("%s: message %q does not name field %s", c.name, pe.Message, c.field)
		}
	}
	b.quiet() // nothing refused reached the peer
}

func asProtocolError(err error, pe **protocol.Error) bool {
	e, ok := err.(*protocol.Error)
	if ok {
		*pe = e
	}
	return ok
}
