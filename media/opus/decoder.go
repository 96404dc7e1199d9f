// Package opus encodes and decodes Opus with libopus (via cgo). The decoder
// has the two loss-repair paths a playout buffer needs: in-band FEC recovered
// from the packet after a gap, and packet loss concealment. The encoder sends
// that in-band FEC, which mediadevices' Opus encoder never enables;
// EncoderBuilder plugs it into a mediadevices codec selector.
package opus

/*
#cgo pkg-config: opus
#include <stdlib.h>
#include <opus.h>

// Variadic opus_decoder_ctl cannot be called from Go; these wrappers pin the
// request types.
static int sp_get_last_duration(OpusDecoder *d, opus_int32 *v) {
	return opus_decoder_ctl(d, OPUS_GET_LAST_PACKET_DURATION(v));
}

// sp_has_lbrr reports whether the packet's first SILK frame carries LBRR
// (in-band FEC) data; libopus 1.5 has opus_packet_has_lbrr, Debian 12 ships
// 1.3.1, so this is the same minimal parse. The LBRR flag follows the VAD
// flags (one per 20 ms SILK frame) at the top of the first byte, for each
// channel.
static int sp_has_lbrr(const unsigned char *pkt, opus_int32 len) {
	const unsigned char *frames[48];
	opus_int16 size[48];
	int n, nb = 1, lbrr;
	if (len < 1) return 0;
	if (opus_packet_get_bandwidth(pkt) < 0) return 0;
	// TOC configs 16..31 are CELT-only: no SILK layer, no LBRR.
	if ((pkt[0] >> 3) >= 16) return 0;
	n = opus_packet_get_samples_per_frame(pkt, 48000);
	if (n > 960) nb = n / 960;
	if (opus_packet_parse(pkt, len, NULL, frames, size, NULL) <= 0) return 0;
	if (size[0] == 0) return 0;
	lbrr = (frames[0][0] >> (7 - nb)) & 1;
	if (opus_packet_get_nb_channels(pkt) == 2)
		lbrr = lbrr || ((frames[0][0] >> (6 - 2 * nb)) & 1);
	return lbrr;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// ErrClosed is returned by every method of a closed Decoder.
var ErrClosed = errors.New("opus: decoder closed")

// ErrEmptyPacket is returned by Decode and DecodeFEC for a zero-length packet;
// use DecodePLC to conceal a missing packet.
var ErrEmptyPacket = errors.New("opus: empty packet")

// maxFrameMs is the longest audio one Opus packet can carry (RFC 6716 §3.2.5).
const maxFrameMs = 120

// Decoder is one libopus decoder state. Opus decoding is stateful (each
// packet's prediction depends on the previous ones), so a Decoder belongs to
// exactly one stream and is NOT safe for concurrent use; Close must not run
// concurrently with a decode either.
type Decoder struct {
	st       *C.OpusDecoder
	rate     int
	channels int
}

// NewDecoder creates a decoder producing interleaved int16 PCM at rate Hz
// (8000, 12000, 16000, 24000 or 48000) with 1 or 2 channels.
func NewDecoder(rate, channels int) (*Decoder, error) {
	switch rate {
	case 8000, 12000, 16000, 24000, 48000:
	default:
		return nil, fmt.Errorf("opus: new decoder: unsupported sample rate %d", rate)
	}
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("opus: new decoder: unsupported channel count %d", channels)
	}
	var cerr C.int
	st := C.opus_decoder_create(C.opus_int32(rate), C.int(channels), &cerr)
	if cerr != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opus: new decoder: %w", codeErr(cerr))
	}
	return &Decoder{st: st, rate: rate, channels: channels}, nil
}

// SampleRate returns the output sample rate in Hz.
func (d *Decoder) SampleRate() int { return d.rate }

// Channels returns the number of interleaved output channels.
func (d *Decoder) Channels() int { return d.channels }

// MaxFrameSamples is the per-channel sample count of the longest Opus packet
// (120 ms) at this decoder's rate; an out buffer of MaxFrameSamples*Channels
// can hold any packet.
func (d *Decoder) MaxFrameSamples() int { return d.rate * maxFrameMs / 1000 }

// Decode decodes one packet into out (interleaved) and returns the number of
// samples per channel written. out must be large enough for the whole packet
// (MaxFrameSamples*Channels is always enough; 20 ms packets need 960*channels
// at 48 kHz). A corrupt packet returns an error and leaves the decoder usable.
func (d *Decoder) Decode(pkt []byte, out []int16) (int, error) {
	if d.st == nil {
		return 0, ErrClosed
	}
	if len(pkt) == 0 {
		return 0, ErrEmptyPacket
	}
	n, err := d.decode(pkt, out, len(out)/d.channels, 0)
	if err != nil {
		return 0, fmt.Errorf("opus: decode %d-byte packet: %w", len(pkt), err)
	}
	return n, nil
}

// DecodeFEC recovers the frame lost just before nextPkt from the in-band FEC
// (LBRR) data nextPkt carries, writing exactly len(out)/Channels samples per
// channel, which must be the duration of the lost frame (a multiple of
// 2.5 ms). When nextPkt carries no FEC data libopus conceals instead, so the
// call is always safe. nextPkt must still be decoded normally afterwards.
func (d *Decoder) DecodeFEC(nextPkt []byte, out []int16) (int, error) {
	if d.st == nil {
		return 0, ErrClosed
	}
	if len(nextPkt) == 0 {
		return 0, ErrEmptyPacket
	}
	if err := d.checkConcealSize(len(out)); err != nil {
		return 0, fmt.Errorf("opus: decode fec: %w", err)
	}
	n, err := d.decode(nextPkt, out, len(out)/d.channels, 1)
	if err != nil {
		return 0, fmt.Errorf("opus: decode fec from %d-byte packet: %w", len(nextPkt), err)
	}
	return n, nil
}

// DecodePLC conceals one missing stretch of audio, writing exactly
// len(out)/Channels samples per channel (a multiple of 2.5 ms; normally one
// frame, e.g. 960 at 48 kHz for 20 ms packets). Repeated calls fade out.
func (d *Decoder) DecodePLC(out []int16) (int, error) {
	if d.st == nil {
		return 0, ErrClosed
	}
	if err := d.checkConcealSize(len(out)); err != nil {
		return 0, fmt.Errorf("opus: decode plc: %w", err)
	}
	n, err := d.decode(nil, out, len(out)/d.channels, 0)
	if err != nil {
		return 0, fmt.Errorf("opus: decode plc: %w", err)
	}
	return n, nil
}

// LastPacketDuration returns the per-channel sample count of the last packet
// decoded (or concealed), 0 before any.
func (d *Decoder) LastPacketDuration() int {
	if d.st == nil {
		return 0
	}
	var v C.opus_int32
	if C.sp_get_last_duration(d.st, &v) != C.OPUS_OK {
		return 0
	}
	return int(v)
}

// Close releases the libopus state. It is idempotent.
func (d *Decoder) Close() error {
	if d.st != nil {
		C.opus_decoder_destroy(d.st)
		d.st = nil
	}
	return nil
}

// PacketSamples returns how many samples per channel pkt decodes to at rate
// Hz, without decoding it.
func PacketSamples(pkt []byte, rate int) (int, error) {
	if len(pkt) == 0 {
		return 0, ErrEmptyPacket
	}
	n := C.opus_packet_get_nb_samples((*C.uchar)(unsafe.Pointer(&pkt[0])), C.opus_int32(len(pkt)), C.opus_int32(rate))
	if n < 0 {
		return 0, fmt.Errorf("opus: packet samples: %w", codeErr(n))
	}
	return int(n), nil
}

// PacketHasFEC reports whether pkt carries in-band FEC data for the frame
// before it, i.e. whether DecodeFEC with it would recover rather than merely
// conceal. Malformed packets report false.
func PacketHasFEC(pkt []byte) bool {
	if len(pkt) == 0 {
		return false
	}
	return C.sp_has_lbrr((*C.uchar)(unsafe.Pointer(&pkt[0])), C.opus_int32(len(pkt))) == 1
}

// checkConcealSize validates an out length for FEC/PLC, where libopus
// requires the requested duration to be a positive multiple of 2.5 ms.
func (d *Decoder) checkConcealSize(outLen int) error {
	frame := outLen / d.channels
	step := d.rate / 400
	if frame <= 0 || frame%step != 0 || frame > d.MaxFrameSamples() || outLen%d.channels != 0 {
		return fmt.Errorf("out holds %d samples per channel, need a positive multiple of %d up to %d",
			frame, step, d.MaxFrameSamples())
	}
	return nil
}

func (d *Decoder) decode(pkt []byte, out []int16, frame, fec int) (int, error) {
	if frame <= 0 {
		return 0, errors.New("output buffer is empty")
	}
	var data *C.uchar
	if len(pkt) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&pkt[0]))
	}
	// Passing Go memory is allowed: libopus does not retain either pointer.
	n := C.opus_decode(d.st, data, C.opus_int32(len(pkt)),
		(*C.opus_int16)(unsafe.Pointer(&out[0])), C.int(frame), C.int(fec))
	if n < 0 {
		return 0, codeErr(n)
	}
	return int(n), nil
}

// Error is a libopus error code.
type Error int

func (e Error) Error() string { return C.GoString(C.opus_strerror(C.int(e))) }

func codeErr(c C.int) error { return Error(c) }
