package protocol

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The payloads a relay carries, by kind (docs/protocol.md, "Media
// negotiation"). The server checks each against its shape before relaying
// it, so a peer never receives what it could not apply.

// SessionDescription is the payload of an "offer" or "answer" relay:
// WebRTC's RTCSessionDescriptionInit.
type SessionDescription struct {
	Type string `json:"type"` // "offer" or "answer": the relay's kind
	SDP  string `json:"sdp"`
}

// ICECandidate is WebRTC's RTCIceCandidateInit. An empty Candidate is the
// end-of-candidates indication.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// CandidateSignal is the payload of a "candidate" relay.
type CandidateSignal struct {
	Candidate *ICECandidate `json:"candidate"`
}

// MediaControl is the payload of a "control" relay; at least one field is
// set.
type MediaControl struct {
	// Renegotiate asks the caller (the offering side) for a new offer: the
	// callee changed its tracks after its last answer.
	Renegotiate bool `json:"renegotiate,omitempty"`
	// AudioMuted / VideoMuted announce the sender's microphone and camera
	// state (AUDIO_MUTED, VIDEO_MUTED at the receiver).
	AudioMuted *bool `json:"audioMuted,omitempty"`
	VideoMuted *bool `json:"videoMuted,omitempty"`
	// MediaWarning tells the peer that this side's media failed (no media
	// arrived after accept), naming the cause (MEDIA_WARNING at the peer).
	MediaWarning *MediaProblem `json:"mediaWarning,omitempty"`
	// VideoSuspended says the sender paused its video for want of
	// bandwidth (true) or resumed it (false): the receiver shows a notice
	// rather than a frozen picture, and asks for no keyframes meanwhile.
	VideoSuspended *bool `json:"videoSuspended,omitempty"`
}

// MediaProblem is a media failure one side reports to the other.
type MediaProblem struct {
	Kind  string `json:"kind"`  // noMedia
	Error string `json:"error"` // the cause, for people
}

// Limits of relay payload fields.
const (
	MaxCandidateLength   = 1024
	MaxSDPMidLength      = 64
	MaxUfragLength       = 256
	MaxMediaProblemKind  = 32
	MaxMediaProblemError = 512
)

// Media problem kinds.
const (
	// ProblemNoMedia: no media arrived within a few seconds of accept.
	ProblemNoMedia = "noMedia"
)

// ParseRelayPayload decodes and checks the payload of a relay of kind:
// *SessionDescription (offer, answer), *CandidateSignal (candidate) or
// *MediaControl (control). Decoding is strict: a field that is not
// documented is an error, so a wrongly shaped payload is refused rather
// than relayed and dropped at the peer.
func ParseRelayPayload(kind string, payload json.RawMessage) (any, error) {
	switch kind {
	case RelayOffer, RelayAnswer:
		var sd SessionDescription
		if err := strictUnmarshal(payload, &sd); err != nil {
			return nil, badField("payload", fmt.Sprintf(`%s wants {"type":%q,"sdp":"…"}: %v`, kind, kind, err))
		}
		return &sd, sd.check(kind)
	case RelayCandidate:
		var cs CandidateSignal
		if err := strictUnmarshal(payload, &cs); err != nil {
			return nil, badField("payload", fmt.Sprintf(`candidate wants {"candidate":{"candidate":"candidate:…","sdpMid":"0","sdpMLineIndex":0}}: %v`, err))
		}
		if cs.Candidate == nil {
			return nil, badField("payload.candidate", `missing: wrap the RTCIceCandidateInit as {"candidate":{…}}`)
		}
		return &cs, cs.Candidate.check()
	case RelayControl:
		var mc MediaControl
		if err := strictUnmarshal(payload, &mc); err != nil {
			return nil, badField("payload", fmt.Sprintf("control wants renegotiate, audioMuted, videoMuted, mediaWarning or videoSuspended: %v", err))
		}
		return &mc, mc.check()
	}
	return nil, badField("kind", "must be offer, answer, candidate or control")
}

func (sd *SessionDescription) check(kind string) error {
	if sd.Type != kind {
		return badField("payload.type", fmt.Sprintf("is %q in a relay of kind %q", sd.Type, kind))
	}
	if !utf8.ValidString(sd.SDP) {
		return badField("payload.sdp", "not UTF-8")
	}
	if !strings.HasPrefix(sd.SDP, "v=0") || !strings.Contains(sd.SDP, "\nm=") {
		return badField("payload.sdp", "not a session description with media (want v=0 … m=…)")
	}
	return nil
}

// check validates an RTCIceCandidateInit: the candidate attribute's syntax
// (RFC 8839 section 5.1) and a media line to apply it to.
func (c *ICECandidate) check() error {
	if len(c.Candidate) > MaxCandidateLength || !utf8.ValidString(c.Candidate) {
		return badField("payload.candidate.candidate", fmt.Sprintf("longer than %d bytes or not UTF-8", MaxCandidateLength))
	}
	if c.SDPMid != nil && (len(*c.SDPMid) > MaxSDPMidLength || !utf8.ValidString(*c.SDPMid)) {
		return badField("payload.candidate.sdpMid", fmt.Sprintf("longer than %d bytes or not UTF-8", MaxSDPMidLength))
	}
	if c.UsernameFragment != nil && (len(*c.UsernameFragment) > MaxUfragLength || !utf8.ValidString(*c.UsernameFragment)) {
		return badField("payload.candidate.usernameFragment", fmt.Sprintf("longer than %d bytes or not UTF-8", MaxUfragLength))
	}
	if c.Candidate == "" {
		return nil // end of candidates
	}
	if c.SDPMid == nil && c.SDPMLineIndex == nil {
		return badField("payload.candidate", "needs sdpMid or sdpMLineIndex")
	}
	if err := checkCandidateAttribute(c.Candidate); err != nil {
		return badField("payload.candidate.candidate", err.Error())
	}
	return nil
}

// checkCandidateAttribute checks "candidate:<foundation> <component>
// <transport> <priority> <address> <port> typ <type> …".
func checkCandidateAttribute(s string) error {
	f := strings.Fields(strings.TrimPrefix(s, "candidate:"))
	if len(f) < 8 || f[6] != "typ" {
		return fmt.Errorf("%q is not an ICE candidate (want candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE)", truncate(s, 80))
	}
	if n, err := strconv.Atoi(f[1]); err != nil || n < 1 || n > 256 {
		return fmt.Errorf("component %q: want 1-256", f[1])
	}
	if t := strings.ToLower(f[2]); t != "udp" && t != "tcp" {
		return fmt.Errorf("transport %q: want udp or tcp", f[2])
	}
	if _, err := strconv.ParseUint(f[3], 10, 32); err != nil {
		return fmt.Errorf("priority %q: want a 32-bit number", f[3])
	}
	if n, err := strconv.Atoi(f[5]); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want 0-65535", f[5])
	}
	switch f[7] {
	case "host", "srflx", "prflx", "relay":
	default:
		return fmt.Errorf("type %q: want host, srflx, prflx or relay", f[7])
	}
	return nil
}

func (mc *MediaControl) check() error {
	if !mc.Renegotiate && mc.AudioMuted == nil && mc.VideoMuted == nil && mc.MediaWarning == nil && mc.VideoSuspended == nil {
		return badField("payload", "control without renegotiate, audioMuted, videoMuted, mediaWarning or videoSuspended")
	}
	if w := mc.MediaWarning; w != nil {
		if w.Kind == "" || len(w.Kind) > MaxMediaProblemKind || !utf8.ValidString(w.Kind) {
			return badField("payload.mediaWarning.kind", fmt.Sprintf("missing, longer than %d bytes or not UTF-8", MaxMediaProblemKind))
		}
		if len(w.Error) > MaxMediaProblemError || !utf8.ValidString(w.Error) {
			return badField("payload.mediaWarning.error", fmt.Sprintf("longer than %d bytes or not UTF-8", MaxMediaProblemError))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
