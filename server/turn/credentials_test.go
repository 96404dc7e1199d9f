package turn

import (
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
)

func TestIssueFormat(t *testing.T) {
	c := NewCredentials("app-secret", 0)
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	user, pass, exp := c.Issue("alice", "E1")
	if want := now.Add(DefaultTTL); !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
	if user != "1700000600:alice:E1" {
		t.Fatalf("username %q", user)
	}
	if got := c.password(user); got != pass || len(pass) != 28 { // 20 bytes of SHA-1, base64
		t.Fatalf("password %q not reproducible or not 28 characters", pass)
	}
	if NewCredentials("other-secret", 0).password(user) == pass {
		t.Fatal("two app secrets give the same password")
	}
}

// TestTURNRESTInterop checks the credentials against pion's own TURN REST
// handler (the coturn use-auth-secret scheme), given the derived secret.
func TestTURNRESTInterop(t *testing.T) {
	c := NewCredentials("app-secret", 0)
	user, pass, _ := c.Issue("alice", "E1")
	h := pionturn.LongTermTURNRESTAuthHandler(string(c.secret), nil)
	id, key, ok := h(&pionturn.RequestAttributes{Username: user, Realm: Realm, Method: stun.MethodAllocate})
	if !ok || id != "alice" {
		t.Fatalf("pion's TURN REST handler refused %q (id %q)", user, id)
	}
	if string(key) != string(pionturn.GenerateAuthKey(user, Realm, pass)) {
		t.Fatal("pion derives a different key from the same secret")
	}
}

func TestParseUsername(t *testing.T) {
	for _, tc := range []struct {
		in          string
		ok          bool
		acct, epoch string
	}{
		{"1700000600:alice:E1", true, "alice", "E1"},
		{"1700000600:alice", false, "", ""},
		{"1700000600", false, "", ""},
		{":alice:E1", false, "", ""},
		{"-5:alice:E1", false, "", ""},
		{"+5:alice:E1", false, "", ""},
		{"12x:alice:E1", false, "", ""},
		{"1700000600::E1", false, "", ""},
		{"1700000600:alice:", false, "", ""},
		{"1700000600:a:b:c", false, "", ""},
		{"1700000600:al ice:E1", false, "", ""},
	} {
		exp, acct, epoch, ok := parseUsername(tc.in)
		if ok != tc.ok || acct != tc.acct || epoch != tc.epoch {
			t.Errorf("parseUsername(%q) = %q, %q, %v; want %q, %q, %v", tc.in, acct, epoch, ok, tc.acct, tc.epoch, tc.ok)
		}
		if ok && exp.Unix() != 1700000600 {
			t.Errorf("parseUsername(%q) expiry %v", tc.in, exp)
		}
	}
}

// epochMap is a turn.Epochs for tests.
type epochMap map[string]string

func (m epochMap) Epoch(account string) (string, bool) {
	e, ok := m[account]
	return e, ok
}

func TestAuthHandler(t *testing.T) {
	c := NewCredentials("app-secret", time.Minute)
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	epochs := epochMap{"alice": "E1"}
	h := c.authHandler(epochs)
	user, pass, _ := c.Issue("alice", "E1")
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	ask := func(user, realm string, m stun.Method) ([]byte, bool) {
		id, key, ok := h(&pionturn.RequestAttributes{Username: user, Realm: realm, SrcAddr: src, Method: m})
		if ok && id != "alice" {
			t.Fatalf("user id %q, want alice", id)
		}
		return key, ok
	}
	key, ok := ask(user, Realm, stun.MethodAllocate)
	if !ok || string(key) != string(pionturn.GenerateAuthKey(user, Realm, pass)) {
		t.Fatal("valid credentials refused or wrong key")
	}
	if _, ok := ask(user, "elsewhere", stun.MethodAllocate); ok {
		t.Fatal("foreign realm accepted")
	}
	if _, ok := ask("garbage", Realm, stun.MethodAllocate); ok {
		t.Fatal("malformed username accepted")
	}
	now = now.Add(2 * time.Minute) // expired
	if _, ok := ask(user, Realm, stun.MethodAllocate); ok {
		t.Fatal("expired credentials open an allocation")
	}
	// An existing allocation keeps working (its requests still need the HMAC,
	// which the key carries).
	for _, m := range []stun.Method{stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind} {
		if _, ok := ask(user, Realm, m); !ok {
			t.Fatalf("expired credentials refused on %v of an existing allocation", m)
		}
	}
	// A token reset (new epoch) or a removed account revokes them for
	// every request, refreshes included.
	for name, state := range map[string]epochMap{"token reset": {"alice": "E2"}, "account removed": {}} {
		epochs["alice"] = state["alice"]
		if _, present := state["alice"]; !present {
			delete(epochs, "alice")
		}
		for _, m := range []stun.Method{stun.MethodAllocate, stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind} {
			if _, ok := ask(user, Realm, m); ok {
				t.Fatalf("%s: old credentials accepted on %v", name, m)
			}
		}
	}
}

func TestPeerPermission(t *testing.T) {
	lo := peerPermission(net.IPv4(127, 0, 0, 1))
	pub := peerPermission(net.ParseIP("203.0.113.7"))
	lan := peerPermission(net.ParseIP("10.1.2.3"))
	for _, tc := range []struct {
		h    pionturn.PermissionHandler
		peer string
		want bool
	}{
		{lo, "127.0.0.1", true},
		{lo, "127.0.0.2", true},
		{lo, "203.0.113.9", false},
		{pub, "203.0.113.9", true},
		{pub, "2001:db8::1", true},
		{pub, "192.168.1.10", false}, // the server's internal network
		{pub, "10.0.0.1", false},
		{pub, "172.16.5.4", false},
		{pub, "fd00::1", false},
		{pub, "169.254.169.254", false}, // cloud metadata
		{pub, "fe80::1", false},
		{pub, "127.0.0.1", false},
		{pub, "::1", false},
		{pub, "0.0.0.0", false},
		{pub, "224.0.0.1", false},
		{pub, "255.255.255.255", false},
		{lan, "10.1.2.9", true}, // a LAN relay serves its LAN
		{lan, "192.168.1.10", true},
		{lan, "203.0.113.9", true},
		{lan, "169.254.169.254", false},
		{lan, "127.0.0.1", false},
	} {
		if got := tc.h(nil, net.ParseIP(tc.peer)); got != tc.want {
			t.Errorf("peer %s: allowed %v, want %v", tc.peer, got, tc.want)
		}
	}
}
