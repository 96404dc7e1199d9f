// Package quality holds the call-quality figures reported every second and
// the simplified ITU-T G.107 E-model that turns network figures into a MOS.
package quality

import "math"

// RFactor is the simplified E-model transmission rating:
//
//	effLat = latency + 2·jitter + 10
//	R = 93.2 − effLat/40            if effLat < 160
//	R = 93.2 − (effLat − 120)/10    otherwise
//	R −= 2.5·lossPct
//
// latencyMs is the one-way mouth-to-ear latency (e.g. RTT/2 plus playout
// delay), jitterMs the interarrival jitter, lossPct the packet loss in
// percent (0–100). Negative or NaN inputs count as 0 and loss is capped at
// 100; the result is not clamped (MOS does that).
func RFactor(latencyMs, jitterMs, lossPct float64) float64 {
	latencyMs, jitterMs = nonNeg(latencyMs), nonNeg(jitterMs)
	lossPct = min(nonNeg(lossPct), 100)
	eff := latencyMs + 2*jitterMs + 10
	var r float64
	if eff < 160 {
		r = 93.2 - eff/40
	} else {
		r = 93.2 - (eff-120)/10
	}
	return r - 2.5*lossPct
}

// MOSFromR maps an R factor to a mean opinion score:
// MOS = 1 + 0.035R + 7·10⁻⁶·R(R−60)(100−R), 1 for R < 0, 4.5 for R > 100,
// and never below 1.
func MOSFromR(r float64) float64 {
	switch {
	case math.IsNaN(r) || r < 0:
		return 1
	case r > 100:
		return 4.5
	}
	// The cubic dips just below 1 for R under about 6.5; MOS has no
	// meaning below 1.
	return max(1, 1+0.035*r+7e-6*r*(r-60)*(100-r))
}

// MOS estimates the mean opinion score (1–4.5) from one-way latency, jitter
// and loss; see RFactor for the inputs.
func MOS(latencyMs, jitterMs, lossPct float64) float64 {
	return MOSFromR(RFactor(latencyMs, jitterMs, lossPct))
}

func nonNeg(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}

// Stats are one call's quality figures for the last interval (normally a
// second). JSON field names are the ones the headless --json STATS events
// and the engine API promise; all are numbers.
type Stats struct {
	SendKbps       float64 `json:"sendKbps"`       // all outgoing media, RTP payload + headers
	RecvKbps       float64 `json:"recvKbps"`       // all incoming media
	AudioSendKbps  float64 `json:"audioSendKbps"`  // outgoing audio only
	AudioRecvKbps  float64 `json:"audioRecvKbps"`  // incoming audio only
	VideoSendKbps  float64 `json:"videoSendKbps"`  // outgoing video only
	VideoRecvKbps  float64 `json:"videoRecvKbps"`  // incoming video only
	TargetKbps     float64 `json:"targetKbps"`     // congestion controller's current send target
	LossPct        float64 `json:"lossPct"`        // incoming packet loss over the interval, percent
	RemoteLossPct  float64 `json:"remoteLossPct"`  // loss the peer reports for our stream (RTCP RR), percent
	JitterMs       float64 `json:"jitterMs"`       // incoming audio interarrival jitter
	RttMs          float64 `json:"rttMs"`          // round-trip time
	Fps            float64 `json:"fps"`            // decoded remote video frames per second
	Width          int     `json:"width"`          // remote video width (0 without video)
	Height         int     `json:"height"`         // remote video height
	SendFps        float64 `json:"sendFps"`        // encoded local video frames per second
	SendWidth      int     `json:"sendWidth"`      // local video width as sent
	SendHeight     int     `json:"sendHeight"`     // local video height as sent
	PlayoutDelayMs float64 `json:"playoutDelayMs"` // audio playout buffer delay
	ConcealedPct   float64 `json:"concealedPct"`   // share of played audio frames that were concealed or FEC-recovered
	FECPct         float64 `json:"fecPct"`         // share of played audio frames recovered from in-band FEC
	Mos            float64 `json:"mos"`            // E-model estimate, 1–4.5
}

// ComputeMOS fills Mos from the other fields, taking the one-way latency as
// half the RTT plus the playout delay.
func (s *Stats) ComputeMOS() {
	s.Mos = MOS(s.RttMs/2+s.PlayoutDelayMs, s.JitterMs, s.LossPct)
}

// Kbps converts a byte count over an interval in seconds to kilobits per
// second (0 for an empty interval).
func Kbps(bytes uint64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) * 8 / 1000 / seconds
}
