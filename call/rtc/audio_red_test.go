package rtc

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/impair"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/red"
)

// speechWAV writes a few seconds of synthetic speech for a session's
// microphone.
func speechWAV(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "speech.wav")
	if err := audiosrc.WriteWAVFile(p, 48000, audiocmp.Speech(48000*4, 48000, 5)); err != nil {
		t.Fatal(err)
	}
	return p
}

// relayTo returns a Relay that hands the peer what the session sends, in
// order, through deliver (set once the peer exists).
type relayTo struct {
	mu      sync.Mutex
	deliver func(protocol.RelayEvent)
	queue   []protocol.RelayEvent
}

func (r *relayTo) relay(kind string, payload json.RawMessage) (func(context.Context) error, error) {
	ev := protocol.RelayEvent{ChannelID: "c1", Kind: kind, Payload: payload}
	r.mu.Lock()
	if r.deliver == nil {
		r.queue = append(r.queue, ev)
	} else {
		d := r.deliver
		r.mu.Unlock()
		d(ev)
		return func(context.Context) error { return nil }, nil
	}
	r.mu.Unlock()
	return func(context.Context) error { return nil }, nil
}

func (r *relayTo) connect(deliver func(protocol.RelayEvent)) {
	r.mu.Lock()
	q := r.queue
	r.queue, r.deliver = nil, deliver
	r.mu.Unlock()
	for _, ev := range q {
		deliver(ev)
	}
}

// statsLog keeps a session's STATS events.
type statsLog struct {
	mu   sync.Mutex
	last CallStats
	n    int
}

func (l *statsLog) emit(name string, data any) {
	if st, ok := data.(CallStats); ok && name == EvStats {
		l.mu.Lock()
		l.last, l.n = st, l.n+1
		l.mu.Unlock()
	}
}

func (l *statsLog) get() (CallStats, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, l.n
}

func testSession(t *testing.T, cfg Config, offerer bool, relay *relayTo, stats *statsLog) *Session {
	s := New(Params{
		Config: cfg, Emit: stats.emit, Relay: relay.relay,
		Channel: "c1", Self: "me", Peer: "you", Offerer: offerer, CallType: protocol.CallAudio,
	})
	t.Cleanup(s.Close)
	return s
}

// Two softphones on a path that loses a tenth of the packets both ways:
// each sends RED, each plays most losses from the copies.
func TestREDBetweenSoftphones(t *testing.T) {
	wav := speechWAV(t)
	cfg := func() Config {
		return Config{AudioIn: wav, Loop: true, AudioOut: SourceNone, StatsInterval: 500 * time.Millisecond,
			Net: impair.Config{Loss: 10, Seed: 7}.Net(nil)}
	}
	var ra, rb relayTo
	var sa, sb statsLog
	a := testSession(t, cfg(), true, &ra, &sa)
	b := testSession(t, cfg(), false, &rb, &sb)
	ra.connect(b.Deliver)
	rb.connect(a.Deliver)
	// Timing-free checks (the machine may be busy): both ends send RED and
	// both play frames from its copies.
	deadline := time.Now().Add(20 * time.Second)
	for {
		stA, na := sa.get()
		stB, nb := sb.get()
		if na >= 4 && nb >= 4 && stA.CallREDPct > 2 && stB.CallREDPct > 2 {
			for _, st := range []CallStats{stA, stB} {
				if st.RedDistance < 1 {
					t.Errorf("sending RED distance %d", st.RedDistance)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no RED repair seen: %+v / %+v", stA.Stats, stB.Stats)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browserPeer is a bare pion peer that negotiates like a browser: Opus at
// 111, and audio/red at 63 when red is set, listed after Opus as Chrome
// offers it.
type browserPeer struct {
	pc      *webrtc.PeerConnection
	session *Session
	got     chan *rtp.Packet
}

func newBrowserPeer(t *testing.T, withRED bool) *browserPeer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	opusCodec := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}
	if err := me.RegisterCodec(opusCodec, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if withRED {
		if err := me.RegisterCodec(redCodec, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	p := &browserPeer{pc: pc, got: make(chan *rtp.Packet, 500)}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case p.got <- pkt:
			default:
			}
		}
	})
	return p
}

// call offers to a softphone session (the answerer) and connects.
func (p *browserPeer) call(t *testing.T, cfg Config) (answer string) {
	t.Helper()
	answers := make(chan string, 1)
	relay := func(kind string, payload json.RawMessage) (func(context.Context) error, error) {
		switch kind {
		case protocol.RelayAnswer:
			var sd webrtc.SessionDescription
			if err := json.Unmarshal(payload, &sd); err == nil {
				answers <- sd.SDP
				_ = p.pc.SetRemoteDescription(sd)
			}
		case protocol.RelayCandidate:
			var m protocol.CandidateSignal
			if err := json.Unmarshal(payload, &m); err == nil && m.Candidate != nil && m.Candidate.Candidate != "" {
				_ = p.pc.AddICECandidate(candidateInit(m.Candidate))
			}
		}
		return func(context.Context) error { return nil }, nil
	}
	var stats statsLog
	p.session = New(Params{Config: cfg, Emit: stats.emit, Relay: relay, Channel: "c1", Self: "me", Peer: "browser", CallType: protocol.CallAudio})
	t.Cleanup(p.session.Close)
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		b, _ := json.Marshal(candidateSignal(&init))
		p.session.Deliver(protocol.RelayEvent{ChannelID: "c1", Kind: protocol.RelayCandidate, Payload: b})
	})
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p.pc.LocalDescription())
	p.session.Deliver(protocol.RelayEvent{ChannelID: "c1", Kind: protocol.RelayOffer, Payload: b})
	select {
	case a := <-answers:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	return ""
}

