package turn

import (
	"net"

	"github.com/pion/turn/v5"
)

// peerPermission decides which peers a client may relay to. A relay on a
// loopback address (one machine, tests) reaches loopback peers only; any
// other relay refuses loopback peers, so it cannot be used to reach
// services listening on the server's own host. Unspecified, multicast and
// broadcast addresses are never peers.
func peerPermission(relayIP net.IP) turn.PermissionHandler {
	loopback := relayIP.IsLoopback()
	return func(_ net.Addr, peer net.IP) bool {
		switch {
		case peer == nil, peer.IsUnspecified(), peer.IsMulticast(), peer.Equal(net.IPv4bcast):
			return false
		case loopback:
			return peer.IsLoopback()
		default:
			return !peer.IsLoopback()
		}
	}
}
