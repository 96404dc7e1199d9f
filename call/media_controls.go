package call

import (
	"image"

	"github.com/softphone/softphone/call/protocol"
)

// Media event names (NeCallKit's, plus STATS and a warning for a missing
// device).
const (
	// EvAudioAvailable / EvVideoAvailable: a remote track was added or
	// removed. Data: Availability.
	EvAudioAvailable = "AUDIO_AVAILABLE"
	EvVideoAvailable = "VIDEO_AVAILABLE"
	// EvAudioPlaying: the remote audio first reached the speaker (the
	// playout buffer's first decoded audio rather than its pre-roll
	// silence); once per call, Time is that pull. Data: Availability.
	EvAudioPlaying = "AUDIO_PLAYING"
	// EvAudioMuted / EvVideoMuted: a party muted or unmuted its microphone or
	// camera (ours are reported too, with our account). Data: MuteInfo.
	EvAudioMuted = "AUDIO_MUTED"
	EvVideoMuted = "VIDEO_MUTED"
	// EvStats carries the call's quality figures every second. Data: CallStats.
	EvStats = "STATS"
	// EvMediaWarning says a device could not be used and the call goes on
	// without it, or (kind "network") that media cannot connect as
	// configured. Data: MediaWarning.
	EvMediaWarning = "MEDIA_WARNING"
)

// Availability is the data of AUDIO_AVAILABLE and VIDEO_AVAILABLE.
type Availability struct {
	UserID    string `json:"userId"`
	Available bool   `json:"available"`
}

// MuteInfo is the data of AUDIO_MUTED and VIDEO_MUTED. The field is "mute",
// as NeCallKit's code sends it.
type MuteInfo struct {
	UserID string `json:"userId"`
	Mute   bool   `json:"mute"`
}

// MediaWarning is the data of MEDIA_WARNING.
type MediaWarning struct {
	Kind  string `json:"kind"` // audio, audioOut, video, network
	Error string `json:"error"`
	// Switching: the device was one SwitchCamera tried; the camera that
	// was being sent still is.
	Switching bool `json:"switching,omitempty"`
}

// mediaNow returns the current media session, if any.
func (e *Engine) mediaNow() *mediaSession {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.media
}

// MuteMicrophone mutes or unmutes the outgoing audio (NeCallKit's
// muteLocalAudio). It also applies to later calls. AUDIO_MUTED is emitted
// here with our account and at the peer with ours.
func (e *Engine) MuteMicrophone(mute bool) {
	e.mu.Lock()
	e.micMuted = mute
	m, acc := e.media, e.account
	e.mu.Unlock()
	if m != nil {
		m.setMicMuted(mute)
	}
	e.bus.emit(EvAudioMuted, MuteInfo{UserID: acc, Mute: mute})
}

// EnableCamera turns the outgoing picture on or off (NeCallKit's
// enableLocalVideo); off sends black frames. VIDEO_MUTED follows as for
// MuteMicrophone.
func (e *Engine) EnableCamera(enabled bool) {
	e.mu.Lock()
	e.camOff = !enabled
	m, acc := e.media, e.account
	e.mu.Unlock()
	if m != nil {
		m.setCameraOff(!enabled)
	}
	e.bus.emit(EvVideoMuted, MuteInfo{UserID: acc, Mute: !enabled})
}

// SetAudioMute mutes the playback of one remote user (NeCallKit's
// setAudioMute); in a 1:1 call that is the peer. It applies to the current
// call only.
func (e *Engine) SetAudioMute(userID string, mute bool) error {
	m := e.mediaNow()
	if m == nil {
		return protocol.Errorf(protocol.CodeChannelNotActive, "no media session")
	}
	if userID != m.peer {
		return protocol.Errorf(protocol.CodeNotFound, "user %q is not in this call", userID)
	}
	m.remoteMutedF.Store(mute)
	return nil
}

// SwitchCamera sends the picture of the next camera of MediaConfig.Cameras
// (or, without that list, of VideoIn and the other cameras found) in the
// current video call, without renegotiation: the encoder goes on with a
// keyframe of the new source, and the old one is closed. A camera that
// cannot be opened is skipped with a MEDIA_WARNING (kind "video",
// switching true) and the next one tried. It reports whether the picture
// changed: false with no call, in an audio call, with the camera off or
// missing, or with no other camera that opens. The choice applies to later
// calls too.
func (e *Engine) SwitchCamera() bool {
	e.mu.Lock()
	m, base := e.media, e.cfg.Media
	e.mu.Unlock()
	if m == nil || base == nil || base.Loopback > 0 {
		return false
	}
	cfg := base.withDefaults()
	if err := CheckCameras(cfg.Cameras); err != nil {
		m.emit(EvMediaWarning, MediaWarning{Kind: "video", Error: "MediaConfig.Cameras: " + err.Error(), Switching: true})
		return false
	}
	cycle := cameraCycle(&cfg, videoInputLabels())
	return m.switchCamera(cycle, func(entry string) {
		e.mu.Lock()
		e.camEntry = entry
		e.mu.Unlock()
	})
}

