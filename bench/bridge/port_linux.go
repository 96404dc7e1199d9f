//go:build linux

package bridge

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// port is a raw AF_PACKET socket bound to one interface.
type port struct {
	name string
	fd   int
	idx  int
}

// packetIgnoreOutgoing is PACKET_IGNORE_OUTGOING (Linux 4.20): the socket
// does not see the frames it sends itself.
const packetIgnoreOutgoing = 23

func openPort(name string) (*port, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("bridge: interface %s: %w", name, err)
	}
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("bridge: packet socket on %s: %w", name, err)
	}
	p := &port{name: name, fd: fd, idx: ifi.Index}
	fail := func(what string, err error) (*port, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("bridge: %s on %s: %w", what, name, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	// Best effort: older kernels deliver our own frames, which read skips.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, packetIgnoreOutgoing, 1)
	// A read timeout lets the reader notice shutdown without closing the fd
	// under a blocked syscall.
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("receive timeout", err)
	}
	// Room for bursts while the sender sleeps between releases.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	return p, nil
}

// errTimeout is a read that found nothing within the socket timeout.
var errTimeout = errors.New("bridge: read timeout")

// read returns the next frame that arrived on the interface (not one that
// left it).
func (p *port) read(buf []byte) (int, error) {
	for {
		n, from, err := unix.Recvfrom(p.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return 0, errTimeout
			}
			if errors.Is(err, unix.ENETDOWN) {
				// The interface is not up (yet): wait like a timeout.
				time.Sleep(50 * time.Millisecond)
				return 0, errTimeout
			}
			return 0, fmt.Errorf("bridge: read %s: %w", p.name, err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		return n, nil
	}
}

func (p *port) write(frame []byte) error {
	if err := unix.Sendto(p.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: p.idx}); err != nil {
		return fmt.Errorf("bridge: write %s: %w", p.name, err)
	}
	return nil
}

func (p *port) close() error { return unix.Close(p.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }
