package e2e

import (
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"

	"github.com/softphone/softphone/call"
)

// impairedNets builds a virtual network (pion/transport v5 vnet) between two
// hosts: every packet crosses a router adding 30–50 ms (40 ± 10 ms) and
// each host drops lossPct of what it receives.
func impairedNets(t *testing.T, lossPct int) (a, b *vnet.Net) {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	wan, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          "10.7.0.0/24",
		MinDelay:      30 * time.Millisecond,
		MaxJitter:     20 * time.Millisecond,
		LoggerFactory: lf,
	})
	if err != nil {
		t.Fatal(err)
	}
	host := func(ip string, seed int64) *vnet.Net {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err != nil {
			t.Fatal(err)
		}
		loss, err := vnet.NewLossFilter(n, lossPct, vnet.WithLossSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		if err := wan.AddNet(loss); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, b = host("10.7.0.2", 1), host("10.7.0.3", 2)
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	return a, b
}

func TestMediaCallUnderLossAndDelay(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	na, nb := impairedNets(t, 5)
	mc := startMediaCall(t, srv, func(a, b *call.MediaConfig) {
		a.Net, b.Net = na, nb
	})
	counters, bad := watchVideo(mc.bob, 5*time.Second)
	checkCounters(t, "bob sees alice", counters, bad, 20)
	// Recovery: frames keep arriving to the end, not just at the start.
	late, _ := watchVideo(mc.bob, time.Second)
	if len(late) == 0 {
		t.Fatal("no decodable video in the last second: the receiver did not recover from loss")
	}
	repaired := 0.0
	for _, d := range []*device{mc.alice, mc.bob} {
		st, ok := d.MediaStats()
		if !ok {
			t.Fatalf("%s: no media stats", d.name)
		}
		t.Logf("%s last STATS %s", d.name, mustJSON(st))
		repaired += st.CallREDPct + st.CallFECPct
	}
	// The senders add redundancy (RED between softphones), so losses are
	// played from the copies rather than concealed.
	if repaired == 0 {
		t.Error("no audio frame was repaired from redundancy under 5% loss")
	}
	mc.finish(t, 0.8)
}
