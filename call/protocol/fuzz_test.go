package protocol

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds arbitrary frames through the server's inbound path
// (Decode, then ParseRequest) and the client's (ParseEvent). Neither may
// panic, and anything accepted must re-encode and decode to the same request.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"v":1,"type":"login","id":"1","data":{"account":"alice","token":"t","device":"d","checkSum":true}}`,
		`{"v":1,"type":"call","id":"2","data":{"to":"bob","callType":2,"attachment":{"call":"x"},"timeoutMs":30000}}`,
		`{"v":1,"type":"accept","id":"3","data":{"channelId":"abc"}}`,
		`{"v":1,"type":"switch","id":"4","data":{"channelId":"abc","callType":1,"state":"agree"}}`,
		`{"v":1,"type":"relay","id":"5","data":{"channelId":"abc","token":"v1.1.x","kind":"candidate","payload":{"c":"x"}}}`,
		`{"v":1,"type":"relay","id":"7","data":{"channelId":"abc","token":"v1.1.x","kind":"candidate","payload":{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}}}`,
		`{"v":1,"type":"records","id":"6","data":{"peer":"bob","limit":5}}`,
		`{"v":1,"type":"event","event":"INVITED","data":{"channelId":"c","from":"a","to":"b","callType":1}}`,
		`{"v":1,"type":"event","event":"MESSAGE_SENT","data":{"status":3,"durations":[{"accid":"a","duration":0}]}}`,
		`{"v":1,"type":"ping"}`, `{}`, `[]`, `null`, `{"v":1,"type":"call","data":"x"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if CodeOf(err) == CodeInternal {
				t.Fatalf("decode error without a protocol code: %v", err)
			}
			return
		}
		if m.Type == TypeEvent {
			_, _ = ParseEvent(m)
			return
		}
		p, err := ParseRequest(m)
		if err != nil {
			if CodeOf(err) == CodeInternal {
				t.Fatalf("parse error without a protocol code: %v", err)
			}
			return
		}
		if p == nil {
			return
		}
		// Accepted input must survive a round trip unchanged.
		again, err := EncodeRequest(m.ID, m.Type, p)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-decode %s: %v", again, err)
		}
		p2, err := ParseRequest(m2)
		if err != nil {
			t.Fatalf("re-parse %s: %v", again, err)
		}
		j1, _ := json.Marshal(p)
		j2, _ := json.Marshal(p2)
		if string(j1) != string(j2) {
			t.Fatalf("round trip changed payload:\n%s\n%s", j1, j2)
		}
	})
}
