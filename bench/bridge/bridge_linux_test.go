//go:build linux

package bridge

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softphone/softphone/bench/netem"
)

// inNetns runs f on a thread switched into the named network namespace;
// sockets f creates stay in that namespace.
func inNetns(t *testing.T, name string, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		// The thread is left locked and so discarded when the goroutine
		// ends: it never returns to the pool in the other namespace.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
}

// TestBridgeBetweenNamespaces sends UDP from one namespace to another
// through a real bridge with loss and delay and checks what arrives. It
// needs root, iproute2 and ethtool (the benchmark's own requirements).
func TestBridgeBetweenNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, tool := range []string{"ip", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing", tool)
			}
			t.Skipf("%s missing", tool)
		}
	}
	pfx := fmt.Sprintf("bt%d", os.Getpid()%100000)
	na, nb, nm := pfx+"a", pfx+"b", pfx+"m"
	for _, n := range []string{na, nb, nm} {
		sh(t, "ip", "netns", "add", n)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n).Run() })
		sh(t, "ip", "-n", n, "link", "set", "dev", "lo", "up")
	}
	sh(t, "ip", "link", "add", "va", "netns", na, "type", "veth", "peer", "name", "mva", "netns", nm)
	sh(t, "ip", "link", "add", "vb", "netns", nb, "type", "veth", "peer", "name", "mvb", "netns", nm)
	sh(t, "ip", "-n", na, "addr", "add", "10.77.9.1/24", "dev", "va")
	sh(t, "ip", "-n", nb, "addr", "add", "10.77.9.2/24", "dev", "vb")
	for _, x := range [][2]string{{na, "va"}, {nb, "vb"}, {nm, "mva"}, {nm, "mvb"}} {
		sh(t, "ip", "netns", "exec", x[0], "ethtool", "-K", x[1], "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off")
		sh(t, "ip", "-n", x[0], "link", "set", "dev", x[1], "up")
	}

	p := netem.Profile{Loss: 0.10, Delay: 30 * time.Millisecond, Seed: 4}
	var br *Bridge
	inNetns(t, nm, func() (err error) {
		br, err = New(Config{A: "mva", B: "mvb", AtoB: p, BtoA: p})
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	var rx, tx *net.UDPConn
	inNetns(t, nb, func() (err error) {
		rx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 77, 9, 2), Port: 9999})
		return err
	})
	defer rx.Close()
	inNetns(t, na, func() (err error) {
		tx, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 77, 9, 2), Port: 9999})
		return err
	})
	defer tx.Close()

	const n = 600
	type got struct {
		seq   uint32
		delay time.Duration
	}
	recv := make(chan []got, 1)
	go func() {
		var gs []got
		buf := make([]byte, 1500)
		for {
			_ = rx.SetReadDeadline(time.Now().Add(time.Second))
			k, err := rx.Read(buf)
			if err != nil || k < 12 {
				recv <- gs
				return
			}
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(buf[4:12])))
			gs = append(gs, got{binary.BigEndian.Uint32(buf[:4]), time.Since(sent)})
		}
	}()
	// ARP resolves through the bridge first (not impaired).
	time.Sleep(100 * time.Millisecond)
	msg := make([]byte, 200)
	for i := range n {
		binary.BigEndian.PutUint32(msg[:4], uint32(i))
		binary.BigEndian.PutUint64(msg[4:12], uint64(time.Now().UnixNano()))
		if _, err := tx.Write(msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	gs := <-recv
	st := br.Stats()
	if st.AtoB.Packets < n {
		t.Fatalf("bridge saw %d UDP packets of %d", st.AtoB.Packets, n)
	}
	lost := n - len(gs)
	if uint64(lost) != st.AtoB.LostRandom {
		t.Errorf("%d packets missing, bridge dropped %d", lost, st.AtoB.LostRandom)
	}
	if share := float64(lost) / n; share < 0.05 || share > 0.16 {
		t.Errorf("lost %.3f with loss=10%%", share)
	}
	var offered float64
	for _, k := range st.AtoB.OfferedKbps {
		offered += k * 1000 / 8
	}
	// 600 frames of 200 bytes of payload + 42 bytes of headers, plus ARP.
	if offered < n*242 || offered > n*242+2000 {
		t.Errorf("meter counted %.0f bytes offered, sent %d", offered, n*242)
	}
	for _, g := range gs {
		if g.delay < 30*time.Millisecond {
			t.Fatalf("packet %d arrived after %v, delay is 30 ms", g.seq, g.delay)
		}
	}
}
