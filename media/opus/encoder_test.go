package opus_test

import (
	"fmt"
	"testing"

	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/opus/opustest"
)

// BenchmarkEncode measures one 20 ms mono frame at 48 kHz and 32 kbps per
// complexity and expected loss (FEC on unless loss is -1); 50 frames are one second of audio.
func BenchmarkEncode(b *testing.B) {
	const rate = 48000
	sig := opustest.Speechish(rate*2, rate)
	for _, loss := range []int{-1, 0, 2, 10} { // -1: FEC off
		for _, cx := range []int{3, 9} {
			b.Run(fmt.Sprintf("loss=%d/complexity=%d", loss, cx), func(b *testing.B) {
				enc, err := opus.NewEncoder(rate, 1, opus.EncoderOptions{Bitrate: 32000, FEC: loss >= 0, LossPerc: max(loss, 0), Complexity: cx})
				if err != nil {
					b.Fatal(err)
				}
				defer enc.Close()
				buf := make([]byte, 1500)
				frames := len(sig) / 960
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f := i % frames
					if _, err := enc.EncodeTo(buf, sig[f*960:(f+1)*960]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// tocBandwidth decodes the bandwidth from an Opus packet's TOC byte (RFC
// 6716 §3.1).
func tocBandwidth(toc byte) opus.Bandwidth {
	c := toc >> 3
	switch {
	case c < 12:
		return []opus.Bandwidth{opus.Narrowband, opus.Mediumband, opus.Wideband}[c/4]
	case c < 16:
		return []opus.Bandwidth{opus.Superwideband, opus.Fullband}[(c-12)/2]
	default:
		return []opus.Bandwidth{opus.Narrowband, opus.Wideband, opus.Superwideband, opus.Fullband}[(c-16)/4]
	}
}

func TestMaxBandwidth(t *testing.T) {
	sig := audiocmp.Speech(rate*2, rate, 1)
	tests := []struct {
		name string
		max  opus.Bandwidth
		want opus.Bandwidth // widest band seen
	}{
		{"libopus default", 0, opus.Fullband},
		{"wideband cap", opus.Wideband, opus.Wideband},
		{"narrowband cap", opus.Narrowband, opus.Narrowband},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var widest opus.Bandwidth
			for _, p := range opustest.Encode(t, sig, rate, opus.EncoderOptions{Bitrate: 32000, Complexity: -1, MaxBandwidth: tt.max}) {
				widest = max(widest, tocBandwidth(p[0]))
			}
			if widest != tt.want {
				t.Fatalf("widest band %d, want %d", widest, tt.want)
			}
		})
	}
}
