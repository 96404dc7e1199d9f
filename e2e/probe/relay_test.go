//go:build probe

package probe

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

type peerAddr struct{ ip net.IP }

func (p peerAddr) AddTo(m *stun.Message) error {
	a := stun.XORMappedAddress{IP: p.ip, Port: 9}
	return a.AddToAs(m, stun.AttrXORPeerAddress)
}

// permit asks for a permission to ip on an allocation.
func (tc *turnConn) permit(ip net.IP) error {
	_, err := tc.request(stun.MethodCreatePermission, peerAddr{ip})
	if err != nil && tc.lastCode == 438 {
		_, err = tc.request(stun.MethodCreatePermission, peerAddr{ip})
	}
	return err
}

// hostIP is this machine's first non-loopback IPv4 address.
func hostIP(t *testing.T) string {
	out, err := exec.Command("hostname", "-I").Output()
	if err == nil {
		for _, f := range strings.Fields(string(out)) {
			if ip := net.ParseIP(f); ip != nil && ip.To4() != nil && !ip.IsLoopback() {
				return f
			}
		}
	}
	t.Skip("no non-loopback IPv4 address")
	return ""
}

// TestTURN: the relay's credentials, quotas and peer restrictions.
func TestTURN(t *testing.T) {
	sp := startServe(t, "")
	at := sp.createUser("alice", "")
	w := dialWS(t, sp.url)
	r := w.req("login", map[string]any{"account": "alice", "token": at, "device": newDevice(), "checkSum": true})
	urls, user, pass := iceServersOf(r)
	if len(urls) == 0 {
		t.Fatal("no TURN")
	}

	probeCase(t, "T01", "forged TURN usernames (other account, later expiry, other epoch) are refused", func(t *testing.T) {
		parts := strings.SplitN(user, ":", 3)
		if len(parts) != 3 {
			t.Fatalf("username %q", user)
		}
		for _, u := range []string{
			parts[0] + ":bob:" + parts[2],
			strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10) + ":" + parts[1] + ":" + parts[2],
			parts[0] + ":" + parts[1] + ":AAAAAAAAAAA",
			parts[0] + ":" + parts[1],
			"alice",
		} {
			tc, err := dialTURN(urls[0], u, pass)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.allocate(); err == nil {
				t.Errorf("allocation with username %q and alice's credential succeeded", u)
			}
			tc.Close()
		}
		// An expired credential computed with a guessed key fails too.
		mac := hmac.New(sha1.New, []byte("softphone"))
		exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + ":alice:" + parts[2]
		mac.Write([]byte(exp))
		tc, _ := dialTURN(urls[0], exp, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		if err := tc.allocate(); err == nil {
			t.Errorf("a credential under a guessed key allocated")
		}
		tc.Close()
	})
	probeCase(t, "T02", "allocations per account are bounded", func(t *testing.T) {
		const n = 200
		ok := 0
		var conns []*turnConn
		for i := 0; i < n; i++ {
			tc, err := dialTURN(urls[0], user, pass)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, tc)
			if err := tc.allocate(); err == nil {
				ok++
			} else if tc.lastCode == 486 {
				break
			}
		}
		fds := fdCount(sp.cmd.Process.Pid)
		for _, c := range conns {
			_ = c.refresh(0)
			c.Close()
		}
		t.Logf("%d of %d allocations of one account succeeded (server fds: %d)", ok, len(conns), fds)
		if ok >= n {
			t.Errorf("no allocation quota: one account holds %d relay ports", ok)
		}
	})
	probeCase(t, "T03", "a relay on a non-loopback address refuses loopback, link-local and private peers", func(t *testing.T) {
		ip := hostIP(t)
		psp := startServe(t, "", "--turn-listen", ip+":0")
		tok := psp.createUser("alice", "")
		w := dialWS(t, psp.url)
		r := w.req("login", map[string]any{"account": "alice", "token": tok, "device": newDevice(), "checkSum": true})
		urls, user, pass := iceServersOf(r)
		if len(urls) == 0 {
			t.Fatalf("no TURN: %s", r.Raw)
		}
		tc, err := dialTURN(urls[0], user, pass)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		if err := tc.allocate(); err != nil {
			t.Fatalf("allocate: %v", err)
		}
		for _, peer := range []string{"127.0.0.1", "169.254.169.254", "0.0.0.0", "255.255.255.255", "224.0.0.1", "10.0.0.1", "192.168.1.1", "::1", "::ffff:127.0.0.1"} {
			if err := tc.permit(net.ParseIP(peer)); err == nil {
				t.Errorf("permission to %s granted on a relay at %s", peer, ip)
			}
		}
		if err := tc.permit(net.ParseIP(ip)); err == nil {
			t.Logf("INFO: permission to the relay's own address %s granted (reaches the host's UDP services on it)", ip)
		}
		if err := tc.permit(net.ParseIP("8.8.8.8")); err != nil {
			t.Errorf("permission to a public peer refused: %v", err)
		}
	})
	_ = fmt.Sprint
}
