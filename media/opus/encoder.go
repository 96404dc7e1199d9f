package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// Variadic opus_encoder_ctl cannot be called from Go; these wrappers pin the
// request types.
static int sp_enc_setup(OpusEncoder *e, int bitrate, int fec, int lossPerc, int complexity) {
	int r = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
	if (r != OPUS_OK) return r;
	r = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(fec));
	if (r != OPUS_OK) return r;
	r = opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(lossPerc));
	if (r != OPUS_OK) return r;
	if (complexity >= 0) r = opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(complexity));
	return r;
}
static int sp_enc_max_bandwidth(OpusEncoder *e, int bw) {
	return opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(bw));
}
static int sp_enc_bitrate(OpusEncoder *e, int bitrate) {
	return opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
}
static int sp_enc_loss(OpusEncoder *e, int perc) {
	return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(perc));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// ErrEncoderClosed is returned by every method of a closed Encoder.
var ErrEncoderClosed = errors.New("opus: encoder closed")

// maxPacket bounds one encoded packet; RFC 6716 allows up to 1275 bytes per
// frame, and a VoIP packet at our bitrates is far below.
const maxPacket = 1500

// EncoderOptions configures an Encoder.
type EncoderOptions struct {
	Bitrate int // bits per second; 0 → 32000
	// FEC makes the encoder add in-band FEC (LBRR): a low-bitrate copy of
	// the previous frame that the receiver decodes when that frame was lost.
	FEC bool
	// LossPerc is the expected packet loss in percent; libopus spends FEC
	// bits only when it is above zero.
	LossPerc int
	// Complexity is 0..10; negative keeps libopus' default (9 for VoIP on
	// x86). Lower values trade a little quality for CPU.
	Complexity int
	// MaxBandwidth caps the coded audio band; zero leaves it to libopus
	// (fullband at 32 kbps). Wideband puts every bit into the speech band:
	// at 32 kbps it scores +0.2–0.4 PESQ-WB over fullband on speech.
	MaxBandwidth Bandwidth
}

// Bandwidth is an Opus audio bandwidth (the band of the coded signal).
type Bandwidth int

// Bandwidths (the libopus OPUS_BANDWIDTH_* values).
const (
	Narrowband    Bandwidth = C.OPUS_BANDWIDTH_NARROWBAND    // 4 kHz
	Mediumband    Bandwidth = C.OPUS_BANDWIDTH_MEDIUMBAND    // 6 kHz
	Wideband      Bandwidth = C.OPUS_BANDWIDTH_WIDEBAND      // 8 kHz
	Superwideband Bandwidth = C.OPUS_BANDWIDTH_SUPERWIDEBAND // 12 kHz
	Fullband      Bandwidth = C.OPUS_BANDWIDTH_FULLBAND      // 20 kHz
)

// Encoder is a VoIP-mode libopus encoder for interleaved int16 PCM. It is
// not safe for concurrent use.
type Encoder struct {
	st       *C.OpusEncoder
	channels int
}

// NewEncoder creates an encoder at rate Hz (8000, 12000, 16000, 24000 or
// 48000) with 1 or 2 channels.
func NewEncoder(rate, channels int, o EncoderOptions) (*Encoder, error) {
	var cerr C.int
	st := C.opus_encoder_create(C.opus_int32(rate), C.int(channels), C.OPUS_APPLICATION_VOIP, &cerr)
	if cerr != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opus: new encoder (%d Hz, %d ch): %s", rate, channels, C.GoString(C.opus_strerror(cerr)))
	}
	if o.Bitrate == 0 {
		o.Bitrate = 32000
	}
	fec := 0
	if o.FEC {
		fec = 1
	}
	r := C.sp_enc_setup(st, C.int(o.Bitrate), C.int(fec), C.int(o.LossPerc), C.int(o.Complexity))
	if r == C.OPUS_OK && o.MaxBandwidth != 0 {
		r = C.sp_enc_max_bandwidth(st, C.int(o.MaxBandwidth))
	}
	if r != C.OPUS_OK {
		C.opus_encoder_destroy(st)
		return nil, fmt.Errorf("opus: configure encoder: %s", C.GoString(C.opus_strerror(r)))
	}
	return &Encoder{st: st, channels: channels}, nil
}

// EncodeTo encodes one frame (len(pcm)/channels samples per channel, a valid
// Opus frame size such as 20 ms) into dst and returns the packet length.
func (e *Encoder) EncodeTo(dst []byte, pcm []int16) (int, error) {
	if e.st == nil {
		return 0, ErrEncoderClosed
	}
	if len(pcm) == 0 || len(dst) == 0 {
		return 0, errors.New("opus: empty frame or buffer")
	}
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/e.channels),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.opus_int32(len(dst)))
	if n < 0 {
		return 0, fmt.Errorf("opus: encode: %s", C.GoString(C.opus_strerror(n)))
	}
	return int(n), nil
}

// Encode is EncodeTo into a newly allocated packet.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	buf := make([]byte, maxPacket)
	n, err := e.EncodeTo(buf, pcm)
	if err != nil {
		return nil, err
	}
	return buf[:n:n], nil
}

// SetBitrate changes the target bitrate in bits per second.
func (e *Encoder) SetBitrate(bps int) error {
	if e.st == nil {
		return ErrEncoderClosed
	}
	if r := C.sp_enc_bitrate(e.st, C.int(bps)); r != C.OPUS_OK {
		return fmt.Errorf("opus: set bitrate %d: %s", bps, C.GoString(C.opus_strerror(r)))
	}
	return nil
}

// SetPacketLoss tells the encoder the loss it should protect against.
func (e *Encoder) SetPacketLoss(perc int) error {
	if e.st == nil {
		return ErrEncoderClosed
	}
	if r := C.sp_enc_loss(e.st, C.int(perc)); r != C.OPUS_OK {
		return fmt.Errorf("opus: set packet loss %d%%: %s", perc, C.GoString(C.opus_strerror(r)))
	}
	return nil
}

// Close releases the encoder; idempotent.
func (e *Encoder) Close() {
	if e.st != nil {
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
}
