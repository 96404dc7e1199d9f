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

// SwitchCamera moves to the next camera. The softphone captures from one
// configured device, so this is a no-op that reports false when there is no
// other camera to switch to.
func (e *Engine) SwitchCamera() bool { return false }

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
	e.media = newMediaSession(sessionParams{
		cfg:      *e.cfg.Media,
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
