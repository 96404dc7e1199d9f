package rtc

import (
	"net"
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestIsLoopbackICEURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"stun:127.0.0.1:3478", true},
		{"turn:127.0.0.1:3478?transport=udp", true},
		{"turn:127.9.8.7", true},
		{"turns:localhost:5349", true},
		{"stun:[::1]:3478", true},
		{"turn:[::1]", true},
		{"stun:stun.example.org:3478", false},
		{"turn:203.0.113.7:3478?transport=udp", false},
		{"turn:[2001:db8::1]:3478", false},
		{"stun:", false},
		{"garbage", false},
	} {
		if got := isLoopbackICEURL(tc.url); got != tc.want {
			t.Errorf("isLoopbackICEURL(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}

func TestWithoutLoopbackServers(t *testing.T) {
	in := []webrtc.ICEServer{
		{URLs: []string{"stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"}, Username: "u", Credential: "c"},
		{URLs: []string{"turn:127.0.0.1:3478", "turn:203.0.113.7:3478"}, Username: "u2", Credential: "c2"},
	}
	got := withoutLoopbackServers(in)
	if len(got) != 1 || !slices.Equal(got[0].URLs, []string{"turn:203.0.113.7:3478"}) || got[0].Username != "u2" {
		t.Fatalf("got %+v, want only the public relay of the second server", got)
	}
	if len(in[1].URLs) != 2 {
		t.Fatalf("the input was modified: %+v", in)
	}
}

func TestUsableInterfaceIP(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"192.0.2.2", true},
		{"169.254.1.1", true}, // IPv4 link-local stays: some LANs run on it
		{"fd00::2", true},
		{"2001:db8::5", true},
		{"fe80::fc:ff:fe00:1", false},
	} {
		if got := usableInterfaceIP(net.ParseIP(tc.ip)); got != tc.want {
			t.Errorf("usableInterfaceIP(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}
