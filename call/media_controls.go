package call

import (
	"fmt"
	"image"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/rtc"
)

// The media session of a call lives in package call/rtc; these are its
// public names as the engine's API has always spelled them.

// MediaConfig turns the engine's calls into real calls (see rtc.Config).
type MediaConfig = rtc.Config

// Source and sink names understood by MediaConfig besides files and device
// names.
const (
	SourceDefault = rtc.SourceDefault
	SourceNone    = rtc.SourceNone
	SourceTone    = rtc.SourceTone
	SourceSilence = rtc.SourceSilence
	SourceTestsrc = rtc.SourceTestsrc
)

// Media event names (see package rtc).
const (
	EvAudioAvailable = rtc.EvAudioAvailable
	EvVideoAvailable = rtc.EvVideoAvailable
	EvAudioPlaying   = rtc.EvAudioPlaying
	EvAudioMuted     = rtc.EvAudioMuted
	EvVideoMuted     = rtc.EvVideoMuted
	EvStats          = rtc.EvStats
	EvMediaWarning   = rtc.EvMediaWarning
)

// Media event data.
type (
	Availability = rtc.Availability
	MuteInfo     = rtc.MuteInfo
	MediaWarning = rtc.MediaWarning
	CallStats    = rtc.CallStats
)

// CheckCameras validates a camera list (MediaConfig.Cameras).
func CheckCameras(list []string) error { return rtc.CheckCameras(list) }

// maxEarlyRelays bounds the negotiation relays kept for a session that has
// not started yet.
const maxEarlyRelays = 256

// mediaNow returns the current media session, if any.
func (e *Engine) mediaNow() *rtc.Session {
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
		m.SetMicMuted(mute)
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
		m.SetCameraOff(!enabled)
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
	if userID != m.Peer() {
		return protocol.Errorf(protocol.CodeNotFound, "user %q is not in this call", userID)
	}
	m.SetRemoteMuted(mute)
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
	cycle, err := rtc.CameraCycle(*base)
	if err != nil {
		m.WarnSwitch(fmt.Errorf("MediaConfig.Cameras: %w", err))
		return false
	}
	return m.SwitchCamera(cycle, func(entry string) {
		e.mu.Lock()
		e.camEntry = entry
		e.mu.Unlock()
	})
}

// RemoteVideoFrame returns the latest decoded remote picture (nil before
// the first) and a sequence number that grows with every new frame. The
// image is shared: read it, never modify it.
func (e *Engine) RemoteVideoFrame() (*image.YCbCr, uint64) { return e.frames.Get() }

// RemoteVideoNotify is signalled (capacity 1, latest frame wins) whenever a
// new remote frame is available.
func (e *Engine) RemoteVideoNotify() <-chan struct{} { return e.frames.Notify() }

// LocalVideoFrame returns the latest outgoing picture as the peer gets it
// (after the beauty filter; black with the camera off), scaled down for a
// preview, and a sequence number that grows with every new preview frame.
// It returns nil, 0 when the current call sends no video. The image is
// shared: read it, never modify it.
func (e *Engine) LocalVideoFrame() (*image.YCbCr, uint64) {
	m := e.mediaNow()
	if m == nil {
		return nil, 0
	}
	return m.LocalVideoFrame()
}

// AudioLevels returns the peak level (0..1 of full scale) of the last
// ≈ 100 ms of the audio we send (silence while muted) and of the audio we
// play. ok is false when there is no media session.
func (e *Engine) AudioLevels() (mic, speaker float64, ok bool) {
	m := e.mediaNow()
	if m == nil {
		return 0, 0, false
	}
	mic, speaker = m.AudioLevels()
	return mic, speaker, true
}

// MediaStats returns the last quality sample of the current call.
func (e *Engine) MediaStats() (CallStats, bool) {
	m := e.mediaNow()
	if m == nil {
		return CallStats{}, false
	}
	return m.LastStats()
}

// startMediaLocked starts the media session of the current call (e.mu
// held): once it is connected, or already while it rings (our own call as
// soon as its channel is known, an invite when it arrives). A session
// started while ringing builds the peer connection and opens the devices —
// the caller's also makes its offer and gathers candidates — and sends
// nothing until the call is accepted and Activate runs: accept → first
// audio then leaves out the setup. Relays that arrived early are replayed
// into it.
func (e *Engine) startMediaLocked() {
	if e.cfg.Media == nil || e.media != nil || e.cur == nil || e.closed {
		return
	}
	ringing := e.cur.ChannelID != "" &&
		((e.state == protocol.StateCalling && e.cur.Outgoing) || (e.state == protocol.StateCalled && !e.cur.Outgoing))
	if e.state != protocol.StateInCall && !ringing {
		return
	}
	cur := e.cur
	cfg := *e.cfg.Media
	if e.camEntry != "" && cfg.VideoIn != SourceNone {
		cfg.VideoIn = e.camEntry // SwitchCamera's last choice
	}
	p := rtc.Params{
		Config:   cfg,
		Log:      e.log.With("channelId", cur.ChannelID),
		Emit:     e.bus.emit,
		Relay:    e.beginRelay,
		ICE:      e.sessionICEServers,
		Channel:  cur.ChannelID,
		Self:     e.account,
		Peer:     cur.Peer,
		Offerer:  cur.Outgoing,
		CallType: cur.CallType,
		MicMuted: e.micMuted,
		CamOff:   e.camOff,
		Frames:   e.frames,
		Held:     ringing,
	}
	if e.tr != nil {
		p.Tracer = e.tr
	}
	e.media = rtc.New(p)
	for _, ev := range e.earlyRelay {
		if ev.ChannelID == cur.ChannelID {
			e.media.Deliver(ev)
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
	m.CheckMediaAtEnd() // before the events that end the call
	e.media = nil
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		m.Close()
	}()
}

// relayLocked routes a RELAY event: media negotiation of the current call
// goes to its session (or waits for it), anything else is emitted.
func (e *Engine) relayLocked(ev protocol.RelayEvent) bool {
	if e.cfg.Media == nil || e.cur == nil || ev.ChannelID != e.cur.ChannelID {
		return false
	}
	if e.media != nil {
		e.media.Deliver(ev)
		return true
	}
	if len(e.earlyRelay) < maxEarlyRelays {
		e.earlyRelay = append(e.earlyRelay, ev)
	}
	return true
}

// callTypeLocked tells the media session about an agreed call type change.
func (e *Engine) callTypeLocked(t protocol.CallType) {
	if e.media != nil {
		e.media.SetCallType(t)
	}
}