// audioPayloadTypes returns the payload types of the audio m-line.
func audioPayloadTypes(sdp string) []string {
	for line := range strings.SplitSeq(sdp, "\n") {
		if f := strings.Fields(strings.TrimSpace(line)); len(f) > 3 && f[0] == "m=audio" {
			return f[3:]
		}
	}
	return nil
}

func TestBrowserInterop(t *testing.T) {
	wav := speechWAV(t)
	tests := []struct {
		name    string
		withRED bool
	}{
		{"browser offers RED after Opus", true},
		{"peer without RED", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newBrowserPeer(t, tt.withRED)
			answer := p.call(t, Config{AudioIn: wav, Loop: true, AudioOut: SourceNone, StatsInterval: -1})
			pts := audioPayloadTypes(answer)
			if tt.withRED {
				if len(pts) < 2 || pts[0] != "63" || !slices.Contains(pts, "111") {
					t.Fatalf("answer's audio payload types %v, want RED (63) first, then Opus (111)", pts)
				}
			} else if slices.Contains(pts, "63") || !slices.Contains(pts, "111") {
				t.Fatalf("answer's audio payload types %v, want Opus alone", pts)
			}
			// What we send: RED whose primary and copies are Opus, or Opus
			// with in-band FEC for a peer without RED.
			var n, withCopy, withFEC int
			timeout := time.After(15 * time.Second)
			for n < 100 {
				var pkt *rtp.Packet
				select {
				case pkt = <-p.got:
				case <-timeout:
					t.Fatalf("only %d packets received", n)
				}
				n++
				payload := pkt.Payload
				if tt.withRED {
					if pkt.PayloadType != redPT {
						t.Fatalf("packet of payload type %d, want RED", pkt.PayloadType)
					}
					blocks, err := red.Split(nil, payload)
					if err != nil {
						t.Fatal(err)
					}
					if len(blocks) > 1 {
						withCopy++
					}
					for _, b := range blocks {
						if b.PT != opusPT {
							t.Fatalf("block of payload type %d", b.PT)
						}
					}
					payload = blocks[len(blocks)-1].Data
				} else if pkt.PayloadType != opusPT {
					t.Fatalf("packet of payload type %d, want Opus", pkt.PayloadType)
				}
				if _, err := opus.PacketSamples(payload, 48000); err != nil {
					t.Fatalf("primary is not Opus: %v", err)
				}
				if opus.PacketHasFEC(payload) {
					withFEC++
				}
			}
			if tt.withRED && (withCopy < n/2 || withFEC > 0) {
				t.Fatalf("%d of %d RED packets carry a copy, %d in-band FEC; want most, and none", withCopy, n, withFEC)
			}
			if !tt.withRED && withFEC < n/4 {
				t.Fatalf("%d of %d packets carry in-band FEC, want FEC from the start for a peer without RED", withFEC, n)
			}
		})
	}
}
