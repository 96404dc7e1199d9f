package rtc

import (
	"context"
	"encoding/json"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
)

// candidateSignal is the payload of a "candidate" relay for init (end of
// candidates when init is nil).
func candidateSignal(init *webrtc.ICECandidateInit) protocol.CandidateSignal {
	if init == nil {
		return protocol.CandidateSignal{Candidate: &protocol.ICECandidate{}}
	}
	return protocol.CandidateSignal{Candidate: &protocol.ICECandidate{
		Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex,
		UsernameFragment: init.UsernameFragment,
	}}
}

// candidateInit is the pion form of a relayed candidate.
func candidateInit(c *protocol.ICECandidate) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment}
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
	if !s.waitActive() {
		return
	}
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
		s.send(protocol.RelayControl, protocol.MediaControl{Renegotiate: true})
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
		s.negotiationFailed("set local offer", err)
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
		s.send(protocol.RelayCandidate, candidateSignal(held[i]))
	}
}

// handleSignal applies one relay from the peer. The server has checked its
// shape already; it is parsed again here because the engine trusts no
// input, and a failure is kept as the cause a no-media warning names.
func (s *Session) handleSignal(ev protocol.RelayEvent) {
	v, err := protocol.ParseRelayPayload(ev.Kind, ev.Payload)
	if err != nil {
		s.negotiationFailed("relay "+ev.Kind+" from the peer", err)
		return
	}
	switch p := v.(type) {
	case *protocol.SessionDescription:
		s.applyDescription(p)
	case *protocol.CandidateSignal:
		s.addRemoteCandidate(candidateInit(p.Candidate))
	case *protocol.MediaControl:
		s.control(p)
	}
}

func (s *Session) applyDescription(p *protocol.SessionDescription) {
	sd := webrtc.SessionDescription{Type: webrtc.NewSDPType(p.Type), SDP: p.SDP}
	if err := s.pc.SetRemoteDescription(sd); err != nil {
		s.negotiationFailed("apply the peer's "+p.Type, err)
		return
	}
	s.remoteDescs.Add(1)
	for _, c := range s.pendingCands {
		s.addRemoteCandidate(c)
	}
	s.pendingCands = nil
	if sd.Type != webrtc.SDPTypeOffer {
		if s.wantOffer {
			s.negotiate()
		}
		return
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		s.negotiationFailed("create answer", err)
		return
	}
	s.holdCandidates()
	err = s.pc.SetLocalDescription(ans)
	if err == nil {
		s.send(protocol.RelayAnswer, s.pc.LocalDescription())
	}
	s.releaseCandidates()
	if err != nil {
		s.negotiationFailed("set local answer", err)
		return
	}
	if s.unnegotiatedSender() {
		s.send(protocol.RelayControl, protocol.MediaControl{Renegotiate: true})
	}
}

// addRemoteCandidate applies a trickled candidate, or keeps it until the
// remote description is there. An empty one ends the peer's candidates.
func (s *Session) addRemoteCandidate(c webrtc.ICECandidateInit) {
	if s.pc.RemoteDescription() == nil {
		s.pendingCands = append(s.pendingCands, c)
		return
	}
	if c.Candidate == "" {
		s.log.Debug("end of the peer's candidates")
	} else {
		s.tr.Candidate(false, s.channel, c)
		s.remoteCands.Add(1)
	}
	if err := s.pc.AddICECandidate(c); err != nil {
		// One unusable candidate (an address family we lack) is no reason
		// to stop; the no-media watchdog names a call that gets no path.
		s.log.Debug("add ICE candidate", "err", err)
	}
}

func (s *Session) control(m *protocol.MediaControl) {
	if m.Renegotiate && s.offerer {
		s.negotiate()
	}
	if m.AudioMuted != nil {
		s.emit(EvAudioMuted, MuteInfo{UserID: s.peer, Mute: *m.AudioMuted})
	}
	if m.VideoMuted != nil {
		s.emit(EvVideoMuted, MuteInfo{UserID: s.peer, Mute: *m.VideoMuted})
	}
	if w := m.MediaWarning; w != nil {
		s.emit(EvMediaWarning, MediaWarning{Kind: w.Kind, Error: w.Error, Remote: true})
	}
	if m.VideoSuspended != nil {
		s.peerSuspended(*m.VideoSuspended)
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
