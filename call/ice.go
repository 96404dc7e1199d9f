package call

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
)

// iceRefreshMargin: credentials that expire sooner than this are refreshed
// before a media session uses them. The relay checks expiry when the
// allocation is made, within seconds of the session's start; a call may
// then outlive the credentials.
const iceRefreshMargin = time.Minute

// iceCreds are the STUN/TURN servers the signaling server handed out, with
// their expiry on the local clock (zero: none).
type iceCreds struct {
	servers  []protocol.ICEServer
	deadline time.Time
}

// newICECreds converts the server's expiry (server clock) to the local
// clock through the server time sent alongside.
func newICECreds(servers []protocol.ICEServer, expiresAt, serverTime int64, now time.Time) iceCreds {
	c := iceCreds{servers: servers}
	if expiresAt > 0 && serverTime > 0 {
		c.deadline = now.Add(time.Duration(expiresAt-serverTime) * time.Millisecond)
	}
	return c
}

func (c iceCreds) stale(now time.Time) bool {
	return len(c.servers) > 0 && !c.deadline.IsZero() && c.deadline.Sub(now) < iceRefreshMargin
}

// ICEServers returns the STUN/TURN servers the signaling server offers this
// device (from the login reply), fetching fresh credentials first when
// those it has are about to expire. The credentials are secrets: never log
// them.
func (e *Engine) ICEServers(ctx context.Context) ([]protocol.ICEServer, error) {
	e.mu.Lock()
	c := e.ice
	e.mu.Unlock()
	if !c.stale(time.Now()) {
		return c.servers, nil
	}
	data, err := e.send(ctx, protocol.ReqICEServers, nil, nil)
	if err != nil {
		return c.servers, fmt.Errorf("refresh ICE servers: %w", err)
	}
	var r protocol.ICEServersReply
	if err := json.Unmarshal(data, &r); err != nil {
		return c.servers, fmt.Errorf("ICE servers reply: %w", err)
	}
	fresh := newICECreds(r.ICEServers, r.ExpiresAt, r.ServerTime, time.Now())
	e.mu.Lock()
	e.ice = fresh
	e.mu.Unlock()
	return fresh.servers, nil
}

// sessionICEServers is what a new media session uses: the media config's
// own servers, then the signaling server's.
func (e *Engine) sessionICEServers(ctx context.Context) []webrtc.ICEServer {
	out := slices.Clone(e.cfg.Media.ICEServers)
	servers, err := e.ICEServers(ctx)
	if err != nil {
		e.log.Warn("using the TURN credentials of the login", "err", err)
	}
	for _, s := range servers {
		out = append(out, webrtc.ICEServer{
			URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential,
			CredentialType: webrtc.ICECredentialTypePassword,
		})
	}
	return out
}

// hasTURN reports a TURN server among servers.
func hasTURN(servers []webrtc.ICEServer) bool {
	for _, s := range servers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				return true
			}
		}
	}
	return false
}

// withoutLoopbackServers drops the STUN/TURN URLs whose host is a loopback
// address. Such a server can only reflect or relay loopback addresses,
// which the host candidates already reach; its candidates double the
// connectivity checks of every call, and pion's reflexive socket, bound to
// the wildcard address, answers from other addresses on a multi-homed
// machine, so those checks fail as asymmetric. A relay-only session keeps
// them: there the relay is the point.
func withoutLoopbackServers(servers []webrtc.ICEServer) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, s := range servers {
		urls := slices.DeleteFunc(slices.Clone(s.URLs), isLoopbackICEURL)
		if len(urls) > 0 {
			s.URLs = urls
			out = append(out, s)
		}
	}
	return out
}

// isLoopbackICEURL reports a stun:/turn: URL (RFC 7064/7065) whose host is
// a loopback IP or localhost.
func isLoopbackICEURL(u string) bool {
	_, rest, ok := strings.Cut(u, ":")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, "?")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// usableInterfaceIP filters the addresses host candidates are gathered on:
// IPv6 link-local addresses (fe80::/10) need a zone, are reachable only on
// their own link and add a candidate pair per peer address, as browsers
// also leave them out.
func usableInterfaceIP(ip net.IP) bool {
	return !(ip.To4() == nil && ip.IsLinkLocalUnicast())
}
