package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/mediadevices"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/rtc/bwe"
	"github.com/softphone/softphone/internal/pionslog"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/playout"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/media/vp8"
)

// Session timing. DTLS's default first retransmit (1 s) and ICE's
// acceptance waits would otherwise hide in every call's setup time.
const (
	dtlsRetransmit    = 100 * time.Millisecond
	iceDisconnected   = 5 * time.Second
	iceFailed         = 15 * time.Second
	iceKeepalive      = time.Second
	relayTimeout      = 5 * time.Second
	maxPendingSignals = 256
	maxQueuedRelays   = 256
	rtcpBufferSize    = 1500
	// VP8 and its RTX (RFC 4588) payload types: mediadevices packetizes
	// VP8 as 96, the number browsers and pion's defaults use; 97 is their
	// RTX for it.
	vp8PayloadType = 96
	rtxPayloadType = 97
)

// Params is what the engine hands a new media session.
type Params struct {
	Config Config
	Log    *slog.Logger
	// Emit delivers the session's events (AUDIO_AVAILABLE, STATS, ...).
	Emit func(name string, data any)
	// Relay sends a negotiation message to the peer through signaling and
	// returns a wait for the server's answer.
	Relay func(kind string, payload json.RawMessage) (func(context.Context) error, error)
	// ICE returns the STUN/TURN servers to use; nil: Config.ICEServers.
	ICE      func(ctx context.Context) []webrtc.ICEServer
	Channel  string
	Self     string
	Peer     string
	Offerer  bool // the caller: it makes the offers
	CallType protocol.CallType
	MicMuted bool
	CamOff   bool
	// Frames receives the decoded remote pictures (latest wins).
	Frames *FrameSlot
	// Tracer records ICE candidates, the selected pair and the connection
	// state; nil records nothing.
	Tracer Tracer
	// Held starts the session before the call is active (a caller while it
	// rings): nothing is sent until Activate (prepare.go).
	Held bool
}

// Tracer is what the session reports to a call trace.
type Tracer interface {
	Candidate(local bool, channel string, c webrtc.ICECandidateInit)
	Pair(channel string, p *webrtc.ICECandidatePair)
	MediaState(channel, state string)
}

type nopTracer struct{}

func (nopTracer) Candidate(bool, string, webrtc.ICECandidateInit) {}
func (nopTracer) Pair(string, *webrtc.ICECandidatePair)           {}
func (nopTracer) MediaState(string, string)                       {}

// sessionParams is Params as the session's code reads it.
type sessionParams struct {
	cfg      Config
	log      *slog.Logger
	emit     func(name string, data any)
	relay    func(kind string, payload json.RawMessage) (func(context.Context) error, error)
	ice      func(ctx context.Context) []webrtc.ICEServer
	channel  string
	self     string
	peer     string
	offerer  bool
	callType protocol.CallType
	micMuted bool
	camOff   bool
	frames   *FrameSlot
	taps     *mediaTaps // local preview and level meters (preview.go)
	tr       Tracer
}

// Session is one call's WebRTC session: a PeerConnection negotiated
// through the signaling relay, local capture, remote playback, recording
// and stats. Every goroutine it starts is counted in wg and ends in close.
type Session struct {
	sessionParams

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runWG  sync.WaitGroup // the signaling loop and the relay sender
	inbox  chan protocol.RelayEvent
	outbox chan outRelay
	typeCh chan protocol.CallType
	// audioArrived carries a remote audio track's first packet to the
	// paced speaker (receive.go).
	audioArrived chan struct{}

	micMutedF    atomic.Bool
	camOffF      atomic.Bool
	remoteMutedF atomic.Bool
	audioPlaying atomic.Bool // AUDIO_PLAYING was emitted
	connected    atomic.Bool // DTLS is up: senders' packets leave (connect_replay.go)

	mu      sync.Mutex // guards the fields below
	closing bool
	pc      *webrtc.PeerConnection
	sel     *mediadevices.CodecSelector
	mic     *micSource
	cam     *cameraSource
	aTrack  mediadevices.Track
	vTrack  mediadevices.Track
	aSender *webrtc.RTPSender
	vSender *webrtc.RTPSender
	aBind   *asyncBindTrack
	vBind   *asyncBindTrack
	camIn   string // the camera SwitchCamera chose in this call; "": cfg.VideoIn
	venc    *encoderHook
	aenc    *opus.EncoderBuilder
	est     *bwe.Estimator
	// sendRates are audio's and retransmissions' recent rates (bps),
	// which the video encoder's share leaves room for (stats.go).
	sendRates struct{ audio, rtx int }
	// videoSuspended is the suspension we last told the peer of.
	videoSuspended bool
	getter         stats.Getter
	remote         map[webrtc.RTPCodecType]uint32 // remote SSRCs
	// remoteRTX is the remote video track, for its RTX SSRC (known once
	// pion has seen the repair stream).
	remoteRTX *webrtc.TrackRemote
	video     *videoStats
	paSys     *pa.System
	ownPA     bool
	playback  *pa.Playback
	rec       *record.Recorder
	pair      [2]string // candidate types of the selected ICE pair: local, remote
	// relayCand is the local relay candidate ("ip:port") of the selected
	// pair, relayProto how it reaches the TURN server (udp, tcp, tls),
	// looked up in the stats once.
	relayCand, relayProto string
	// While a local description is being set, gathered candidates wait
	// here, so the description reaches the peer before them.
	holdCands bool
	heldCands []*webrtc.ICECandidateInit

	// Signaling-loop state (only the loop goroutine touches these).
	pendingCands []webrtc.ICECandidateInit
	wantOffer    bool

	player playout.Mixer
	stats  statsState
	aq     audioQuality // only the stats loop uses it
	red    *redControl  // our audio's loss protection (audio_send.go)
	loop   *loopback    // non-nil when cfg.Loopback > 0 (loopback.go)

	mediaWatch // the no-media check (nomedia.go)
	activation // a held session's gate (prepare.go)
}

