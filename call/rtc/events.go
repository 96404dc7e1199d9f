package rtc

import "github.com/softphone/softphone/media/quality"

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
	// without it, (kind "network") that media cannot connect as
	// configured, or (kind "noMedia") that no media arrived after accept,
	// here or (remote) at the peer. Data: MediaWarning.
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
	Kind  string `json:"kind"` // audio, audioOut, video, network, noMedia
	Error string `json:"error"`
	// Remote: the peer reported it (its side gets no media); Error is its
	// cause.
	Remote bool `json:"remote,omitempty"`
	// Switching: the device was one SwitchCamera tried; the camera that
	// was being sent still is.
	Switching bool `json:"switching,omitempty"`
}

// CallStats is the data of a STATS event: the call's quality figures for the
// last interval, flattened next to the channel and peer.
type CallStats struct {
	ChannelID string `json:"channelId"`
	UserID    string `json:"userId"` // the remote account
	// CandidateType and RemoteCandidateType are the ICE candidate types
	// (host, srflx, prflx, relay) of the selected pair, local and remote;
	// empty until ICE has selected one.
	CandidateType       string `json:"candidateType,omitempty"`
	RemoteCandidateType string `json:"remoteCandidateType,omitempty"`
	// RelayProtocol is how a relayed pair reaches the TURN server: udp,
	// tcp or tls (turns:); empty for a direct pair.
	RelayProtocol string `json:"relayProtocol,omitempty"`
	quality.Stats
	VideoStats
}
