package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/server"
)

// waitRelayStats waits for a STATS event of d whose selected ICE pair is
// relayed on this side and which shows media arriving.
func waitRelayStats(t *testing.T, d *device) call.CallStats {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last call.CallStats
	for time.Now().Before(deadline) {
		st := d.waitFor(call.EvStats, time.Until(deadline)).Data.(call.CallStats)
		last = st
		if st.CandidateType == "relay" && st.AudioRecvKbps > 0 {
			return st
		}
	}
	t.Fatalf("%s: no STATS over a relayed pair with audio arriving; last %s", d.name, mustJSON(last))
	return last
}

// TestMediaRelayOnly: a call with both engines forced onto the relay path
// goes through the embedded TURN server with credentials from the login
// reply. Their TTL is below the engine's refresh margin, so each session
// fetches fresh ones (the iceServers request) before it allocates.
func TestMediaRelayOnly(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, func(c *server.Config) {
		c.TURNListen = "127.0.0.1:0"
		c.TURNCredentialTTL = 30 * time.Second
	})
	if srv.TURNURL() == "" {
		t.Fatal("no TURN relay started")
	}
	mc := startMediaCall(t, srv, func(a, b *call.MediaConfig) {
		a.RelayOnly, b.RelayOnly = true, true
	})

	lr := mc.alice.Session()
	if len(lr.ICEServers) != 1 || lr.ICEServers[0].URLs[0] != srv.TURNURL() {
		t.Fatalf("login reply ICE servers %v, want the relay %s", lr.ICEServers, srv.TURNURL())
	}
	if u := lr.ICEServers[0].Username; strings.Count(u, ":") != 2 || !strings.Contains(u, ":alice:") || lr.ICEServers[0].Credential == "" {
		t.Fatalf("TURN username %q: want <expiry>:alice:<epoch> and a credential", u)
	}
	if ttl := time.Duration(lr.ICEExpiresAt-lr.ServerTime) * time.Millisecond; ttl <= 0 || ttl > 31*time.Second {
		t.Fatalf("credentials valid for %v, want ≤ 30s", ttl)
	}
	if s, err := mc.alice.ICEServers(ctxT(t)); err != nil || len(s) != 1 {
		t.Fatalf("refreshed ICE servers %v, err %v", s, err)
	}

	for _, d := range []*device{mc.alice, mc.bob} {
		st := waitRelayStats(t, d)
		t.Logf("%s: pair %s → %s, recv %.0f kbps (audio %.0f), rtt %.1f ms", d.name, st.CandidateType, st.RemoteCandidateType, st.RecvKbps, st.AudioRecvKbps, st.RttMs)
	}
	counters, bad := watchVideo(mc.bob, 2*time.Second)
	checkCounters(t, "bob sees alice through the relay", counters, bad, 10)
	mc.finish(t, 0.9)
}

// TestMediaRelayOnlyWithoutTURN: relay-only against a server that runs no
// relay says so instead of failing silently.
func TestMediaRelayOnlyWithoutTURN(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	mc := startMediaCall(t, srv, func(a, _ *call.MediaConfig) { a.RelayOnly = true })
	if s := mc.alice.Session().ICEServers; len(s) != 0 {
		t.Fatalf("a server without TURN hands out %v", s)
	}
	// The caller's session starts while it rings, so the warning may have
	// come before USER_ACCEPT.
	var w call.MediaWarning
	for _, ev := range mc.alice.seen {
		if mw, ok := ev.Data.(call.MediaWarning); ok && w.Kind == "" {
			w = mw
		}
	}
	if w.Kind == "" {
		w = mc.alice.waitFor(call.EvMediaWarning, waitTimeout).Data.(call.MediaWarning)
	}
	if w.Kind != "network" || !strings.Contains(w.Error, "TURN") {
		t.Fatalf("warning %s, want kind network about TURN", mustJSON(w))
	}
	if err := mc.alice.Hangup(ctxT(t)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
}
