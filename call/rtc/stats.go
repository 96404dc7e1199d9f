package rtc

import (
	"net"
	"strconv"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/quality"
)

// statsState is the previous sample of the cumulative counters.
type statsState struct {
	at                         time.Time
	aSent, vSent, aRecv, vRecv uint64
	rtxSent, padSent, rtxRecv  uint64
	recvPkts                   uint64
	lost                       int64
	vFrames, encFrames         uint64
	nacks, plis                uint64 // the peer's requests
	nacksSent, plisSent        uint64 // ours
	last                       CallStats
	have                       bool
}

// statsLoop emits STATS every interval while the session lives (with
// STATS off it still samples once a second: the rates steer video's share).
func (s *Session) statsLoop() {
	emit := s.cfg.StatsInterval >= 0
	every := s.cfg.StatsInterval
	if !emit {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	s.sample() // baseline
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			st := s.sample()
			// The audio and retransmission rates just measured move video's
			// share even while the estimate holds still (an estimate that
			// does not change calls back no more).
			s.applyTarget()
			s.mu.Lock()
			est := s.est
			s.mu.Unlock()
			if est != nil {
				est.Idle()
			}
			if emit {
				s.emit(EvStats, st)
			}
		}
	}
}

// sample reads the counters and turns the deltas since the last sample into
// rates.
func (s *Session) sample() CallStats {
	s.relayProtocol()
	s.mu.Lock()
	getter, est, aSender, vSender, venc, video, red := s.getter, s.est, s.aSender, s.vSender, s.venc, s.video, s.red
	pair, relayProto, rtxRemote := s.pair, s.relayProto, s.remoteRTX
	remote := map[string]uint32{}
	for k, v := range s.remote {
		remote[k.String()] = v
	}
	s.mu.Unlock()

	now := time.Now()
	prev := s.stats
	cur := statsState{at: now}
	out := CallStats{ChannelID: s.channel, UserID: s.peer}
	out.CandidateType, out.RemoteCandidateType, out.RelayProtocol = pair[0], pair[1], relayProto
	var rttMs float64
	var remoteLoss float64
	if getter != nil {
		senderStats := func(ssrc uint32) (uint64, float64, float64) {
			st := getter.Get(ssrc)
			if st == nil {
				return 0, 0, 0
			}
			o := st.OutboundRTPStreamStats
			return o.BytesSent + o.HeaderBytesSent,
				float64(st.RemoteInboundRTPStreamStats.RoundTripTime) / float64(time.Millisecond),
				st.RemoteInboundRTPStreamStats.FractionLost * 100
		}
		if aSender != nil {
			if p := aSender.GetParameters(); len(p.Encodings) > 0 {
				var rtt float64
				cur.aSent, rtt, remoteLoss = senderStats(uint32(p.Encodings[0].SSRC))
				rttMs = rtt
			}
		}
		if vSender != nil {
			if p := vSender.GetParameters(); len(p.Encodings) > 0 {
				var rtt, loss float64
				cur.vSent, rtt, loss = senderStats(uint32(p.Encodings[0].SSRC))
				if rttMs == 0 {
					rttMs = rtt
				}
				remoteLoss = max(remoteLoss, loss)
			}
		}
		if rtxRemote != nil {
			if ssrc := uint32(rtxRemote.RtxSSRC()); ssrc != 0 {
				if st := getter.Get(ssrc); st != nil {
					cur.rtxRecv = st.InboundRTPStreamStats.BytesReceived + st.InboundRTPStreamStats.HeaderBytesReceived
				}
			}
		}
		for kind, ssrc := range remote {
			st := getter.Get(ssrc)
			if st == nil {
				continue
			}
			in := st.InboundRTPStreamStats
			bytes := in.BytesReceived + in.HeaderBytesReceived
			if kind == "audio" {
				cur.aRecv = bytes
			} else {
				cur.vRecv = bytes
			}
			cur.recvPkts += in.PacketsReceived
			cur.lost += in.PacketsLost
		}
	}
	var rv recvVideoSample
	if video != nil {
		rv = video.sample(now)
		cur.vFrames, out.Width, out.Height = rv.frames, rv.w, rv.h
		cur.nacksSent, cur.plisSent = rv.nacks, rv.plis
		out.Frozen, out.RecvSuspended = rv.frozen, rv.paused
		out.FreezeMs = float64(rv.frozenFor) / float64(time.Millisecond)
		out.FreezeCount = rv.freezes
	}
	if venc != nil {
		if es, ok := venc.stats(); ok {
			cur.encFrames = es.Frames
			out.SendWidth, out.SendHeight = es.Width, es.Height
			out.SendSuspended = es.Suspended
			out.VideoTargetKbps = float64(es.TargetBps) / 1000
			if es.Suspended {
				out.SendWidth, out.SendHeight = 0, 0
			}
		}
	}
	if est != nil {
		// What the pacer sent, by kind: audio, video, retransmissions and
		// probe padding apart (the stats interceptor counts a stream's
		// retransmissions with its media).
		ps := est.Pacer().Stats()
		cur.aSent, cur.vSent, cur.rtxSent, cur.padSent = ps.AudioBytes, ps.VideoBytes, ps.RTXBytes, ps.PaddingBytes
		es := est.Stats()
		cur.nacks, cur.plis = es.NACKs, es.PLIs+es.FIRs
		out.QueueDelayMs = float64(es.QueueDelay) / float64(time.Millisecond)
	}
	if ps, ok := s.player.Stats(); ok {
		s.aq.sample(now, ps, rttMs, &out.Stats)
	}
	if red != nil {
		out.RedDistance = red.sendDistance()
		out.LeanAudio = red.lean.Load()
	}
	if est != nil {
		out.TargetKbps = float64(est.GetTargetBitrate()) / 1000
	}
	out.RttMs = rttMs
	out.RemoteLossPct = remoteLoss
	if prev.have {
		secs := now.Sub(prev.at).Seconds()
		d := func(a, b uint64) uint64 {
			if a < b {
				return 0
			}
			return a - b
		}
		out.AudioSendKbps = quality.Kbps(d(cur.aSent, prev.aSent), secs)
		out.VideoSendKbps = quality.Kbps(d(cur.vSent, prev.vSent), secs)
		out.AudioRecvKbps = quality.Kbps(d(cur.aRecv, prev.aRecv), secs)
		out.VideoRecvKbps = quality.Kbps(d(cur.vRecv, prev.vRecv), secs)
		out.RtxKbps = quality.Kbps(d(cur.rtxSent, prev.rtxSent), secs)
		out.RtxRecvKbps = quality.Kbps(d(cur.rtxRecv, prev.rtxRecv), secs)
		out.SendKbps = out.AudioSendKbps + out.VideoSendKbps + out.RtxKbps + quality.Kbps(d(cur.padSent, prev.padSent), secs)
		out.RecvKbps = out.AudioRecvKbps + out.VideoRecvKbps + out.RtxRecvKbps
		out.NackCount, out.PliCount = int(d(cur.nacks, prev.nacks)), int(d(cur.plis, prev.plis))
		out.NackSent, out.PliSent = int(d(cur.nacksSent, prev.nacksSent)), int(d(cur.plisSent, prev.plisSent))
		if secs > 0 {
			out.Fps = float64(d(cur.vFrames, prev.vFrames)) / secs
			out.SendFps = float64(d(cur.encFrames, prev.encFrames)) / secs
		}
		s.mu.Lock()
		s.sendRates.audio = int(out.AudioSendKbps * 1000)
		s.sendRates.rtx = int(out.RtxKbps * 1000)
		s.mu.Unlock()
		got := float64(d(cur.recvPkts, prev.recvPkts))
		lost := float64(max(cur.lost-prev.lost, 0))
		if got+lost > 0 {
			out.LossPct = 100 * lost / (got + lost)
		}
	}
	s.tellSuspended(out.SendSuspended)
	cur.have = true
	cur.last = out
	s.mu.Lock()
	s.stats = cur
	s.mu.Unlock()
	return out
}