// switchCamera opens the camera after the current one in cycle and puts it
// in the current one's place; chosen is called with its entry.
func (s *mediaSession) switchCamera(cycle []string, chosen func(entry string)) bool {
	s.mu.Lock()
	cam, venc, closing := s.cam, s.venc, s.closing
	s.mu.Unlock()
	if cam == nil || closing || s.camOffF.Load() {
		return false
	}
	cam.switching.Lock()
	defer cam.switching.Unlock()
	keyFrame := func() {}
	if venc != nil {
		keyFrame = venc.forceKeyFrame
	}
	for _, entry := range nextCameras(cycle, cam.current()) {
		cfg := s.cfg // same size, frame rate and beauty filter
		cfg.VideoIn = entry
		next, err := openCamera(&cfg)
		if err != nil {
			s.log.Warn("switch camera: keeping the current one", "camera", entry, "err", err)
			s.emit(EvMediaWarning, MediaWarning{Kind: "video", Error: err.Error(), Switching: true})
			continue
		}
		if !cam.replace(next, keyFrame) {
			_ = next.Close() // the call ended meanwhile
			return false
		}
		s.log.Info("switched camera", "camera", entry)
		s.mu.Lock()
		s.camIn = entry // a later addVideo (audio → video) reopens this one
		s.mu.Unlock()
		chosen(entry)
		return true
	}
	return false
}

// RemoteVideoFrame returns the latest decoded remote picture (nil before
// the first) and a sequence number that grows with every new frame. The
// image is shared: read it, never modify it.
func (e *Engine) RemoteVideoFrame() (*image.YCbCr, uint64) { return e.frames.get() }

// RemoteVideoNotify is signalled (capacity 1, latest frame wins) whenever a
// new remote frame is available.
func (e *Engine) RemoteVideoNotify() <-chan struct{} { return e.frames.notify }

// MediaStats returns the last quality sample of the current call.
func (e *Engine) MediaStats() (CallStats, bool) {
	m := e.mediaNow()
	if m == nil {
		return CallStats{}, false
	}
	return m.lastStats()
}

// startMediaLocked starts the media session of the current call once it is
// connected (e.mu held). Relays that arrived early are replayed into it.
func (e *Engine) startMediaLocked() {
	if e.cfg.Media == nil || e.media != nil || e.cur == nil || e.state != protocol.StateInCall || e.closed {
		return
	}
	cur := e.cur
	cfg := *e.cfg.Media
	if e.camEntry != "" && cfg.VideoIn != SourceNone {
		cfg.VideoIn = e.camEntry // SwitchCamera's last choice
	}
	e.media = newMediaSession(sessionParams{
		cfg:      cfg,
		log:      e.log.With("channelId", cur.ChannelID),
		emit:     e.bus.emit,
		relay:    e.beginRelay,
		ice:      e.sessionICEServers,
		channel:  cur.ChannelID,
		self:     e.account,
		peer:     cur.Peer,
		offerer:  cur.Outgoing,
		callType: cur.CallType,
		micMuted: e.micMuted,
		camOff:   e.camOff,
		frames:   e.frames,
		taps:     newMediaTaps(),
		tr:       e.tr,
	})
	for _, ev := range e.earlyRelay {
		if ev.ChannelID == cur.ChannelID {
			e.media.deliver(ev)
		}
	}
	e.earlyRelay = nil
}

// stopMediaLocked detaches the media session and closes it on an owned
// goroutine: closing waits for pion, which must not happen under e.mu.
func (e *Engine) stopMediaLocked() {
	e.earlyRelay = nil
	m := e.media
	if m == nil {
		return
	}
	e.media = nil
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		m.close()
	}()
}

// relayLocked routes a RELAY event: media negotiation of the current call
// goes to its session (or waits for it), anything else is emitted.
func (e *Engine) relayLocked(ev protocol.RelayEvent) bool {
	if e.cfg.Media == nil || e.cur == nil || ev.ChannelID != e.cur.ChannelID {
		return false
	}
	if e.media != nil {
		e.media.deliver(ev)
		return true
	}
	if len(e.earlyRelay) < maxPendingSignals {
		e.earlyRelay = append(e.earlyRelay, ev)
	}
	return true
}

// callTypeLocked tells the media session about an agreed call type change.
func (e *Engine) callTypeLocked(t protocol.CallType) {
	if e.media != nil {
		e.media.setCallType(t)
	}
}
