package quality

import "math"

// Listening is what a listener got over a stretch of a call: the speech
// that was played, not the packets that arrived. Loss that FEC or RED
// repaired costs nothing here; concealment, time-scale changes and delay
// do. The shares are of the time the remote side spoke: what happened in
// its pauses replaced or moved near-silence and is not heard.
type Listening struct {
	// ConcealedPct is the share (percent) of the played audio that was
	// synthesised by concealment: lost frames nothing repaired.
	ConcealedPct float64
	// StretchPct is the share (percent) of the played time that time-scale
	// modification added or removed.
	StretchPct float64
	// ShiftsPerMin is how often time-scale modification changed the delay
	// (accelerations and expansions per minute of played audio): each
	// change is a discontinuity a listener can hear, whatever its length.
	ShiftsPerMin float64
	// MouthToEarMs is the one-way delay: sender's capture and codec,
	// network, playout buffer.
	MouthToEarMs float64
}

// The model's constants, calibrated against ITU-T P.862.2 (PESQ-WB) on the
// softphone's own playout (docs/benchmarks.md, "STATS mos"): the E-model of
// G.107 with an equipment impairment for Opus at 32 kbit/s wideband and a
// packet-loss robustness for libopus concealment, which G.113 does not
// tabulate.
const (
	// baseR is G.107's default basic signal-to-noise ratio less the
	// simultaneous impairment (Ro − Is).
	baseR = 93.2
	// opusIe: clean Opus 32 kbit/s wideband scores 4.30–4.36 PESQ-WB.
	opusIe = 3.7
	// opusBpl: 5.5 % random loss concealed by libopus scores 2.3–3.0.
	opusBpl = 8.4
	// stretchWeight is what a percent of time-scale modification (and of
	// waiting for a late packet) costs against a percent of concealment.
	// It and shiftCostMs, what one change of delay costs as milliseconds
	// of concealment, are fitted to P.862.2 of 72 received directions of
	// calls over the impaired bridge (docs/benchmarks.md, "STATS mos"),
	// counting speech only.
	stretchWeight = 0.5
	shiftCostMs   = 20.0
	// Idd's defaults (G.107 06/2015): mT 100 ms, sT 1.
	iddMT = 100.0
	iddST = 1.0
)

// R is the transmission rating: R = Ro − Is − Idd − Ie,eff with
// Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl + Bpl), where Ppl counts the concealed
// share and a weighted share of time-scale changes. G.107's BurstR stays 1:
// over the bridge, speech with its concealment in runs of 3–10 frames
// scored no worse than with the same share scattered (a burst term fitted
// to 72 directions came out at zero; with G.107's it read up to 1.7 low).
func (l Listening) R() float64 {
	// A minute is 60,000 ms: a change per minute is shiftCostMs of it.
	ppl := nonNeg(l.ConcealedPct) + stretchWeight*nonNeg(l.StretchPct) + 100*shiftCostMs*nonNeg(l.ShiftsPerMin)/60000
	ppl = min(ppl, 100)
	ie := opusIe + (95-opusIe)*ppl/(ppl+opusBpl)
	return baseR - Idd(l.MouthToEarMs) - ie
}

// MOS is the estimated mean opinion score (1–4.5) of what was played.
func (l Listening) MOS() float64 { return MOSFromR(l.R()) }

// Idd is G.107's impairment for an absolute one-way delay of ta ms:
// 0 up to mT, then 25·{(1+X^6s)^(1/6s) − 3·(1+(X/3)^6s)^(1/6s) + 2},
// X = log2(ta/mT).
func Idd(ta float64) float64 {
	if !(ta > iddMT) {
		return 0
	}
	x := math.Log2(ta / iddMT)
	e := 6 * iddST
	return 25 * (math.Pow(1+math.Pow(x, e), 1/e) - 3*math.Pow(1+math.Pow(x/3, e), 1/e) + 2)
}
