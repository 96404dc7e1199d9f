// Package quality holds the call-quality figures reported every second and
// the ITU-T G.107 E-model that turns what a listener got into a MOS.
package quality

import "math"

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

	// Received audio as it was played. Per-interval figures cover the last
	// interval; the call* figures the whole call so far.
	TargetDelayMs float64 `json:"targetDelayMs"` // playout target from the jitter and redundancy
	MouthToEarMs  float64 `json:"mouthToEarMs"`  // estimated one-way delay: RTT/2 + codec + playout
	ConcealedPct  float64 `json:"concealedPct"`  // share of played audio synthesised by concealment (after FEC and RED)
	FECPct        float64 `json:"fecPct"`        // share of played frames recovered from in-band FEC
	REDPct        float64 `json:"redPct"`        // share of played frames played from a RED copy
	StretchPct    float64 `json:"stretchPct"`    // share of played time added or removed by time-scale modification
	LatePct       float64 `json:"latePct"`       // received packets that came too late to be played, percent
	// Mos is the E-model estimate (1–4.5) of the audio played over the
	// last 10 s (concealment, time-scale changes, delay; see Listening).
	Mos               float64 `json:"mos"`
	CallConcealedPct  float64 `json:"callConcealedPct"`
	CallFECPct        float64 `json:"callFecPct"`
	CallREDPct        float64 `json:"callRedPct"`
	CallStretchPct    float64 `json:"callStretchPct"`
	CallTimeStretches uint64  `json:"callTimeStretches"` // accelerations and expansions so far
	CallMos           float64 `json:"callMos"`           // the estimate over the whole call
	// RedDistance is how many earlier frames each audio packet we send
	// repeats (RFC 2198); 0 when the peer did not negotiate RED.
	RedDistance int `json:"redDistance"`
}

// Kbps converts a byte count over an interval in seconds to kilobits per
// second (0 for an empty interval).
func Kbps(bytes uint64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) * 8 / 1000 / seconds
}