// watchSelectedPair keeps the candidate types of the pair ICE selected
// for the stats. (ICETransport.GetSelectedCandidatePair races with the
// transport's start in pion v4.2, the callback does not.)
func (s *Session) watchSelectedPair(pc *webrtc.PeerConnection) {
	dtls := pc.SCTP().Transport()
	if dtls == nil {
		return
	}
	dtls.ICETransport().OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		if p == nil || p.Local == nil || p.Remote == nil {
			return
		}
		s.log.Debug("ICE pair selected", "local", p.Local.Typ.String(), "remote", p.Remote.Typ.String())
		s.tr.Pair(s.channel, p)
		s.mu.Lock()
		s.pair = [2]string{p.Local.Typ.String(), p.Remote.Typ.String()}
		s.relayCand, s.relayProto = "", ""
		if p.Local.Typ == webrtc.ICECandidateTypeRelay {
			s.relayCand = net.JoinHostPort(p.Local.Address, strconv.Itoa(int(p.Local.Port)))
		}
		s.mu.Unlock()
	})
}

// relayProtocol finds, once per selected relay pair, how its relay
// candidate reaches the TURN server. The candidate in the selection
// callback does not say; the candidate stats do.
func (s *Session) relayProtocol() {
	s.mu.Lock()
	pc, cand, known := s.pc, s.relayCand, s.relayProto != ""
	s.mu.Unlock()
	if pc == nil || cand == "" || known {
		return
	}
	for _, st := range pc.GetStats() {
		cs, ok := st.(webrtc.ICECandidateStats)
		if !ok || cs.CandidateType != webrtc.ICECandidateTypeRelay || net.JoinHostPort(cs.IP, strconv.Itoa(int(cs.Port))) != cand {
			continue
		}
		s.mu.Lock()
		if s.relayCand == cand {
			s.relayProto = cs.RelayProtocol
		}
		s.mu.Unlock()
		return
	}
}

// LastStats returns the most recent sample.
func (s *Session) LastStats() (CallStats, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.last, s.stats.have
}
