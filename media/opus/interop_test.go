package opus_test

import (
	"testing"

	mdopus "github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/opus/opustest"
)

// TestMediadevicesInterop encodes with the send path's encoder
// (mediadevices, statically linked libopus) and decodes with this package
// (pkg-config libopus) in the same binary: the two libopus copies must
// coexist and the packets must decode to the same waveform.
func TestMediadevicesInterop(t *testing.T) {
	sig := opustest.Speechish(rate, rate)
	off := 0
	src := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		c := wave.NewInt16Interleaved(wave.ChunkInfo{Len: frame, Channels: 1, SamplingRate: rate})
		copy(c.Data, sig[off%len(sig):])
		off += frame
		return c, func() {}, nil
	})
	params, err := mdopus.NewParams()
	if err != nil {
		t.Fatal(err)
	}
	params.BitRate = 32000
	enc, err := params.BuildAudioEncoder(src, prop.Media{Audio: prop.Audio{SampleRate: rate, ChannelCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()

	d := newDec(t)
	var out []int16
	buf := make([]int16, d.MaxFrameSamples())
	for len(out) < len(sig) {
		pkt, release, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		n, err := d.Decode(pkt, buf)
		release()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	ncc, lag := opustest.AlignedNCC(sig[:len(sig)-2000], out, 2000)
	t.Logf("mediadevices → media/opus: ncc %.3f at lag %d", ncc, lag)
	if ncc < 0.9 {
		t.Errorf("ncc %.3f < 0.9", ncc)
	}
	if opus.PacketHasFEC(nil) {
		t.Error("nil packet has FEC")
	}
}
