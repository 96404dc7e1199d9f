package audiosrc

import (
	"bytes"
	"encoding/binary"
	"math"
)

// encodeWAV builds a WAV file from interleaved [-1, 1] samples in any
// supported encoding; extensible selects WAVE_FORMAT_EXTENSIBLE. An extra
// "LIST" chunk with odd size checks chunk skipping and padding.
func encodeWAV(f WAVFormat, extensible bool, samples []float64) []byte {
	bps := f.BitsPerSample / 8
	var data bytes.Buffer
	le := binary.LittleEndian
	for _, v := range samples {
		var b [8]byte
		switch {
		case f.Float && bps == 4:
			le.PutUint32(b[:], math.Float32bits(float32(v)))
		case f.Float:
			le.PutUint64(b[:], math.Float64bits(v))
		case bps == 1:
			b[0] = byte(int(math.Round(v*127)) + 128)
		case bps == 2:
			le.PutUint16(b[:], uint16(int16(math.Round(v*32767))))
		case bps == 3:
			x := int32(math.Round(v * 8388607))
			b[0], b[1], b[2] = byte(x), byte(x>>8), byte(x>>16)
		default:
			le.PutUint32(b[:], uint32(int32(math.Round(v*2147483647))))
		}
		data.Write(b[:bps])
	}
	tag := uint16(wavPCM)
	if f.Float {
		tag = wavFloat
	}
	var fmtc bytes.Buffer
	w := func(v any) { _ = binary.Write(&fmtc, le, v) }
	if extensible {
		w(uint16(wavExtensible))
	} else {
		w(tag)
	}
	w(uint16(f.Channels))
	w(uint32(f.SampleRate))
	w(uint32(f.SampleRate * f.Channels * bps))
	w(uint16(f.Channels * bps))
	w(uint16(f.BitsPerSample))
	if extensible {
		w(uint16(22))
		w(uint16(f.BitsPerSample))
		w(uint32(0))
		w(tag)
		fmtc.Write([]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, le, uint32(0)) // readers must not depend on it
	out.WriteString("WAVE")
	chunk := func(id string, body []byte) {
		out.WriteString(id)
		_ = binary.Write(&out, le, uint32(len(body)))
		out.Write(body)
		if len(body)%2 == 1 {
			out.WriteByte(0)
		}
	}
	chunk("fmt ", fmtc.Bytes())
	chunk("LIST", []byte("INFOabc"))
	chunk("data", data.Bytes())
	return out.Bytes()
}

func sine(freq, amp float64, rate, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return out
}

// correlation is the normalised cross-correlation of a and b at lag 0 over
// their common length, skipping skip samples at both ends (filter edges).
func correlation(a []float64, b []int16, skip int) float64 {
	n := min(len(a), len(b)) - skip
	var ab, aa, bb float64
	for i := skip; i < n; i++ {
		x, y := a[i], float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func rms16(p []int16) float64 {
	var s float64
	for _, v := range p {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(p)))
}

func rms32(p []float32) float64 {
	var s float64
	for _, v := range p {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(p)))
}
