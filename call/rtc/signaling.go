package rtc

import (
	"context"
	"encoding/json"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
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
	// VideoSuspended says the sender paused its video for want of
	// bandwidth (or resumed it): the receiver shows a notice, not a freeze.
	VideoSuspended *bool `json:"videoSuspended,omitempty"`
}

type outRelay struct {
	kind    string
	payload json.RawMessage
}

// send queues a relay to the peer, in order.
func (s *Session) send(kind string, v any) {
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
func (s *Session) sendRelays() {
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

func (s *Session) checkRelays(acks <-chan relayAck) {
	for a := range acks {
		ctx, cancel := context.WithTimeout(s.ctx, relayTimeout)
		err := a.await(ctx)
		cancel()
		if err != nil {
			s.relayFailed(a.kind, err)
		}
	}
}

func (s *Session) relayFailed(kind string, err error) {
	if s.ctx.Err() == nil {
		s.log.Warn("media relay failed", "kind", kind, "err", err)
	}
}

func (s *Session) applyCallType(t protocol.CallType) {
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
func (s *Session) negotiate() {
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
func (s *Session) holdCandidates() {
	s.mu.Lock()
	s.holdCands = true
	s.mu.Unlock()
}

func (s *Session) releaseCandidates() {
	s.mu.Lock()
	held := s.heldCands
	s.holdCands, s.heldCands = false, nil
	s.mu.Unlock()
	for i := range held {
		s.send(protocol.RelayCandidate, mediaSignal{Candidate: &held[i]})
	}
}

func (s *Session) handleSignal(ev protocol.RelayEvent) {
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
			s.tr.Candidate(false, s.channel, *m.Candidate)
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
		if m.VideoSuspended != nil {
			s.peerSuspended(*m.VideoSuspended)
		}
	}
}

// unnegotiatedSender reports a local track whose transceiver the last
// answer could not make sending (we added it after the offer was made).
func (s *Session) unnegotiatedSender() bool {
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
