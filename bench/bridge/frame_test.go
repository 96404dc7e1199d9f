package bridge

import (
	"testing"
	"time"
)

func TestIsUDP(t *testing.T) {
	eth := func(et uint16, payload ...byte) []byte {
		f := make([]byte, 12, 64)
		f = append(f, byte(et>>8), byte(et))
		return append(f, payload...)
	}
	ipv4 := func(proto byte) []byte {
		h := make([]byte, 20)
		h[0], h[9] = 0x45, proto
		return h
	}
	ipv6 := func(next byte) []byte {
		h := make([]byte, 40)
		h[0], h[6] = 0x60, next
		return h
	}
	vlan := append(eth(0x8100, 0, 1, 0x08, 0x00), ipv4(17)...)
	tests := []struct {
		name string
		f    []byte
		want bool
	}{
		{"ipv4 udp", eth(0x0800, ipv4(17)...), true},
		{"ipv4 tcp", eth(0x0800, ipv4(6)...), false},
		{"ipv6 udp", eth(0x86dd, ipv6(17)...), true},
		{"ipv6 tcp", eth(0x86dd, ipv6(6)...), false},
		{"arp", eth(0x0806, make([]byte, 28)...), false},
		{"vlan ipv4 udp", vlan, true},
		{"truncated ipv4", eth(0x0800, 0x45, 0, 0), false},
		{"runt", []byte{1, 2, 3}, false},
		{"truncated vlan", eth(0x8100, 0), false},
	}
	for _, tt := range tests {
		if got := isUDP(tt.f); got != tt.want {
			t.Errorf("%s: isUDP = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMeter(t *testing.T) {
	m := meter{start: time.Unix(100, 0)}
	m.slot(&m.offered, time.Unix(100, 5e8), 1000)
	m.slot(&m.offered, time.Unix(102, 0), 250)
	m.slot(&m.offered, time.Unix(99, 0), 999) // before the start: ignored
	got := kbps(m.offered)
	if len(got) != 3 || got[0] != 8 || got[1] != 0 || got[2] != 2 {
		t.Errorf("kbps %v, want [8 0 2]", got)
	}
}
