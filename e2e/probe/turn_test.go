//go:build probe

package probe

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/pion/stun/v4"
)

// turnURL is one TURN URL of a login reply: scheme turn/turns, address and
// transport.
type turnURL struct {
	scheme, addr, transport string
}

func parseTURNURL(u string) (turnURL, bool) {
	var t turnURL
	switch {
	case strings.HasPrefix(u, "turn:"):
		t.scheme, u = "turn", u[5:]
	case strings.HasPrefix(u, "turns:"):
		t.scheme, u = "turns", u[6:]
	default:
		return t, false
	}
	t.transport = "udp"
	if t.scheme == "turns" {
		t.transport = "tcp"
	}
	if i := strings.Index(u, "?transport="); i >= 0 {
		t.transport, u = u[i+len("?transport="):], u[:i]
	}
	t.addr = u
	return t, true
}

// turnConn is a minimal TURN client (RFC 5766 long-term credentials) over
// UDP, TCP or TLS, enough to allocate and refresh.
type turnConn struct {
	c        net.Conn
	stream   bool
	user     string
	pass     string
	realm    string
	nonce    string
	relayed  string
	lastCode int
}

func dialTURN(u turnURL, user, pass string) (*turnConn, error) {
	var c net.Conn
	var err error
	switch {
	case u.scheme == "turns":
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.addr, &tls.Config{InsecureSkipVerify: true})
	case u.transport == "tcp":
		c, err = net.DialTimeout("tcp", u.addr, 5*time.Second)
	default:
		c, err = net.DialTimeout("udp", u.addr, 5*time.Second)
	}
	if err != nil {
		return nil, err
	}
	return &turnConn{c: c, stream: u.scheme == "turns" || u.transport == "tcp", user: user, pass: pass}, nil
}

func (tc *turnConn) Close() { _ = tc.c.Close() }

func (tc *turnConn) roundTrip(m *stun.Message) (*stun.Message, error) {
	_ = tc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.c.Write(m.Raw); err != nil {
		return nil, err
	}
	var raw []byte
	if tc.stream {
		hdr := make([]byte, 20)
		if _, err := io.ReadFull(tc.c, hdr); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint16(hdr[2:4])
		body := make([]byte, n)
		if _, err := io.ReadFull(tc.c, body); err != nil {
			return nil, err
		}
		raw = append(hdr, body...)
	} else {
		buf := make([]byte, 1500)
		n, err := tc.c.Read(buf)
		if err != nil {
			return nil, err
		}
		raw = buf[:n]
	}
	res := new(stun.Message)
	res.Raw = raw
	if err := res.Decode(); err != nil {
		return nil, err
	}
	return res, nil
}

var errTURN = errors.New("turn error")

func (tc *turnConn) request(method stun.Method, attrs ...stun.Setter) (*stun.Message, error) {
	setters := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
	setters = append(setters, attrs...)
	if tc.nonce != "" {
		setters = append(setters, stun.NewUsername(tc.user), stun.NewRealm(tc.realm), stun.NewNonce(tc.nonce),
			stun.NewLongTermIntegrity(tc.user, tc.realm, tc.pass))
	}
	m, err := stun.Build(setters...)
	if err != nil {
		return nil, err
	}
	res, err := tc.roundTrip(m)
	if err != nil {
		return nil, err
	}
	if res.Type.Class == stun.ClassErrorResponse {
		var ec stun.ErrorCodeAttribute
		_ = ec.GetFrom(res)
		tc.lastCode = int(ec.Code)
		var realm stun.Realm
		var nonce stun.Nonce
		if realm.GetFrom(res) == nil {
			tc.realm = string(realm)
		}
		if nonce.GetFrom(res) == nil {
			tc.nonce = string(nonce)
		}
		return res, fmt.Errorf("%w %d %s", errTURN, ec.Code, ec.Reason)
	}
	tc.lastCode = 0
	return res, nil
}

// allocate makes an allocation (one unauthenticated round for the nonce).
func (tc *turnConn) allocate() error {
	transport := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	_, err := tc.request(stun.MethodAllocate, transport)
	if err != nil && tc.lastCode == 401 && tc.nonce != "" {
		var res *stun.Message
		res, err = tc.request(stun.MethodAllocate, transport)
		if err == nil {
			var addr stun.XORMappedAddress
			if addr.GetFromAs(res, stun.AttrXORRelayedAddress) == nil {
				tc.relayed = addr.String()
			}
		}
	}
	return err
}

// refresh refreshes the allocation (retrying once on a stale nonce).
func (tc *turnConn) refresh(lifetime uint32) error {
	lt := make([]byte, 4)
	binary.BigEndian.PutUint32(lt, lifetime)
	attr := stun.RawAttribute{Type: stun.AttrLifetime, Value: lt}
	_, err := tc.request(stun.MethodRefresh, attr)
	if err != nil && tc.lastCode == 438 {
		_, err = tc.request(stun.MethodRefresh, attr)
	}
	return err
}

// iceServersOf extracts the TURN URLs and credential of a login reply.
func iceServersOf(f frame) (urls []turnURL, user, pass string) {
	servers, _ := f.data()["iceServers"].([]any)
	for _, s := range servers {
		m, _ := s.(map[string]any)
		user, _ = m["username"].(string)
		pass, _ = m["credential"].(string)
		list, _ := m["urls"].([]any)
		for _, u := range list {
			if s, ok := u.(string); ok {
				if tu, ok := parseTURNURL(s); ok {
					urls = append(urls, tu)
				}
			}
		}
	}
	return urls, user, pass
}
