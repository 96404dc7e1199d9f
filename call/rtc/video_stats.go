package rtc

import (
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// VideoStats are the STATS event's video adaptation and repair figures
// (the picture sizes, frame rates and targetKbps are in quality.Stats).
// Counts and times are per interval, like the rates.
type VideoStats struct {
	// VideoTargetKbps is what the video encoder is asked for: the
	// congestion target less audio and retransmissions.
	VideoTargetKbps float64 `json:"videoTargetKbps"`
	// SendSuspended: the target is too low for any picture, so our video
	// is paused (the peer is told); RecvSuspended: the peer's is.
	SendSuspended bool `json:"sendSuspended"`
	RecvSuspended bool `json:"recvSuspended"`
	// Frozen: the received picture stands still now although the peer
	// sends (a freeze as WebRTC counts it, not a pause).
	Frozen bool `json:"frozen"`
	// FreezeMs is how long the received picture was frozen in the
	// interval; FreezeCount the freezes that began in it.
	FreezeMs    float64 `json:"freezeMs"`
	FreezeCount int     `json:"freezeCount"`
	// NackCount and PliCount are the peer's requests for our video in the
	// interval: NACK messages, and keyframe requests (PLI and FIR).
	NackCount int `json:"nackCount"`
	PliCount  int `json:"pliCount"`
	// NackSent and PliSent are ours for the peer's video.
	NackSent int `json:"nackSent"`
	PliSent  int `json:"pliSent"`
	// RtxKbps is what we retransmitted (RTX); RtxRecvKbps what the peer
	// retransmitted to us. Neither is in lossPct, which counts original
	// packets lost on the way.
	RtxKbps     float64 `json:"rtxKbps"`
	RtxRecvKbps float64 `json:"rtxRecvKbps"`
	// LeanAudio: the congestion target is too low for RED beside video,
	// so our audio goes without copies and with Opus' in-band FEC.
	LeanAudio bool `json:"leanAudio"`
	// QueueDelayMs is the queueing delay our estimator sees on the path
	// to the peer (one-way delay over its minimum).
	QueueDelayMs float64 `json:"queueDelayMs"`
}

// tellSuspended tells the peer when our video pauses or resumes for want
// of bandwidth.
func (s *Session) tellSuspended(on bool) {
	s.mu.Lock()
	changed := on != s.videoSuspended
	s.videoSuspended = on
	s.mu.Unlock()
	if changed {
		s.send(protocol.RelayControl, protocol.MediaControl{VideoSuspended: &on})
	}
}

// peerSuspended records the peer's video pausing or resuming.
func (s *Session) peerSuspended(on bool) {
	s.mu.Lock()
	video := s.video
	s.mu.Unlock()
	if video != nil {
		video.setSuspended(on, time.Now())
	}
}
