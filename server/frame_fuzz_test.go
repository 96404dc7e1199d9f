package server_test

import (
	"testing"

	"github.com/softphone/softphone/call/protocol"
)

// FuzzFrames sends arbitrary frames on a logged-in connection. Whatever the
// input, the server answers with exactly one reply and keeps the connection.
func FuzzFrames(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"type":"ping","id":"1"}`,
		`{"v":1,"type":"call","id":"2","data":{"to":"bob","callType":1}}`,
		`{"v":1,"type":"call","id":"3","data":{"to":"bob","callType":1,"from":"bob"}}`,
		`{"v":1,"type":"accept","id":"4","data":{"channelId":"x"}}`,
		`{"v":1,"type":"relay","id":"5","data":{"channelId":"x","kind":"offer","payload":{}}}`,
		`{"v":1,"type":"login","id":"6","data":{"account":"bob","device":"d","checkSum":false}}`,
		`{"v":1,"type":"records","id":"7","data":{"limit":-1}}`,
		`{nope`, `null`, `[]`, `{"v":1}`, ``,
	} {
		f.Add([]byte(seed))
	}
	srv := startServer(f, nil)
	tok, err := srv.CreateUser(f.Context(), "alice", "")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := srv.CreateUser(f.Context(), "bob", ""); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := dial(t, srv)
		c.login("alice", tok, "fuzz")
		c.sendRaw(frame)
		c.reply()
		// The next request's reply comes next (do checks the id), so the
		// frame got exactly one reply and the connection still works; the
		// frame may have logged the session out, hence any code.
		_, _ = c.do(protocol.ReqPing, nil, nil)
		// Leave no call behind for the next input.
		_, _ = c.do(protocol.ReqLogout, nil, nil)
	})
}
