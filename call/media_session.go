package call

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/pionslog"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/media/vp8"
)

// Session timing. DTLS's default first retransmit (1 s) and ICE's
// acceptance waits would otherwise hide in every call's setup time.
const (
	dtlsRetransmit     = 100 * time.Millisecond
	iceDisconnected    = 5 * time.Second
	iceFailed          = 15 * time.Second
	iceKeepalive       = time.Second
	relayTimeout       = 5 * time.Second
	maxPendingSignals  = 256
	maxQueuedRelays    = 256
	rtcpBufferSize     = 1500
	transportOverheadF = 0.9 // share of the congestion target left for media
)

// mediaSignal is the payload of a relay of kind "candidate" (a trickled ICE
// candidate) or "control" (the session's own control messages).
type mediaSignal struct {
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	// Renegotiate asks the offering side (the caller) for a new offer: the
	// answering side added a track after its last answer.
	Renegotiate bool `json:"renegotiate,omitempty"`
	// AudioMuted / VideoMuted announce the sender's mute state (AUDIO_MUTED,
	// VIDEO_MUTED at the peer).
	AudioMuted *bool `json:"audioMuted,omitempty"`
	VideoMuted *bool `json:"videoMuted,omitempty"`
}

type outRelay struct {
	kind    string
	payload json.RawMessage
}

// sessionParams is what the engine hands a new media session.
type sessionParams struct {
	cfg      MediaConfig
	log      *slog.Logger
	emit     func(name string, data any)
	relay    func(kind string, payload json.RawMessage) (func(context.Context) error, error) // Engine.beginRelay
	ice      func(ctx context.Context) []webrtc.ICEServer                                    // nil: cfg.ICEServers only
	channel  string
	self     string
	peer     string
	offerer  bool
	callType protocol.CallType
	micMuted bool
	camOff   bool
	frames   *frameSlot
	taps     *mediaTaps // local preview and level meters (media_preview.go)

	tr *engineTracer // nil without Config.Trace
}

// mediaSession is one call's WebRTC session: a PeerConnection negotiated
// through the signaling relay, local capture, remote playback, recording
// and stats. Every goroutine it starts is counted in wg and ends in close.
type mediaSession struct {
	sessionParams

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runWG  sync.WaitGroup // the signaling loop and the relay sender
	inbox  chan protocol.RelayEvent
	outbox chan outRelay
	typeCh chan protocol.CallType
	// audioArrived carries a remote audio track's first packet to the
	// paced speaker (media_receive.go).
	audioArrived chan struct{}

	micMutedF    atomic.Bool
	camOffF      atomic.Bool
	remoteMutedF atomic.Bool
	audioPlaying atomic.Bool // AUDIO_PLAYING was emitted
	connected    atomic.Bool // DTLS is up: senders' packets leave (connect_replay.go)

	mu       sync.Mutex // guards the fields below
	closing  bool
	pc       *webrtc.PeerConnection
	sel      *mediadevices.CodecSelector
	mic      *micSource
	cam      *cameraSource
	aTrack   mediadevices.Track
	vTrack   mediadevices.Track
	aSender  *webrtc.RTPSender
	vSender  *webrtc.RTPSender
	aBind    *asyncBindTrack
	vBind    *asyncBindTrack
	camIn    string // the camera SwitchCamera chose in this call; "": cfg.VideoIn
	venc     *encoderHook
	aenc     *opus.EncoderBuilder
	est      cc.BandwidthEstimator
	getter   stats.Getter
	remote   map[webrtc.RTPCodecType]uint32 // remote SSRCs
	video    *videoStats
	paSys    *pa.System
	ownPA    bool
	playback *pa.Playback
	rec      *record.Recorder
	pair     [2]string // candidate types of the selected ICE pair: local, remote
	// While a local description is being set, gathered candidates wait
	// here, so the description reaches the peer before them.
	holdCands bool
	heldCands []webrtc.ICECandidateInit

	// Signaling-loop state (only the loop goroutine touches these).
	pendingCands []webrtc.ICECandidateInit
	wantOffer    bool

	player audioPlayer
	stats  statsState
	loop   *loopback // non-nil when cfg.Loopback > 0 (media_loopback.go)
}

// newMediaSession starts a session; it never blocks on the network.
func newMediaSession(p sessionParams) *mediaSession {
	p.cfg = p.cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &mediaSession{
		sessionParams: p,
		ctx:           ctx,
		cancel:        cancel,
		inbox:         make(chan protocol.RelayEvent, maxPendingSignals),
		outbox:        make(chan outRelay, maxQueuedRelays),
		typeCh:        make(chan protocol.CallType, 4),
		audioArrived:  make(chan struct{}, 1),
		remote:        map[webrtc.RTPCodecType]uint32{},
	}
	s.micMutedF.Store(p.micMuted)
	s.camOffF.Store(p.camOff)
	s.loop = newLoopback(p.cfg.Loopback)
	s.runWG.Add(2)
	go s.run()
	go s.sendRelays()
	return s
}

