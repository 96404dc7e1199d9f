package turn

import (
	"net"

	"github.com/pion/turn/v5"
)

// peerPermission decides which peers a client may relay to, so the relay
// cannot be used to reach what the server's network hides:
//   - a relay on a loopback address (one machine, tests) reaches loopback
//     peers only; any other relay refuses loopback peers (services on the
//     server's own host);
//   - a relay on a public address also refuses private and unique-local
//     peers (the server's internal network); one on a private address
//     serves a LAN and reaches it;
//   - link-local peers (169.254.169.254 is a cloud's metadata service),
//     unspecified, multicast and broadcast addresses are never peers.
func peerPermission(relayIP net.IP) turn.PermissionHandler {
	loopback := relayIP.IsLoopback()
	public := !loopback && !relayIP.IsPrivate()
	return func(_ net.Addr, peer net.IP) bool {
		switch {
		case peer == nil, peer.IsUnspecified(), peer.IsMulticast(), peer.Equal(net.IPv4bcast),
			peer.IsLinkLocalUnicast():
			return false
		case loopback:
			return peer.IsLoopback()
		case peer.IsLoopback():
			return false
		case public:
			return !peer.IsPrivate()
		}
		return true
	}
}