// New starts a session; it never blocks on the network.
func New(in Params) *Session {
	p := sessionParams{
		cfg: in.Config.withDefaults(), log: in.Log, emit: in.Emit, relay: in.Relay, ice: in.ICE,
		channel: in.Channel, self: in.Self, peer: in.Peer, offerer: in.Offerer, callType: in.CallType,
		micMuted: in.MicMuted, camOff: in.CamOff, frames: in.Frames, taps: newMediaTaps(), tr: in.Tracer,
	}
	if p.tr == nil {
		p.tr = nopTracer{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		sessionParams: p,
		ctx:           ctx,
		cancel:        cancel,
		inbox:         make(chan protocol.RelayEvent, maxPendingSignals),
		outbox:        make(chan outRelay, maxQueuedRelays),
		typeCh:        make(chan protocol.CallType, 4),
		audioArrived:  make(chan struct{}, 1),
		remote:        map[webrtc.RTPCodecType]uint32{},
	}
	s.active = make(chan struct{})
	if !in.Held {
		s.Activate()
	}
	s.micMutedF.Store(p.micMuted)
	s.camOffF.Store(p.camOff)
	s.loop = newLoopback(p.cfg.Loopback)
	s.runWG.Add(2)
	go s.run()
	go s.sendRelays()
	return s
}

// Deliver hands the session a relay from the peer; it never blocks.
func (s *Session) Deliver(ev protocol.RelayEvent) {
	select {
	case s.inbox <- ev:
	default:
		s.log.Warn("media signaling backlog full; dropping", "kind", ev.Kind)
	}
}

// SetCallType switches between audio and video (renegotiating).
func (s *Session) SetCallType(t protocol.CallType) {
	select {
	case s.typeCh <- t:
	default:
	}
}

// spawn runs f on a goroutine owned by the session unless it is closing.
func (s *Session) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func (s *Session) run() {
	defer s.runWG.Done()
	if err := s.setup(); err != nil {
		s.log.Error("media session setup failed; the call continues without media", "err", err)
		s.negotiationFailed("media session setup", err)
		if s.waitActive() {
			s.watchMedia()
		}
		return
	}
	s.whenActive(s.statsLoop)
	s.whenActive(s.watchMedia)
	if s.offerer {
		s.negotiate()
	}
	for {
		select {
		case <-s.ctx.Done():
			return
		case ev := <-s.inbox:
			s.handleSignal(ev)
		case t := <-s.typeCh:
			s.applyCallType(t)
		}
	}
}

// setup builds the API (codecs, then interceptors), the PeerConnection, the
// capture tracks, playback and recording.
func (s *Session) setup() error {
	cfg := &s.cfg
	venc := &encoderHook{params: vp8.NewParams()}
	venc.params.BitRate = cfg.MinBitrate * 1000
	venc.params.Backlog = s.pacerBacklog
	// Our libopus encoder, not mediadevices': it caps the band to
	// wideband (every bit in the speech band) and sends in-band FEC from
	// the first packet until the peer turns out to take RED
	// (audio_send.go).
	op := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{
		Bitrate: cfg.audioBitrate(), FEC: true, LossPerc: fecMinLoss, Complexity: -1, MaxBandwidth: opus.Wideband}}
	s.aenc = op
	sel := mediadevices.NewCodecSelector(mediadevices.WithVideoEncoders(venc), mediadevices.WithAudioEncoders(op))

	me := &webrtc.MediaEngine{}
	sel.Populate(me) // before the interceptors, which add feedback to registered codecs
	red := newRedControl(op, cfg.audioBitrate())
	if s.loop == nil {
		// An echo forwards what it gets on an Opus track: no RED there.
		if err := registerRED(me); err != nil {
			return fmt.Errorf("register audio/red: %w", err)
		}
	}
	// RTX (RFC 4588) for VP8: retransmissions travel on their own SSRC and
	// payload type, so the receiver counts loss of the originals apart
	// from the repairs, and a probe's padding has a stream to go on.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", vp8PayloadType)},
		PayloadType:        rtxPayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("rtx codec: %w", err)
	}
	reg := &interceptor.Registry{}
	lf := pionslog.Factory{Log: s.log}
	sf, err := stats.NewInterceptor(stats.WithLoggerFactory(lf))
	if err != nil {
		return fmt.Errorf("stats interceptor: %w", err)
	}
	var getter stats.Getter
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { getter = g })
	reg.Add(sf) // first: it must see the reports the other interceptors write
	// Our estimator and pacer (call/rtc/bwe) in pion's cc interceptor, added
	// before the NACK responder: retransmissions then go through the pacer,
	// which numbers, budgets and paces them. The pacer writes the
	// transport-wide sequence numbers itself, at send time, so pion's
	// header-extension interceptor is not used.
	minBps := cfg.MinBitrate*1000 + cfg.audioBitrate()
	maxBps := cfg.MaxBitrate*1000 + cfg.audioBitrate()
	var est *bwe.Estimator
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		est = bwe.New(bwe.Config{StartBps: minBps, MinBps: minBps, MaxBps: maxBps, Log: s.log,
			Talking: func() bool { return s.taps.mic.level() >= talkLevel }})
		return est, nil
	})
	if err != nil {
		return fmt.Errorf("congestion controller: %w", err)
	}
	reg.Add(ccf)
	// NACK: pion's responder answers the peer's requests from its history
	// (on the RTX stream when negotiated). Our own requests come from the
	// video receiver (nack.go): pion's generator does not see packets that
	// arrive as RTX and would ask for them again and again.
	responder, err := nack.NewResponderInterceptor(nack.WithResponderLoggerFactory(lf))
	if err != nil {
		return fmt.Errorf("nack responder: %w", err)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	reg.Add(responder)
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg, []report.ReceiverOption{report.WithReceiverLoggerFactory(lf)},
		report.WithSenderLoggerFactory(lf)); err != nil {
		return fmt.Errorf("rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return fmt.Errorf("header extensions: %w", err)
	}
	// Before the TWCC sender, which then writes its reports through it:
	// they name a media stream, never an RTX one (twcc_ssrc.go).
	reg.Add(twccSSRCFactory{})
	// The feedback we send for what we receive; it also registers the
	// transport-wide sequence number extension our pacer writes.
	if err := webrtc.ConfigureTWCCSenderWithOptions(me, reg, twcc.WithLoggerFactory(lf)); err != nil {
		return fmt.Errorf("twcc: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(usableInterfaceIP)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetDTLSRetransmissionInterval(dtlsRetransmit)
	// No HelloVerifyRequest cookie round trip as DTLS server: the cookie
	// proves the client owns its address, which ICE's authenticated checks
	// already did (pion drops non-STUN packets from addresses that are not
	// the peer's candidates, signalled or learnt from checks). It cost
	// every call one more flight before the first audio.
	se.SetDTLSInsecureSkipHelloVerify(true)
	se.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	se.SetHostAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(0)
	se.SetPrflxAcceptanceMinWait(0)
	se.SetRelayAcceptanceMinWait(0)
	// Answering, we are the DTLS server: the offerer (the caller, ICE
	// controlling) knows first that a pair works and starts the handshake
	// at once, rather than after its nomination reaches us.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return fmt.Errorf("dtls role: %w", err)
	}
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pcCfg := webrtc.Configuration{ICEServers: cfg.ICEServers}
	if s.ice != nil {
		ctx, cancel := context.WithTimeout(s.ctx, relayTimeout)
		pcCfg.ICEServers = s.ice(ctx)
		cancel()
	}
	if !cfg.RelayOnly {
		pcCfg.ICEServers = withoutLoopbackServers(pcCfg.ICEServers)
	} else {
		pcCfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		if !hasTURN(pcCfg.ICEServers) {
			s.log.Warn("relay-only, but there is no TURN server: media will not connect")
			s.emit(EvMediaWarning, MediaWarning{Kind: "network", Error: "relay-only: the server offers no TURN relay"})
		}
	}
	pc, err := api.NewPeerConnection(pcCfg)
	if err != nil {
		return fmt.Errorf("peer connection: %w", err)
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = pc.Close()
		return errors.New("session closed during setup")
	}
	s.pc, s.sel, s.venc, s.est, s.getter, s.red = pc, sel, venc, est, getter, red
	s.mu.Unlock()

	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		var init *webrtc.ICECandidateInit // nil: gathering is complete
		if c != nil {
			j := c.ToJSON()
			init = &j
			s.tr.Candidate(true, s.channel, j)
			s.localCands.Add(1)
		}
		s.mu.Lock()
		if s.holdCands {
			s.heldCands = append(s.heldCands, init)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.send(protocol.RelayCandidate, candidateSignal(init))
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("media connection", "state", st.String())
		s.tr.MediaState(s.channel, st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			if !s.connected.Swap(true) {
				s.replayEarlyMedia()
			}
			// What was encoded before DTLS was up was lost (but for the
			// replay): the next frame starts a fresh picture.
			venc.forceKeyFrame()
		case webrtc.PeerConnectionStateFailed:
			s.log.Warn("media connection failed (no ICE path to the peer)")
		}
	})
	onTrack := s.onTrack
	if s.loop != nil {
		onTrack = s.onLoopbackTrack
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		s.mediaIn.Store(true) // pion calls this on a track's first packet
		onTrack(t, r)
	})
	s.watchSelectedPair(pc)
	if est != nil {
		est.OnTargetBitrateChange(func(int) { s.applyTarget() })
		s.applyTarget()
	}

	if err := s.openRecorder(); err != nil {
		s.log.Warn("recording disabled", "err", err)
	}
	if s.loop == nil {
		s.openPlayback()
	}
	s.addAudio()
	if s.callType == protocol.CallVideo {
		s.addVideo()
	}
	return nil
}