// deliver hands the session a relay from the peer; it never blocks.
func (s *mediaSession) deliver(ev protocol.RelayEvent) {
	select {
	case s.inbox <- ev:
	default:
		s.log.Warn("media signaling backlog full; dropping", "kind", ev.Kind)
	}
}

// setCallType switches between audio and video (renegotiating).
func (s *mediaSession) setCallType(t protocol.CallType) {
	select {
	case s.typeCh <- t:
	default:
	}
}

// send queues a relay to the peer, in order.
func (s *mediaSession) send(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Warn("encode media signal", "kind", kind, "err", err)
		return
	}
	select {
	case s.outbox <- outRelay{kind: kind, payload: b}:
	default:
		s.log.Warn("media relay queue full; dropping", "kind", kind)
	}
}

// sendRelays sends queued relays in order without waiting for each answer
// (the server handles them in order), so a description and its candidates
// leave back to back; checkRelays collects the answers.
func (s *mediaSession) sendRelays() {
	defer s.runWG.Done()
	acks := make(chan relayAck, maxQueuedRelays)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.checkRelays(acks)
	}()
	defer func() {
		close(acks)
		<-done
	}()
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.outbox:
			await, err := s.relay(m.kind, m.payload)
			if err != nil {
				s.relayFailed(m.kind, err)
				continue
			}
			select {
			case acks <- relayAck{kind: m.kind, await: await}:
			case <-s.ctx.Done():
				return
			}
		}
	}
}

type relayAck struct {
	kind  string
	await func(context.Context) error
}

func (s *mediaSession) checkRelays(acks <-chan relayAck) {
	for a := range acks {
		ctx, cancel := context.WithTimeout(s.ctx, relayTimeout)
		err := a.await(ctx)
		cancel()
		if err != nil {
			s.relayFailed(a.kind, err)
		}
	}
}

func (s *mediaSession) relayFailed(kind string, err error) {
	if s.ctx.Err() == nil {
		s.log.Warn("media relay failed", "kind", kind, "err", err)
	}
}

