package opustest

import (
	"testing"

	"github.com/softphone/softphone/media/opus"
)

// Encode encodes sig (mono, rate Hz) in 20 ms packets with options o; a
// trailing partial frame is left out.
func Encode(t testing.TB, sig []int16, rate int, o opus.EncoderOptions) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(rate, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	frame := rate / 50
	var pkts [][]byte
	for off := 0; off+frame <= len(sig); off += frame {
		p, err := enc.Encode(sig[off : off+frame])
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	return pkts
}
