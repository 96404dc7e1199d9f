package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/softphone/softphone/internal/testcert"
)

// TestNetnsScripts runs scripts whose clients live in a network namespace
// of their own: a veth pair links it to this one, and iptables drops every
// UDP packet in it. It needs root, ip and iptables (scripts/test installs
// them). Without them the test is skipped, except in CI (CI=true), where
// that is a failure.
func TestNetnsScripts(t *testing.T) {
	if why := netnsUnavailable(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	p := scriptParams("testdata/netns")
	p.Cmds["udpblockedns"] = cmdUDPBlockedNS
	p.Cmds["udpdropped"] = cmdUDPDropped
	p.Cmds["mkcert"] = cmdMkCert
	testscript.Run(t, p)
}

// netnsUnavailable says why network namespaces cannot be made here ("" if
// they can).
func netnsUnavailable() string {
	if os.Geteuid() != 0 {
		return "network namespace tests need root"
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not on PATH; scripts/test installs iproute2 and iptables"
		}
	}
	return ""
}

// run runs a command for a script and fails it with the command's output.
func runTool(ts *testscript.TestScript, name string, args ...string) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		ts.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// cmdUDPBlockedNS makes a namespace whose UDP is dropped both ways and
// links it to this one: `udpblockedns NS HOSTIP NSIP` sets the three
// variables (the namespace name, this side's address, its side's). The
// addresses are a random /30 of 10.203.0.0/16, on this machine only; the
// namespace and its link go when the script ends.
func cmdUDPBlockedNS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: udpblockedns NSVAR HOSTIPVAR NSIPVAR")
	}
	var r [3]byte
	_, _ = rand.Read(r[:])
	name := fmt.Sprintf("spu%02x%02x%02x", r[0], r[1], r[2])
	host := fmt.Sprintf("10.203.%d.%d", r[0], int(r[1]&^3)+1)
	peer := fmt.Sprintf("10.203.%d.%d", r[0], int(r[1]&^3)+2)
	outside, inside := "vh"+name[3:], "vn"+name[3:]
	runTool(ts, "ip", "netns", "add", name)
	ts.Defer(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	runTool(ts, "ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
	ts.Defer(func() { _ = exec.Command("ip", "link", "del", outside).Run() })
	runTool(ts, "ip", "link", "set", inside, "netns", name)
	runTool(ts, "ip", "addr", "add", host+"/30", "dev", outside)
	runTool(ts, "ip", "link", "set", outside, "up")
	in := func(args ...string) { runTool(ts, "ip", append([]string{"netns", "exec", name}, args...)...) }
	in("ip", "addr", "add", peer+"/30", "dev", inside)
	in("ip", "link", "set", inside, "up")
	in("ip", "link", "set", "lo", "up")
	in("iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP")
	in("iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP")
	ts.Setenv(args[0], name)
	ts.Setenv(args[1], host)
	ts.Setenv(args[2], peer)
}

// cmdUDPDropped checks that the namespace's firewall dropped outgoing UDP
// (the clients did try it): `udpdropped NS`.
func cmdUDPDropped(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: udpdropped NS")
	}
	out, err := exec.Command("ip", "netns", "exec", args[0], "iptables", "-L", "OUTPUT", "-v", "-n", "-x").CombinedOutput()
	ts.Check(err)
	dropped := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[2] == "DROP" && (f[3] == "udp" || f[3] == "17") {
			dropped, _ = strconv.Atoi(f[0])
		}
	}
	if (dropped > 0) == neg {
		ts.Fatalf("%d outgoing UDP packets dropped in %s:\n%s", dropped, args[0], out)
	}
	ts.Logf("%d outgoing UDP packets dropped", dropped)
}

// cmdMkCert writes cert.pem, key.pem and ca.pem for HOSTS into DIR:
// `mkcert DIR HOST...`.
func cmdMkCert(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkcert DIR HOST...")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	_, err := testcert.Generate(dir, args[1:]...)
	ts.Check(err)
}
