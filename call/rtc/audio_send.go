package rtc

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/opus"
)

// What our audio carries against loss. With RED negotiated every packet
// repeats the previous frame (distance 1, from the first packet: Chrome's
// default), and more of them when the receiver reports bursts; Opus'
// in-band FEC would only duplicate the copy at distance 1, at a quality
// cost (it forces SILK mode), so it stays off. A peer without RED gets
// in-band FEC from the first packet at a low expected loss, following its
// reports, and a higher bitrate that pays for it.
const (
	minRED = 1
	maxRED = 4 // five copies of each frame is the most we send
	// redResidual is the loss a distance should leave unrepaired.
	redResidual = 0.005
	// redHold keeps a raised distance this long after it was last needed.
	redHold = 10 * time.Second
	// fecMinLoss is the expected loss FEC protects against from the start.
	fecMinLoss = 5
	fecMaxLoss = 20
	// fecLeanMinLoss is lean audio's floor: libopus puts LBRR only in
	// SILK frames, and forces SILK for FEC only when the expected loss
	// exceeds (128 − its voice estimate)/16, up to 8 % for audio it takes
	// for music (a tone, a test signal). Lean audio has no other repair.
	fecLeanMinLoss = 10
	// fecBitrateFactor raises the Opus bitrate while FEC is on: the LBRR
	// copy takes its bits from the primary.
	fecBitrateFactor = 1.25
	// A video call whose congestion target falls below leanBelowBps sends
	// its audio lean: RED off, in-band FEC on (40 kbit/s of Opus instead of
	// 64 and more). Behind a 150 kbit/s bottleneck RED's copies took 90
	// kbit/s, and up to 185 when the queue's drops raised the distance:
	// more than the link, so the audio queued and dropped behind itself.
	// Drops there are congestion, which more copies make worse. Above
	// leanAboveBps RED comes back: above what a 300 kbit/s bottleneck's
	// estimate overshoots to (323 kbps), where RED at distance 2 beside
	// video filled the link at the first words. Audio-only calls keep RED.
	leanBelowBps = 350_000
	leanAboveBps = 450_000
)

// redControl is the audio sender's loss protection, shared by the bound
// track (which reads the distance for each packet) and the RTCP reader
// (which sets it from the receiver's reports).
type redControl struct {
	sending  atomic.Bool  // the peer negotiated RED: our audio goes as RED
	distance atomic.Int32 // previous frames each packet repeats (what loss asks for)
	// lean: the path is too narrow for RED beside video; packets carry
	// no copies (distance 0) and Opus its in-band FEC (leanAudio).
	lean atomic.Bool

	mu       sync.Mutex
	raisedAt time.Time
	enc      *opus.EncoderBuilder
	bitrate  int // Opus bitrate without FEC
	fecLoss  int
}

func newRedControl(enc *opus.EncoderBuilder, bitrate int) *redControl {
	c := &redControl{enc: enc, bitrate: bitrate}
	c.distance.Store(minRED)
	c.applyFEC(0)
	return c
}

// bound is called once the audio track is bound: RED or plain Opus.
func (c *redControl) bound(red bool) {
	c.sending.Store(red)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyFEC(c.fecLoss)
}

// applyFEC sets the encoder for the loss (percent) the receiver reports.
// c.mu held (or construction).
func (c *redControl) applyFEC(lossPct int) {
	c.fecLoss = lossPct
	if c.enc == nil {
		return
	}
	if c.redOn() {
		c.enc.SetExpectedLoss(0)
		c.enc.SetTargetBitrate(c.bitrate)
		return
	}
	floor := fecMinLoss
	if c.lean.Load() {
		floor = fecLeanMinLoss
	}
	c.enc.SetExpectedLoss(min(max(lossPct, floor), fecMaxLoss))
	c.enc.SetTargetBitrate(int(float64(c.bitrate) * fecBitrateFactor))
}

// redOn reports whether our audio carries RED copies now.
func (c *redControl) redOn() bool { return c.sending.Load() && !c.lean.Load() }

// sendDistance is the number of copies each packet carries now: 0 while
// lean or without RED.
func (c *redControl) sendDistance() int {
	if !c.redOn() {
		return 0
	}
	return int(c.distance.Load())
}

// setLean switches between RED and lean audio (in-band FEC, no copies).
func (c *redControl) setLean(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lean.Swap(on) != on {
		c.applyFEC(c.fecLoss)
	}
}

// leanAudio decides whether a call's audio goes lean for the congestion
// target (wire bps) with hysteresis: only beside video, below leanBelowBps,
// until the target is above leanAboveBps again.
func leanAudio(video bool, targetBps int, lean bool) bool {
	switch {
	case !video:
		return false
	case lean:
		return targetBps <= leanAboveBps
	default:
		return targetBps < leanBelowBps
	}
}

// report takes the receiver's view of our audio: loss (0–1, before
// repair) and the mean length of loss runs in packets (0: unknown).
func (c *redControl) report(now time.Time, loss, burst float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyFEC(int(math.Round(loss * 100)))
	d := redDistance(loss, burst)
	cur := int(c.distance.Load())
	switch {
	case d >= cur:
		c.raisedAt = now
		c.distance.Store(int32(d))
	case now.Sub(c.raisedAt) > redHold:
		c.distance.Store(int32(cur - 1)) // step down slowly
		c.raisedAt = now
	}
}

// redDistance is the least distance that leaves at most redResidual of the
// packets unrepaired when losses come in runs of mean length burst
// (geometric: a run ends after each loss with probability 1/burst, and a
// frame is lost for good when its packet and the next d are all lost).
func redDistance(loss, burst float64) int {
	if loss <= redResidual {
		return minRED
	}
	end := 1 / max(burst, 1)
	for d := minRED; d < maxRED; d++ {
		if loss*math.Pow(1-end, float64(d)) <= redResidual {
			return d
		}
	}
	return maxRED
}

// readAudioRTCP reads the audio sender's RTCP (nobody else does: Opus has
// no keyframe controller) and follows the receiver's reports: the VoIP
// metrics of an extended report (RFC 3611 §4.7) from a softphone, else the
// fraction lost of receiver reports.
func (s *Session) readAudioRTCP(sender *webrtc.RTPSender, ctl *redControl) {
	var ssrc uint32
	if p := sender.GetParameters(); len(p.Encodings) > 0 {
		ssrc = uint32(p.Encodings[0].SSRC)
	}
	var haveXR time.Time
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.ExtendedReport:
				for _, b := range p.Reports {
					if m, ok := b.(*rtcp.VoIPMetricsReportBlock); ok && m.SSRC == ssrc {
						loss := float64(m.LossRate) / 256
						burst := 0.0
						if m.BurstDuration > 0 {
							burst = float64(m.BurstDuration) / audioFrameMs
						}
						ctl.report(now, loss, burst)
						haveXR = now
					}
				}
			case *rtcp.ReceiverReport:
				if now.Sub(haveXR) < 5*time.Second {
					continue // the XR says more
				}
				for _, r := range p.Reports {
					if r.SSRC == ssrc {
						ctl.report(now, float64(r.FractionLost)/256, 0)
					}
				}
			}
		}
	}
}
