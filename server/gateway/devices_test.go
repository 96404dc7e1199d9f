package gateway

import (
	"fmt"
	"testing"

	"github.com/softphone/softphone/call/protocol"
)

// TestDevicesPerAccount: an account has at most protocol.MaxDevices devices
// logged in; one more is refused with 429 (and not routed), a device that
// logs in again is admitted, and a logout makes room.
func TestDevicesPerAccount(t *testing.T) {
	tg := startGateway(t, nil)
	tg.user("alice")
	var devices []*rawClient
	for i := range protocol.MaxDevices {
		c := dialRaw(t, tg.url, nil)
		c.login("alice", fmt.Sprintf("d%d", i))
		devices = append(devices, c)
	}
	extra := dialRaw(t, tg.url, nil)
	m := extra.reply(extra.send(protocol.ReqLogin, protocol.Login{Account: "alice", Device: "extra"}))
	if m.Code != protocol.CodeRateLimited {
		t.Fatalf("device %d: code %d %q, want 429", protocol.MaxDevices+1, m.Code, m.Error)
	}
	if m := extra.reply(extra.send(protocol.ReqPing, nil)); m.Code != protocol.CodeNotLoggedIn {
		t.Fatalf("the refused device is logged in: ping code %d", m.Code)
	}
	if n := len(tg.sessionsOf("alice")); n != protocol.MaxDevices {
		t.Fatalf("%d sessions routed for alice, want %d", n, protocol.MaxDevices)
	}
	// A device already counted logs in again (a reconnect): admitted.
	again := dialRaw(t, tg.url, nil)
	again.login("alice", "d0")
	// One logs out: the new device gets in.
	devices[1].do(protocol.ReqLogout, nil)
	extra.login("alice", "extra")
}
