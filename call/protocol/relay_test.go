package protocol

import (
	"encoding/json"
	"testing"
)

func TestParseRelayPayload(t *testing.T) {
	cases := []struct {
		kind, payload string
		ok            bool
	}{
		{RelayOffer, `{"type":"offer","sdp":"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`, true},
		{RelayAnswer, `{"type":"answer","sdp":"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}`, true},
		{RelayAnswer, `{"type":"offer","sdp":"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}`, false},
		{RelayOffer, `{"type":"offer","sdp":"v=0\r\nm=audio 9 RTP/AVP 0\r\n"} {}`, false},
		{RelayCandidate, `{"candidate":{"candidate":"candidate:1 1 udp 2130706431 fd00::2 55500 typ host ufrag x generation 0","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}`, true},
		{RelayCandidate, `{"candidate":{"candidate":"1 1 udp 2130706431 10.0.0.1 9 typ srflx raddr 0.0.0.0 rport 9","sdpMid":"a"}}`, true},
		{RelayCandidate, `{"candidate":{"candidate":"candidate:1 0 udp 2130706431 10.0.0.1 9 typ host","sdpMid":"0"}}`, false},
		{RelayCandidate, `{"candidate":{"candidate":"candidate:1 1 sctp 2130706431 10.0.0.1 9 typ host","sdpMid":"0"}}`, false},
		{RelayCandidate, `{"candidate":{"candidate":"candidate:1 1 udp 99999999999 10.0.0.1 9 typ host","sdpMid":"0"}}`, false},
		{RelayCandidate, `{"candidate":{"candidate":"candidate:1 1 udp 1 10.0.0.1 9 type host","sdpMid":"0"}}`, false},
		{RelayControl, `{"renegotiate":true}`, true},
		{RelayControl, `{"renegotiate":false}`, false},
		{RelayControl, `{"mediaWarning":{"kind":"noMedia","error":""}}`, true},
		{"bye", `{}`, false},
	}
	for _, c := range cases {
		_, err := ParseRelayPayload(c.kind, json.RawMessage(c.payload))
		if (err == nil) != c.ok {
			t.Errorf("%s %s: err %v, want ok %t", c.kind, c.payload, err, c.ok)
		}
		if err != nil && CodeOf(err) != CodeBadRequest {
			t.Errorf("%s %s: code %d, want 400", c.kind, c.payload, CodeOf(err))
		}
	}
}

// FuzzRelayPayload: the relay decoder never panics, refuses with 400, and
// what it accepts re-encodes to a payload it accepts again.
func FuzzRelayPayload(f *testing.F) {
	for _, s := range []struct{ kind, payload string }{
		{RelayOffer, `{"type":"offer","sdp":"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`},
		{RelayCandidate, `{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`},
		{RelayCandidate, `{"candidate":{"candidate":""}}`},
		{RelayControl, `{"audioMuted":true,"mediaWarning":{"kind":"noMedia","error":"ICE failed"}}`},
	} {
		f.Add(s.kind, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, kind string, b []byte) {
		v, err := ParseRelayPayload(kind, b)
		if err != nil {
			if CodeOf(err) != CodeBadRequest {
				t.Fatalf("error without code 400: %v", err)
			}
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := ParseRelayPayload(kind, again); err != nil {
			t.Fatalf("accepted %s but not its re-encoding %s: %v", b, again, err)
		}
	})
}
