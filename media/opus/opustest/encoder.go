// Package opustest provides a libopus encoder for tests of the receive path
// (playout buffer, decoder fuzzing). The production send path encodes with
// mediadevices' Opus encoder; this one exists so tests can enable in-band FEC
// and produce packets without a capture pipeline.
package opustest

/*
#cgo pkg-config: opus
#include <opus.h>

static int sp_enc_setup(OpusEncoder *e, int bitrate, int fec, int lossPerc) {
	int r = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
	if (r != OPUS_OK) return r;
	r = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(fec));
	if (r != OPUS_OK) return r;
	return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(lossPerc));
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Encoder is a VoIP-mode libopus encoder. Not safe for concurrent use.
type Encoder struct {
	st       *C.OpusEncoder
	channels int
}

// Options configures an Encoder.
type Options struct {
	Bitrate  int  // bits per second; 0 → 32000
	FEC      bool // emit in-band FEC (LBRR) data
	LossPerc int  // expected loss %, drives how much FEC the encoder spends
}

// NewEncoder creates an encoder for interleaved int16 PCM.
func NewEncoder(rate, channels int, o Options) (*Encoder, error) {
	var cerr C.int
	st := C.opus_encoder_create(C.opus_int32(rate), C.int(channels), C.OPUS_APPLICATION_VOIP, &cerr)
	if cerr != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opustest: new encoder: %s", C.GoString(C.opus_strerror(cerr)))
	}
	if o.Bitrate == 0 {
		o.Bitrate = 32000
	}
	fec := 0
	if o.FEC {
		fec = 1
	}
	if r := C.sp_enc_setup(st, C.int(o.Bitrate), C.int(fec), C.int(o.LossPerc)); r != C.OPUS_OK {
		C.opus_encoder_destroy(st)
		return nil, fmt.Errorf("opustest: configure encoder: %s", C.GoString(C.opus_strerror(r)))
	}
	return &Encoder{st: st, channels: channels}, nil
}

// Encode encodes one frame (len(pcm)/channels samples per channel, a valid
// Opus frame size) and returns a newly allocated packet.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	if e.st == nil {
		return nil, fmt.Errorf("opustest: encoder closed")
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("opustest: empty frame")
	}
	buf := make([]byte, 4000)
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/e.channels),
		(*C.uchar)(unsafe.Pointer(&buf[0])), C.opus_int32(len(buf)))
	if n < 0 {
		return nil, fmt.Errorf("opustest: encode: %s", C.GoString(C.opus_strerror(n)))
	}
	return buf[:n], nil
}

// Close releases the encoder; idempotent.
func (e *Encoder) Close() {
	if e.st != nil {
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
}