// pacerBacklog is how long the video already written waits in the pacer
// (vp8.Params.Backlog).
func (s *Session) pacerBacklog() time.Duration {
	s.mu.Lock()
	est := s.est
	s.mu.Unlock()
	if est == nil {
		return 0
	}
	return est.Pacer().Backlog()
}

// replayEarlyMedia sends the newest audio packet and keyframe that were
// captured before DTLS was up, instead of waiting for the next capture.
func (s *Session) replayEarlyMedia() {
	s.mu.Lock()
	binds := []*asyncBindTrack{s.aBind, s.vBind}
	s.mu.Unlock()
	for _, b := range binds {
		if b != nil {
			s.log.Debug("replayed early media", "kind", b.Kind().String(), "packets", b.replay())
		}
	}
}

// paSystem returns the PortAudio system, opening one on first use.
func (s *Session) paSystem() (*pa.System, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paSys != nil {
		return s.paSys, nil
	}
	if s.cfg.Audio != nil {
		s.paSys = s.cfg.Audio
		return s.paSys, nil
	}
	sys, err := pa.Open(pa.Options{})
	if err != nil {
		return nil, fmt.Errorf("portaudio: %w", err)
	}
	s.paSys, s.ownPA = sys, true
	return sys, nil
}

func (s *Session) openRecorder() error {
	if s.cfg.RecordDir == "" {
		return nil
	}
	rec, err := record.New(s.cfg.RecordDir, record.Options{})
	if err != nil {
		return fmt.Errorf("record to %s: %w", s.cfg.RecordDir, err)
	}
	s.mu.Lock()
	s.rec = rec
	s.mu.Unlock()
	return nil
}

