// Package bridge copies Ethernet frames between two network interfaces —
// the ends of two veth pairs in a middle network namespace — through one
// netem.Link per direction, so two namespaces talk over an impaired wire
// without the kernel's sch_netem. Linux only (AF_PACKET sockets); needs
// CAP_NET_RAW in the middle namespace.
package bridge

import (
	"encoding/binary"
	"time"

	"github.com/softphone/softphone/bench/netem"
)

// Direction is what one direction of the bridge did.
type Direction struct {
	netem.Counters
	Bypassed uint64 `json:"bypassed"` // frames passed unimpaired (not UDP)
	// OfferedKbps and DeliveredKbps are the frame bytes (Ethernet frames,
	// all traffic) that arrived at and left the bridge in each whole
	// second since Start.
	Start         time.Time `json:"start"`
	OfferedKbps   []float64 `json:"offeredKbps"`
	DeliveredKbps []float64 `json:"deliveredKbps"`
	Reordered     uint64    `json:"reordered"` // frames released after a later one
	WriteErrs     uint64    `json:"writeErrors"`
	Profile       string    `json:"profile"` // the profile it started with
	MeanLossPc    float64   `json:"configuredLossPct"`
	// Switched lists when the profile changed during the run (a plan).
	Switched []Switch `json:"switched,omitempty"`
}

// Switch is one change of a direction's profile.
type Switch struct {
	At      time.Time `json:"at"`
	Profile string    `json:"profile"`
}

// Stats is the bridge's counters per direction.
type Stats struct {
	AtoB Direction `json:"aToB"`
	BtoA Direction `json:"bToA"`
}

// isUDP reports whether an Ethernet frame carries IPv4 or IPv6 UDP
// (802.1Q tags skipped).
func isUDP(f []byte) bool {
	if len(f) < 14 {
		return false
	}
	et := binary.BigEndian.Uint16(f[12:14])
	off := 14
	for et == 0x8100 || et == 0x88a8 {
		if len(f) < off+4 {
			return false
		}
		et = binary.BigEndian.Uint16(f[off+2 : off+4])
		off += 4
	}
	switch et {
	case 0x0800:
		return len(f) >= off+20 && f[off+9] == 17
	case 0x86dd:
		return len(f) >= off+40 && f[off+6] == 17
	}
	return false
}
