package rtc

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"
)

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