// Close ends the session: signaling loop first, then the PeerConnection
// (before the tracks: closing a track first freezes pc.Close), then the
// receive goroutines, capture, playback and the recording.
func (s *Session) Close() {
	s.cancel()
	s.runWG.Wait()
	s.mu.Lock()
	s.closing = true
	pc, aTrack, vTrack, venc := s.pc, s.aTrack, s.vTrack, s.venc
	s.mu.Unlock()
	if pc != nil {
		if err := pc.Close(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
	}
	if venc != nil {
		venc.close()
	}
	for _, t := range []mediadevices.Track{aTrack, vTrack} {
		if t != nil {
			_ = t.Close()
		}
	}
	s.mu.Lock()
	pb := s.playback
	s.mu.Unlock()
	if pb != nil {
		_ = pb.Close()
	}
	s.wg.Wait()
	s.player.CloseAll()
	s.mu.Lock()
	rec, sys, own := s.rec, s.paSys, s.ownPA
	s.mu.Unlock()
	if rec != nil {
		if err := rec.Close(); err != nil {
			s.log.Warn("finish recording", "err", err)
		}
	}
	if sys != nil && own {
		_ = sys.Close()
	}
}

// drainRTCP reads RTCP until the reader fails (the PeerConnection closed).
func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, rtcpBufferSize)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}
