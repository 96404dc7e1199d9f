package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestDecodeEnvelope(t *testing.T) {
	big := `{"v":1,"type":"ping","id":"` + strings.Repeat("a", MaxMessageSize) + `"}`
	tests := []struct {
		name string
		in   string
		code Code
		keep bool // envelope returned despite the error (id can be echoed)
	}{
		{"ok", `{"v":1,"type":"ping","id":"1"}`, CodeOK, true},
		{"not json", `{"v":1,`, CodeBadRequest, false},
		{"trailing", `{"v":1,"type":"ping"} {}`, CodeBadRequest, false},
		{"unknown field", `{"v":1,"type":"ping","from":"mallory"}`, CodeBadRequest, false},
		{"wrong version", `{"v":2,"type":"ping","id":"7"}`, CodeUnsupportedVersion, true},
		{"missing type", `{"v":1,"id":"7"}`, CodeBadRequest, true},
		{"too large", big, CodeTooLarge, false},
		{"long id", `{"v":1,"type":"ping","id":"` + strings.Repeat("x", 65) + `"}`, CodeBadRequest, false},
		{"array", `[1,2]`, CodeBadRequest, false},
		{"type mismatch", `{"v":"1","type":"ping"}`, CodeBadRequest, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode([]byte(tc.in))
			if got := CodeOf(err); got != tc.code {
				t.Fatalf("code = %d, want %d (err %v)", got, tc.code, err)
			}
			if (m != nil) != tc.keep {
				t.Fatalf("envelope returned = %v, want %v", m != nil, tc.keep)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		data string
		code Code
	}{
		{"login ok", ReqLogin, `{"account":"alice","token":"t","device":"d1","checkSum":true}`, CodeOK},
		{"login bad account", ReqLogin, `{"account":"a.b","device":"d1","checkSum":true}`, CodeBadRequest},
		{"login subject wildcard", ReqLogin, `{"account":"a>","device":"d1"}`, CodeBadRequest},
		{"login missing device", ReqLogin, `{"account":"alice"}`, CodeBadRequest},
		{"login forged field", ReqLogin, `{"account":"alice","device":"d","as":"bob"}`, CodeBadRequest},
		{"call ok", ReqCall, `{"to":"bob","callType":2,"attachment":{"k":"v"}}`, CodeOK},
		{"call bad type", ReqCall, `{"to":"bob","callType":3}`, CodeCallTypeNA},
		{"call type string", ReqCall, `{"to":"bob","callType":"video"}`, CodeBadRequest},
		{"call timeout high", ReqCall, `{"to":"bob","callType":1,"timeoutMs":121000}`, CodeBadRequest},
		{"call timeout ok", ReqCall, `{"to":"bob","callType":1,"timeoutMs":120000}`, CodeOK},
		{"call big attachment", ReqCall, `{"to":"bob","callType":1,"attachment":"` + strings.Repeat("x", MaxAttachmentSize) + `"}`, CodeTooLarge},
		{"call forged from", ReqCall, `{"to":"bob","callType":1,"from":"carol"}`, CodeBadRequest},
		{"call no data", ReqCall, ``, CodeBadRequest},
		{"accept ok", ReqAccept, `{"channelId":"abc_123"}`, CodeOK},
		{"accept empty", ReqAccept, `{"channelId":""}`, CodeBadRequest},
		{"switch ok", ReqSwitch, `{"channelId":"c","callType":2,"state":"invite"}`, CodeOK},
		{"switch bad state", ReqSwitch, `{"channelId":"c","callType":2,"state":"maybe"}`, CodeBadRequest},
		{"relay ok", ReqRelay, `{"channelId":"c","kind":"offer","payload":{"type":"offer","sdp":"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}}`, CodeOK},
		{"relay bad offer", ReqRelay, `{"channelId":"c","kind":"offer","payload":{"sdp":"v=0"}}`, CodeBadRequest},
		{"relay candidate", ReqRelay, `{"channelId":"c","kind":"candidate","payload":{"candidate":{"candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host","sdpMid":"0"}}}`, CodeOK},
		{"relay bare candidate", ReqRelay, `{"channelId":"c","kind":"candidate","payload":{"candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host","sdpMid":"0"}}`, CodeBadRequest},
		{"relay control", ReqRelay, `{"channelId":"c","kind":"control","payload":{"audioMuted":true}}`, CodeOK},
		{"relay bad kind", ReqRelay, `{"channelId":"c","kind":"bye","payload":{}}`, CodeBadRequest},
		{"relay no payload", ReqRelay, `{"channelId":"c","kind":"offer"}`, CodeBadRequest},
		{"records limit", ReqRecords, `{"limit":501}`, CodeBadRequest},
		{"records ok", ReqRecords, `{"peer":"bob","limit":10}`, CodeOK},
		{"records page", ReqRecords, `{"limit":100,"cursor":"1234"}`, CodeOK},
		{"records bad cursor", ReqRecords, `{"cursor":"12a"}`, CodeBadRequest},
		{"records long cursor", ReqRecords, `{"cursor":"123456789012345678901"}`, CodeBadRequest},
		{"records of a call", ReqRecords, `{"channelId":"abc"}`, CodeOK},
		{"records of a call and a page", ReqRecords, `{"channelId":"abc","cursor":"1"}`, CodeBadRequest},
		{"records of a bad channel", ReqRecords, `{"channelId":"a.b"}`, CodeBadRequest},
		{"ping no data", ReqPing, ``, CodeOK},
		{"ping with data", ReqPing, `{"x":1}`, CodeBadRequest},
		{"unknown", "dance", `{}`, CodeBadRequest},
		{"reply from client", TypeReply, `{}`, CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Message{V: Version, Type: tc.typ, ID: "1"}
			if tc.data != "" {
				m.Data = json.RawMessage(tc.data)
			}
			_, err := ParseRequest(m)
			if got := CodeOf(err); got != tc.code {
				t.Fatalf("code = %d, want %d (err %v)", got, tc.code, err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	b, err := EncodeRequest("42", ReqCall, &Call{To: "bob", CallType: CallVideo, Attachment: json.RawMessage(`{"call":"testValue"}`)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseRequest(m)
	if err != nil {
		t.Fatal(err)
	}
	c := p.(*Call)
	if c.To != "bob" || c.CallType != CallVideo || string(c.Attachment) != `{"call":"testValue"}` || m.ID != "42" {
		t.Fatalf("round trip mismatch: %+v id %q", c, m.ID)
	}

	ev, _ := EncodeEvent(EvUserReject, &Peer{ChannelID: "c1", UserID: "bob"})
	m, err = Decode(ev)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := ParseEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.(*Peer); got.UserID != "bob" || got.ChannelID != "c1" {
		t.Fatalf("event mismatch %+v", got)
	}
}

func TestEncodeErrorHidesInternal(t *testing.T) {
	b := EncodeError("9", errors.New("disk /var/secret failed"))
	if strings.Contains(string(b), "secret") {
		t.Fatalf("internal error text leaked: %s", b)
	}
	m, err := Decode(b)
	if err != nil || m.Code != CodeInternal || m.ID != "9" {
		t.Fatalf("got %+v, %v", m, err)
	}
	b = EncodeError("9", ErrAlreadyAccepted)
	m, _ = Decode(b)
	if m.Code != CodeAlreadyAccepted {
		t.Fatalf("code %d", m.Code)
	}
}

func TestErrorIs(t *testing.T) {
	err := Errorf(CodeAlreadyAccepted, "accepted on device %s", "d2")
	if !errors.Is(err, ErrAlreadyAccepted) || errors.Is(err, ErrAlreadyRejected) {
		t.Fatal("errors.Is must compare codes")
	}
}

func TestCheckState(t *testing.T) {
	tests := []struct {
		op   Op
		st   CallState
		code Code
	}{
		{OpCall, StateIdle, 0}, {OpCall, StateCalling, 20002}, {OpCall, StateCalled, 20003}, {OpCall, StateInCall, 20004},
		{OpHangup, StateIdle, 20005}, {OpHangup, StateInCall, 0},
		{OpCancel, StateIdle, 20013}, {OpCancel, StateCalling, 0}, {OpCancel, StateCalled, 20015}, {OpCancel, StateInCall, 20016},
		{OpAccept, StateIdle, 20017}, {OpAccept, StateCalling, 20018}, {OpAccept, StateCalled, 0}, {OpAccept, StateInCall, 20020},
		{OpReject, StateIdle, 20021}, {OpReject, StateCalling, 20022}, {OpReject, StateCalled, 0}, {OpReject, StateInCall, 20024},
		{OpSwitchCallType, StateIdle, 20025}, {OpSwitchCallType, StateCalling, 20026}, {OpSwitchCallType, StateCalled, 20027}, {OpSwitchCallType, StateInCall, 0},
	}
	for _, tc := range tests {
		if got := CodeOf(CheckState(tc.op, tc.st)); got != tc.code {
			t.Errorf("%s in %s: code %d, want %d", tc.op, tc.st, got, tc.code)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, s := range []string{"alice", "A_b-9", strings.Repeat("a", 64)} {
		if !ValidID(s) {
			t.Errorf("%q should be valid", s)
		}
	}
	for _, s := range []string{"", "a.b", "a b", "a*", "a>", strings.Repeat("a", 65), "ü"} {
		if ValidID(s) {
			t.Errorf("%q should be invalid", s)
		}
	}
}

func TestLoginLogValueRedactsToken(t *testing.T) {
	v := Login{Account: "alice", Token: "s3cr3t-token", Device: "d"}.LogValue()
	if strings.Contains(v.String(), "s3cr3t") {
		t.Fatalf("token in log value: %s", v)
	}
}

func TestICEServerNeverShowsCredential(t *testing.T) {
	lr := LoginReply{Account: "alice", ICEServers: []ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: "1:alice", Credential: "s3cr3t-cred"}}}
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("login", "servers", lr.ICEServers, "server", lr.ICEServers[0])
	for _, out := range []string{b.String(), fmt.Sprintf("%v %+v", lr, lr), lr.ICEServers[0].LogValue().String()} {
		if strings.Contains(out, "s3cr3t") {
			t.Fatalf("credential shown: %s", out)
		}
	}
	data, err := json.Marshal(lr)
	if err != nil || !strings.Contains(string(data), `"iceServers":[{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1:alice","credential":"s3cr3t-cred"}]`) {
		t.Fatalf("wire form %s (%v)", data, err)
	}
}