// spawn runs f on a goroutine owned by the session unless it is closing.
func (s *mediaSession) spawn(f func()) bool {
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

func (s *mediaSession) run() {
	defer s.runWG.Done()
	if err := s.setup(); err != nil {
		s.log.Error("media session setup failed; the call continues without media", "err", err)
		return
	}
	s.spawn(s.statsLoop)
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

// encoderHook wraps media/vp8's encoder builder to keep a handle on the
// encoder mediadevices builds at Bind, for bitrate and keyframe control
// without racing mediadevices' own (unsynchronised) controller field.
type encoderHook struct {
	params vp8.Params
	mu     sync.Mutex
	ctl    codec.EncoderController
	closed bool
}

func (h *encoderHook) RTPCodec() *codec.RTPCodec { return h.params.RTPCodec() }

func (h *encoderHook) BuildVideoEncoder(r video.Reader, p prop.Media) (codec.ReadCloser, error) {
	rc, err := h.params.BuildVideoEncoder(r, p)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.ctl = rc.Controller()
	h.mu.Unlock()
	return rc, nil
}

func (h *encoderHook) setBitRate(bps int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.ctl.(codec.BitRateController); ok && !h.closed {
		_ = b.SetBitRate(bps)
	}
}

func (h *encoderHook) forceKeyFrame() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, ok := h.ctl.(codec.KeyFrameController); ok && !h.closed {
		_ = k.ForceKeyFrame()
	}
}

func (h *encoderHook) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// setup builds the API (codecs, then interceptors), the PeerConnection, the
// capture tracks, playback and recording.
func (s *mediaSession) setup() error {
	cfg := &s.cfg
	venc := &encoderHook{params: vp8.NewParams()}
	venc.params.BitRate = cfg.MinBitrate * 1000
	// Our libopus encoder, not mediadevices': it sends in-band FEC, which
	// the receiver's playout buffer uses to repair single losses.
	// The expected loss starts at zero and follows the receiver's reports
	// (sample in stats.go), so FEC costs CPU only on lossy paths.
	op := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{
		Bitrate: cfg.audioBitrate(), FEC: true, Complexity: -1}}
	s.aenc = op
	sel := mediadevices.NewCodecSelector(mediadevices.WithVideoEncoders(venc), mediadevices.WithAudioEncoders(op))

	me := &webrtc.MediaEngine{}
	sel.Populate(me) // before the interceptors, which add feedback to registered codecs
	reg := &interceptor.Registry{}
	lf := pionslog.Factory{Log: s.log}
	sf, err := stats.NewInterceptor(stats.WithLoggerFactory(lf))
	if err != nil {
		return fmt.Errorf("stats interceptor: %w", err)
	}
	var getter stats.Getter
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { getter = g })
	reg.Add(sf) // first: it must see the reports the default interceptors write
	minBps := cfg.MinBitrate*1000 + cfg.audioBitrate()
	maxBps := cfg.MaxBitrate*1000 + cfg.audioBitrate()
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(minBps),
			gcc.SendSideBWEMinBitrate(minBps),
			gcc.SendSideBWEMaxBitrate(maxBps),
			gcc.WithLoggerFactory(lf),
			gcc.SendSideBWEPacer(newBurstPacer(minBps)),
		)
	})
	if err != nil {
		return fmt.Errorf("congestion controller: %w", err)
	}
	var est cc.BandwidthEstimator
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { est = e })
	reg.Add(ccf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, reg); err != nil {
		return fmt.Errorf("twcc: %w", err)
	}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, reg, webrtc.WithInterceptorLoggerFactory(lf)); err != nil {
		return fmt.Errorf("interceptors: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(usableInterfaceIP)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetDTLSRetransmissionInterval(dtlsRetransmit)
	se.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	se.SetHostAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(0)
	se.SetPrflxAcceptanceMinWait(0)
	se.SetRelayAcceptanceMinWait(0)
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
	s.pc, s.sel, s.venc, s.est, s.getter = pc, sel, venc, est, getter
	s.mu.Unlock()

	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		s.tr.candidate(true, s.channel, init)
		s.mu.Lock()
		if s.holdCands {
			s.heldCands = append(s.heldCands, init)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.send(protocol.RelayCandidate, mediaSignal{Candidate: &init})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("media connection", "state", st.String())
		s.tr.media(s.channel, st.String())
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
	if s.loop != nil {
		pc.OnTrack(s.onLoopbackTrack)
	} else {
		pc.OnTrack(s.onTrack)
	}
	s.watchSelectedPair(pc)
	if est != nil {
		est.OnTargetBitrateChange(func(int) { s.applyTarget() })
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

// replayEarlyMedia sends the newest audio packet and keyframe that were
// captured before DTLS was up, instead of waiting for the next capture.
func (s *mediaSession) replayEarlyMedia() {
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
func (s *mediaSession) paSystem() (*pa.System, error) {
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

func (s *mediaSession) openRecorder() error {
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

// addAudio publishes the microphone, or receives only when there is none.
func (s *mediaSession) addAudio() {
	if s.loop != nil {
		s.addLoopbackSender(webrtc.RTPCodecTypeAudio)
		return
	}
	mic, err := openMicrophone(&s.cfg, s.paSystem)
	if err != nil {
		if !errors.Is(err, errNoSource) {
			s.log.Warn("no microphone; the call continues without sending audio", "err", err)
			s.emit(EvMediaWarning, MediaWarning{Kind: "audio", Error: err.Error()})
		}
		if _, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			s.log.Warn("audio transceiver", "err", err)
		}
		return
	}
	mic.muted = &s.micMutedF
	mic.taps = s.taps
	s.mu.Lock()
	if rec := s.rec; rec != nil {
		mic.tap = func(pcm []int16, at time.Time) { _ = rec.WriteLocal(pcm, at) }
	}
	s.mu.Unlock()
	track := mediadevices.NewAudioTrack(mic, s.sel)
	bind := newAsyncBindTrack(track, webrtc.MimeTypeOpus, &s.connected, s.log)
	sender, err := s.pc.AddTrack(bind)
	if err != nil {
		s.log.Warn("add audio track", "err", err)
		_ = track.Close()
		return
	}
	s.mu.Lock()
	s.mic, s.aTrack, s.aSender, s.aBind = mic, track, sender, bind
	s.mu.Unlock()
	// Opus has no keyframe controller, so mediadevices never reads this
	// sender's RTCP; unread, it would stall the interceptors' reports.
	s.spawn(func() { drainRTCP(sender.Read) })
}

// addVideo publishes the camera (or receives only) for a video call.
func (s *mediaSession) addVideo() {
	s.mu.Lock()
	have := s.vSender != nil
	s.mu.Unlock()
	if have {
		return
	}
	if s.loop != nil {
		s.addLoopbackSender(webrtc.RTPCodecTypeVideo)
		return
	}
	cfg := s.cfg
	s.mu.Lock()
	if s.camIn != "" {
		cfg.VideoIn = s.camIn
	}
	s.mu.Unlock()
	cam, err := openCamera(&cfg)
	if err != nil {
		if !errors.Is(err, errNoSource) {
			s.log.Warn("no camera; the call continues without sending video", "err", err)
			s.emit(EvMediaWarning, MediaWarning{Kind: "video", Error: err.Error()})
		}
		s.ensureVideoRecv()
		return
	}
	if s.camOffF.Load() {
		cam.enabled.Store(false)
	}
	cam.taps = s.taps
	track := mediadevices.NewVideoTrack(cam, s.sel)
	bind := newAsyncBindTrack(track, s.venc.RTPCodec().MimeType, &s.connected, s.log)
	sender, err := s.pc.AddTrack(bind)
	if err != nil {
		s.log.Warn("add video track", "err", err)
		_ = track.Close()
		return
	}
	s.mu.Lock()
	s.cam, s.vTrack, s.vSender, s.vBind = cam, track, sender, bind
	s.mu.Unlock()
	// No RTCP drain here: mediadevices reads this sender's RTCP for PLI/FIR.
}

// ensureVideoRecv makes sure an offer carries a video section even when we
// have no camera.
func (s *mediaSession) ensureVideoRecv() {
	for _, t := range s.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			return
		}
	}
	if _, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		s.log.Warn("video transceiver", "err", err)
	}
}

// removeVideo stops sending video (video → audio call).
func (s *mediaSession) removeVideo() {
	s.mu.Lock()
	sender, track, cam := s.vSender, s.vTrack, s.cam
	s.vSender, s.vTrack, s.cam, s.vBind = nil, nil, nil, nil
	s.mu.Unlock()
	if sender != nil {
		if err := s.pc.RemoveTrack(sender); err != nil {
			s.log.Warn("remove video track", "err", err)
		}
	}
	if track != nil {
		_ = track.Close()
	}
	_ = cam
}

func (s *mediaSession) applyCallType(t protocol.CallType) {
	if t == s.callType {
		return
	}
	s.callType = t
	if t == protocol.CallVideo {
		s.addVideo()
	} else {
		s.removeVideo()
	}
	if s.offerer {
		s.negotiate()
	} else if s.pc.SignalingState() == webrtc.SignalingStateStable {
		s.send(protocol.RelayControl, mediaSignal{Renegotiate: true})
	}
}

// negotiate sends an offer (caller side), or notes that one is due once the
// current exchange completes.
func (s *mediaSession) negotiate() {
	if s.pc.SignalingState() != webrtc.SignalingStateStable {
		s.wantOffer = true
		return
	}
	s.wantOffer = false
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		s.log.Warn("create offer", "err", err)
		return
	}
	s.holdCandidates()
	defer s.releaseCandidates()
	if err := s.pc.SetLocalDescription(offer); err != nil {
		s.log.Warn("set local offer", "err", err)
		return
	}
	s.send(protocol.RelayOffer, s.pc.LocalDescription())
}

// holdCandidates makes gathered candidates wait until releaseCandidates,
// which sends them after the description it brackets.
func (s *mediaSession) holdCandidates() {
	s.mu.Lock()
	s.holdCands = true
	s.mu.Unlock()
}

func (s *mediaSession) releaseCandidates() {
	s.mu.Lock()
	held := s.heldCands
	s.holdCands, s.heldCands = false, nil
	s.mu.Unlock()
	for i := range held {
		s.send(protocol.RelayCandidate, mediaSignal{Candidate: &held[i]})
	}
}

func (s *mediaSession) handleSignal(ev protocol.RelayEvent) {
	switch ev.Kind {
	case protocol.RelayOffer, protocol.RelayAnswer:
		var sd webrtc.SessionDescription
		if err := json.Unmarshal(ev.Payload, &sd); err != nil {
			s.log.Warn("bad session description from peer", "err", err)
			return
		}
		if err := s.pc.SetRemoteDescription(sd); err != nil {
			s.log.Warn("set remote description", "kind", ev.Kind, "err", err)
			return
		}
		for _, c := range s.pendingCands {
			if err := s.pc.AddICECandidate(c); err != nil {
				s.log.Debug("add ICE candidate", "err", err)
			}
		}
		s.pendingCands = nil
		if sd.Type == webrtc.SDPTypeOffer {
			ans, err := s.pc.CreateAnswer(nil)
			if err != nil {
				s.log.Warn("create answer", "err", err)
				return
			}
			s.holdCandidates()
			err = s.pc.SetLocalDescription(ans)
			if err == nil {
				s.send(protocol.RelayAnswer, s.pc.LocalDescription())
			}
			s.releaseCandidates()
			if err != nil {
				s.log.Warn("set local answer", "err", err)
				return
			}
			if s.unnegotiatedSender() {
				s.send(protocol.RelayControl, mediaSignal{Renegotiate: true})
			}
		} else if s.wantOffer {
			s.negotiate()
		}
	case protocol.RelayCandidate, protocol.RelayControl:
		var m mediaSignal
		if err := json.Unmarshal(ev.Payload, &m); err != nil {
			s.log.Warn("bad media signal from peer", "err", err)
			return
		}
		switch {
		case m.Candidate != nil:
			s.tr.candidate(false, s.channel, *m.Candidate)
			if s.pc.RemoteDescription() == nil {
				s.pendingCands = append(s.pendingCands, *m.Candidate)
				return
			}
			if err := s.pc.AddICECandidate(*m.Candidate); err != nil {
				s.log.Debug("add ICE candidate", "err", err)
			}
		case m.Renegotiate:
			if s.offerer {
				s.negotiate()
			}
		}
		if m.AudioMuted != nil {
			s.emit(EvAudioMuted, MuteInfo{UserID: s.peer, Mute: *m.AudioMuted})
		}
		if m.VideoMuted != nil {
			s.emit(EvVideoMuted, MuteInfo{UserID: s.peer, Mute: *m.VideoMuted})
		}
	}
}

// unnegotiatedSender reports a local track whose transceiver the last
// answer could not make sending (we added it after the offer was made).
func (s *mediaSession) unnegotiatedSender() bool {
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() != nil && t.Sender().Track() != nil {
			d := t.Direction()
			if d != webrtc.RTPTransceiverDirectionSendrecv && d != webrtc.RTPTransceiverDirectionSendonly {
				return true
			}
			if t.Mid() == "" {
				return true
			}
		}
	}
	return false
}

// applyTarget hands the congestion controller's current target to the video
// encoder and the resolution/frame-rate ladder. gcc calls back on unordered
// goroutines, so the current value is read rather than the one passed.
func (s *mediaSession) applyTarget() {
	s.mu.Lock()
	est, venc, cam, closing := s.est, s.venc, s.cam, s.closing
	s.mu.Unlock()
	if closing || est == nil || venc == nil {
		return
	}
	v := int(float64(est.GetTargetBitrate())*transportOverheadF) - s.cfg.audioBitrate()
	v = min(max(v, s.cfg.MinBitrate*1000), s.cfg.MaxBitrate*1000)
	venc.setBitRate(v)
	if cam != nil {
		cam.adapt(v, s.cfg.VideoWidth, s.cfg.VideoHeight)
	}
}

// setMicMuted mutes the outgoing audio and tells the peer.
func (s *mediaSession) setMicMuted(m bool) {
	s.micMutedF.Store(m)
	s.send(protocol.RelayControl, mediaSignal{AudioMuted: &m})
}

// setCameraOff sends black frames instead of the picture and tells the peer.
func (s *mediaSession) setCameraOff(off bool) {
	s.camOffF.Store(off)
	s.mu.Lock()
	cam := s.cam
	s.mu.Unlock()
	if cam != nil {
		cam.enabled.Store(!off)
	}
	s.send(protocol.RelayControl, mediaSignal{VideoMuted: &off})
}

// close ends the session: signaling loop first, then the PeerConnection
// (before the tracks: closing a track first freezes pc.Close), then the
// receive goroutines, capture, playback and the recording.
func (s *mediaSession) close() {
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
	s.player.closeAll()
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

// frameSlot holds the latest decoded remote picture: latest frame wins.
type frameSlot struct {
	mu     sync.Mutex
	img    *image.YCbCr
	taken  bool // get returned img: the UI may still be drawing it
	seq    uint64
	notify chan struct{} // capacity 1
}

func newFrameSlot() *frameSlot { return &frameSlot{notify: make(chan struct{}, 1)} }

// put publishes img and returns the picture it replaces if nobody fetched
// it, for the decoder to decode the next frame into.
func (f *frameSlot) put(img *image.YCbCr) (spare *image.YCbCr) {
	f.mu.Lock()
	if !f.taken {
		spare = f.img
	}
	f.img, f.taken = img, false
	f.seq++
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
	return spare
}

func (f *frameSlot) get() (*image.YCbCr, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.taken = true
	return f.img, f.seq
}
