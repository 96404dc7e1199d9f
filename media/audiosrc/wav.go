package audiosrc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAV format codes.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavExtensible = 0xFFFE
)

// MaxWAVData bounds the sample data DecodeWAV accepts (512 MiB): the whole
// file is decoded into memory.
const MaxWAVData = 512 << 20

// ErrNotWAV means the input is not a RIFF/WAVE file; ErrUnsupportedWAV a
// WAVE file whose encoding this package does not decode.
var (
	ErrNotWAV         = errors.New("not a RIFF/WAVE file")
	ErrUnsupportedWAV = errors.New("unsupported WAV encoding")
)

// WAVFormat describes a decoded WAV file.
type WAVFormat struct {
	Float         bool // IEEE float samples (else integer PCM)
	Channels      int
	SampleRate    int
	BitsPerSample int // 8, 16, 24, 32 (PCM); 32, 64 (float)
}

// DecodeWAV parses a RIFF/WAVE stream: integer PCM of 8 (unsigned), 16, 24
// or 32 bits, IEEE float of 32 or 64 bits, plain or WAVE_FORMAT_EXTENSIBLE,
// any channel count. It returns interleaved samples scaled to [-1, 1].
// Unknown chunks are skipped; a data chunk whose size field is 0 or larger
// than the file (streaming writers leave it so) runs to the end of input,
// and a trailing partial frame is dropped.
func DecodeWAV(r io.Reader) (WAVFormat, []float32, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return WAVFormat{}, nil, fmt.Errorf("audiosrc: WAV header: %w", ErrNotWAV)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return WAVFormat{}, nil, fmt.Errorf("audiosrc: %w", ErrNotWAV)
	}
	var (
		f      WAVFormat
		haveFt bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if haveFt {
				return f, nil, errors.New("audiosrc: WAV has no data chunk")
			}
			return f, nil, errors.New("audiosrc: WAV has no fmt chunk")
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return f, nil, fmt.Errorf("audiosrc: WAV fmt chunk of %d bytes", size)
			}
			body := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, body); err != nil && !(size&1 == 1 && errors.Is(err, io.ErrUnexpectedEOF)) {
				return f, nil, fmt.Errorf("audiosrc: WAV fmt chunk: %w", err)
			}
			var err error
			if f, err = parseFmt(body[:size]); err != nil {
				return f, nil, err
			}
			haveFt = true
		case "data":
			if !haveFt {
				return f, nil, errors.New("audiosrc: WAV data chunk before fmt chunk")
			}
			limit := int64(size)
			if size == 0 || size == math.MaxUint32 {
				limit = MaxWAVData + 1
			}
			data, err := io.ReadAll(io.LimitReader(r, min(limit, MaxWAVData+1)))
			if err != nil {
				return f, nil, fmt.Errorf("audiosrc: WAV data: %w", err)
			}
			if len(data) > MaxWAVData {
				return f, nil, fmt.Errorf("audiosrc: WAV data larger than %d bytes", MaxWAVData)
			}
			return f, decodeSamples(f, data), nil
		default:
			// Skip the chunk and its pad byte.
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return f, nil, fmt.Errorf("audiosrc: WAV chunk %q truncated", bytes.ToValidUTF8([]byte(id), []byte("?")))
			}
		}
	}
}

func parseFmt(b []byte) (WAVFormat, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:2])
	f := WAVFormat{
		Channels:      int(le.Uint16(b[2:4])),
		SampleRate:    int(le.Uint32(b[4:8])),
		BitsPerSample: int(le.Uint16(b[14:16])),
	}
	if tag == wavExtensible {
		if len(b) < 40 {
			return f, fmt.Errorf("audiosrc: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes: %w", len(b), ErrUnsupportedWAV)
		}
		tag = le.Uint16(b[24:26]) // first two bytes of the sub-format GUID
	}
	switch {
	case tag == wavPCM && (f.BitsPerSample == 8 || f.BitsPerSample == 16 || f.BitsPerSample == 24 || f.BitsPerSample == 32):
	case tag == wavFloat && (f.BitsPerSample == 32 || f.BitsPerSample == 64):
		f.Float = true
	default:
		return f, fmt.Errorf("audiosrc: format %#x with %d bits: %w", tag, f.BitsPerSample, ErrUnsupportedWAV)
	}
	if f.Channels < 1 || f.Channels > 64 {
		return f, fmt.Errorf("audiosrc: WAV with %d channels: %w", f.Channels, ErrUnsupportedWAV)
	}
	if f.SampleRate < 1000 || f.SampleRate > 768000 {
		return f, fmt.Errorf("audiosrc: WAV sample rate %d: %w", f.SampleRate, ErrUnsupportedWAV)
	}
	return f, nil
}

// decodeSamples converts whole frames of data to float32 in [-1, 1]. The
// frame size is computed from the format rather than trusted from the
// header's block align, which some writers get wrong.
func decodeSamples(f WAVFormat, data []byte) []float32 {
	bps := f.BitsPerSample / 8
	frame := bps * f.Channels
	n := len(data) / frame * f.Channels
	out := make([]float32, n)
	le := binary.LittleEndian
	for i := range out {
		b := data[i*bps:]
		var v float64
		switch {
		case f.Float && bps == 4:
			v = float64(math.Float32frombits(le.Uint32(b)))
		case f.Float:
			v = math.Float64frombits(le.Uint64(b))
		case bps == 1:
			v = (float64(b[0]) - 128) / 128
		case bps == 2:
			v = float64(int16(le.Uint16(b))) / (1 << 15)
		case bps == 3:
			v = float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)>>8) / (1 << 23)
		default:
			v = float64(int32(le.Uint32(b))) / (1 << 31)
		}
		switch {
		case math.IsNaN(v):
			v = 0
		case v > 1:
			v = 1
		case v < -1:
			v = -1
		}
		out[i] = float32(v)
	}
	return out
}

// Downmix averages interleaved channels into mono.
func Downmix(samples []float32, channels int) []float32 {
	if channels <= 1 {
		return samples
	}
	out := make([]float32, len(samples)/channels)
	for i := range out {
		var sum float32
		for _, v := range samples[i*channels : (i+1)*channels] {
			sum += v
		}
		out[i] = sum / float32(channels)
	}
	return out
}

// ToInt16 converts [-1, 1] floats to int16 with rounding and clipping.
func ToInt16(in []float32) []int16 {
	out := make([]int16, len(in))
	for i, v := range in {
		x := math.Round(float64(v) * math.MaxInt16)
		out[i] = int16(max(math.MinInt16, min(math.MaxInt16, x)))
	}
	return out
}

// LoadWAV decodes a WAV stream and converts it to the common format: mono
// (channels averaged), 48 kHz (windowed-sinc resampling), int16.
func LoadWAV(r io.Reader) ([]int16, WAVFormat, error) {
	f, samples, err := DecodeWAV(r)
	if err != nil {
		return nil, f, err
	}
	mono := Downmix(samples, f.Channels)
	if f.SampleRate != SampleRate {
		mono = Resample(mono, f.SampleRate, SampleRate)
	}
	return ToInt16(mono), f, nil
}
