package opus

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// rtpRate is Opus' RTP clock rate, whatever the capture rate (RFC 7587).
const rtpRate = 48000

// EncoderBuilder is a mediadevices audio encoder builder backed by Encoder,
// so a WebRTC track sends in-band FEC. It encodes mono 20 ms frames.
//
// FEC is not free: libopus carries it only in SILK mode, which costs about
// five times the CPU of the CELT mode it picks on a clean network at 32
// kbps (BenchmarkEncode). So, as in browsers, the expected loss follows what
// the receiver reports (SetExpectedLoss) and FEC appears when loss does.
type EncoderBuilder struct {
	EncoderOptions

	adaptive atomic.Bool
	loss     atomic.Int32
	bitrate  atomic.Int32 // 0: EncoderOptions.Bitrate
}

// SetTargetBitrate sets the bitrate (bits per second) the encoders of this
// builder use from their next frame on; it overrides Bitrate.
func (b *EncoderBuilder) SetTargetBitrate(bps int) {
	b.bitrate.Store(int32(max(bps, 0)))
}

// SetExpectedLoss sets the loss in percent the encoders of this builder
// protect against from their next frame on; it overrides LossPerc.
func (b *EncoderBuilder) SetExpectedLoss(perc int) {
	b.loss.Store(int32(max(min(perc, 100), 0)))
	b.adaptive.Store(true)
}

// expectedLoss is the loss to configure now.
func (b *EncoderBuilder) expectedLoss() int32 {
	if b.adaptive.Load() {
		return b.loss.Load()
	}
	return int32(b.LossPerc)
}

// frameDur is the packet duration: 20 ms, the VoIP norm; shorter frames cost
// more CPU and header overhead, longer ones add delay.
const frameDur = 20 * time.Millisecond

// RTPCodec describes the RTP codec the track negotiates.
func (b *EncoderBuilder) RTPCodec() *codec.RTPCodec {
	c := codec.NewRTPOpusCodec(rtpRate)
	c.Latency = frameDur
	return c
}

// BuildAudioEncoder starts an encoder reading r, whose chunks may have any
// length; p.SampleRate must be an Opus rate.
func (b *EncoderBuilder) BuildAudioEncoder(r audio.Reader, p prop.Media) (codec.ReadCloser, error) {
	if p.SampleRate == 0 {
		return nil, errors.New("opus: build encoder: sample rate missing")
	}
	enc, err := NewEncoder(p.SampleRate, 1, b.EncoderOptions)
	if err != nil {
		return nil, err
	}
	return &trackEncoder{
		b:       b,
		enc:     enc,
		src:     r,
		frame:   p.SampleRate * int(frameDur/time.Millisecond) / 1000,
		applied: int32(b.LossPerc),
		rate:    int32(b.Bitrate),
	}, nil
}

// trackEncoder reassembles captured chunks into 20 ms mono frames and
// encodes them.
type trackEncoder struct {
	b       *EncoderBuilder
	mu      sync.Mutex // guards enc against Close and SetBitRate during Read
	enc     *Encoder
	applied int32 // expected loss the encoder has
	rate    int32 // bitrate the encoder has
	src     audio.Reader
	frame   int     // samples per frame
	pending []int16 // mono samples not yet encoded
}

// Read returns the next encoded packet.
func (t *trackEncoder) Read() ([]byte, func(), error) {
	for len(t.pending) < t.frame {
		chunk, release, err := t.src.Read()
		if err != nil {
			return nil, func() {}, err
		}
		t.pending, err = appendMono(t.pending, chunk)
		if release != nil {
			release()
		}
		if err != nil {
			return nil, func() {}, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.enc.st == nil {
		return nil, func() {}, io.EOF
	}
	if want := t.b.expectedLoss(); want != t.applied {
		if err := t.enc.SetPacketLoss(int(want)); err != nil {
			return nil, func() {}, err
		}
		t.applied = want
	}
	if want := t.b.bitrate.Load(); want > 0 && want != t.rate {
		if err := t.enc.SetBitrate(int(want)); err != nil {
			return nil, func() {}, err
		}
		t.rate = want
	}
	pkt, err := t.enc.Encode(t.pending[:t.frame])
	if err != nil {
		return nil, func() {}, err
	}
	rest := copy(t.pending, t.pending[t.frame:])
	t.pending = t.pending[:rest]
	return pkt, func() {}, nil
}

// appendMono appends chunk to dst as mono int16, averaging channels.
func appendMono(dst []int16, chunk wave.Audio) ([]int16, error) {
	switch c := chunk.(type) {
	case *wave.Int16Interleaved:
		ch := c.Size.Channels
		if ch <= 1 {
			return append(dst, c.Data[:c.Size.Len]...), nil
		}
		for i := 0; i < c.Size.Len; i++ {
			sum := 0
			for _, v := range c.Data[i*ch : (i+1)*ch] {
				sum += int(v)
			}
			dst = append(dst, int16(sum/ch))
		}
		return dst, nil
	case *wave.Float32Interleaved:
		ch := max(c.Size.Channels, 1)
		for i := 0; i < c.Size.Len; i++ {
			var sum float32
			for _, v := range c.Data[i*ch : (i+1)*ch] {
				sum += v
			}
			v := math.Round(float64(sum/float32(ch)) * math.MaxInt16)
			dst = append(dst, int16(max(min(v, math.MaxInt16), math.MinInt16)))
		}
		return dst, nil
	default:
		return dst, fmt.Errorf("opus: unsupported audio chunk %T", chunk)
	}
}

// Controller exposes SetBitRate to the congestion controller.
func (t *trackEncoder) Controller() codec.EncoderController { return t }

// SetBitRate implements codec.BitRateController.
func (t *trackEncoder) SetBitRate(bps int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.enc.SetBitrate(bps)
}

// Close releases the encoder.
func (t *trackEncoder) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.enc.Close()
	return nil
}
