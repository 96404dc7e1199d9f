package call

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/trace"
)

// engineTracer feeds Config.Trace. A nil *engineTracer (no trace
// configured) ignores every call, so the hooks need no checks.
type engineTracer struct {
	w      *trace.Writer
	device string

	mu      sync.Mutex
	account string

	// last is the last traced call state; guarded by Engine.mu, which
	// every caller of stateLocked holds.
	last protocol.CallState
}

func newEngineTracer(w *trace.Writer, device string) *engineTracer {
	if w == nil {
		return nil
	}
	return &engineTracer{w: w, device: device, last: protocol.StateIdle}
}

func (t *engineTracer) source() trace.Source {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trace.Source{Account: t.account, Device: t.device}
}

func (t *engineTracer) log(at time.Time, kind string, data any) {
	if t == nil {
		return
	}
	t.w.Log(at, t.source(), kind, data)
}

// started records the engine's creation.
func (t *engineTracer) started(server string) {
	t.log(time.Now(), trace.KindEngine, map[string]any{
		"event": "created", "server": server, "protocol": protocol.Version,
	})
}

// login names the account of later records and makes sure its token never
// reaches the file, whatever field it turns up in.
func (t *engineTracer) login(account, token string) {
	if t == nil {
		return
	}
	t.w.AddSecret(token)
	t.mu.Lock()
	t.account = account
	t.mu.Unlock()
}

// closed records the engine's end and flushes: the caller owns the Writer
// and closes it, but what this engine traced is on disk from here on.
func (t *engineTracer) closed() {
	if t == nil {
		return
	}
	t.log(time.Now(), trace.KindEngine, map[string]string{"event": "closed"})
	_ = t.w.Flush()
}

// frame records one signaling frame (before redaction, which Log does).
func (t *engineTracer) frame(out bool, b []byte) {
	if t == nil {
		return
	}
	kind := trace.KindSignalIn
	if out {
		kind = trace.KindSignalOut
	}
	t.log(time.Now(), kind, json.RawMessage(b))
}

// event records an engine event; STATS become stats records.
func (t *engineTracer) event(ev Event) {
	if ev.Name == EvStats {
		t.log(ev.Time, trace.KindStats, ev.Data)
		return
	}
	t.log(ev.Time, trace.KindEvent, struct {
		Name string `json:"name"`
		Data any    `json:"data,omitempty"`
	}{ev.Name, ev.Data})
}

// stateLocked records a call state transition (e.mu held).
func (t *engineTracer) stateLocked(st protocol.CallState, cur *CallInfo) {
	if t == nil || st == t.last {
		return
	}
	rec := map[string]any{"from": t.last.String(), "to": st.String()}
	if cur != nil {
		rec["channelId"], rec["peer"], rec["callType"] = cur.ChannelID, cur.Peer, cur.CallType
	}
	t.last = st
	t.log(time.Now(), trace.KindState, rec)
}

// Candidate records a local or remote ICE candidate of a call.
func (t *engineTracer) Candidate(local bool, channel string, c webrtc.ICECandidateInit) {
	if t == nil {
		return
	}
	kind := trace.KindICERemote
	if local {
		kind = trace.KindICELocal
	}
	t.log(time.Now(), kind, map[string]any{"channelId": channel, "candidate": c.Candidate, "sdpMid": c.SDPMid})
}

// Pair records the candidate pair ICE selected.
func (t *engineTracer) Pair(channel string, p *webrtc.ICECandidatePair) {
	if t == nil || p == nil || p.Local == nil || p.Remote == nil {
		return
	}
	side := func(c *webrtc.ICECandidate) map[string]any {
		m := map[string]any{
			"type": c.Typ.String(), "protocol": c.Protocol.String(), "address": c.Address, "port": c.Port,
			"priority": c.Priority,
		}
		if c.RelatedAddress != "" {
			m["relatedAddress"], m["relatedPort"] = c.RelatedAddress, c.RelatedPort
		}
		return m
	}
	t.log(time.Now(), trace.KindICEPair, map[string]any{"channelId": channel, "local": side(p.Local), "remote": side(p.Remote)})
}

// MediaState records a change of the media connection's state.
func (t *engineTracer) MediaState(channel, state string) {
	t.log(time.Now(), trace.KindMedia, map[string]string{"channelId": channel, "connection": state})
}

// startTrace sets up tracing in New: the engine record, and every event
// (the bus handler runs on the dispatcher, never in the engine's way).
func (e *Engine) startTrace() {
	e.tr = newEngineTracer(e.cfg.Trace, e.cfg.Device)
	if e.tr == nil {
		return
	}
	e.tr.started(e.url)
	e.bus.on(AllEvents, e.tr.event)
}
