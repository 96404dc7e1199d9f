package opus_test

import (
	"testing"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/opus/opustest"
)

// chunkReader serves sig in chunks of the given sizes (cycled), as a capture
// driver with an odd buffer size would.
func chunkReader(sig []int16, rate, channels int, sizes []int) audio.Reader {
	pos, i := 0, 0
	return audio.ReaderFunc(func() (wave.Audio, func(), error) {
		n := sizes[i%len(sizes)]
		i++
		c := wave.NewInt16Interleaved(wave.ChunkInfo{Len: n, Channels: channels, SamplingRate: rate})
		for s := 0; s < n; s++ {
			for ch := 0; ch < channels; ch++ {
				c.Data[s*channels+ch] = sig[pos%len(sig)]
			}
			pos++
		}
		return c, func() {}, nil
	})
}

// TestEncoderBuilder encodes through the mediadevices adapter from chunks of
// several sizes and channel counts and checks the packets: 20 ms each,
// decodable, with in-band FEC, and the audio preserved.
func TestEncoderBuilder(t *testing.T) {
	const rate = 48000
	tests := []struct {
		name     string
		channels int
		sizes    []int
		fec      bool
	}{
		{"mono 20ms chunks", 1, []int{960}, true},
		{"mono odd chunks", 1, []int{333, 1500, 7}, true},
		{"stereo capture", 2, []int{480}, true},
		{"fec off", 1, []int{960}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := opustest.Speechish(rate*2, rate)
			b := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{Bitrate: 32000, FEC: tt.fec, LossPerc: 10, Complexity: -1}}
			if got := b.RTPCodec().ClockRate; got != 48000 {
				t.Fatalf("clock rate %d", got)
			}
			enc, err := b.BuildAudioEncoder(chunkReader(sig, rate, tt.channels, tt.sizes), prop.Media{Audio: prop.Audio{SampleRate: rate, ChannelCount: tt.channels}})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			if _, ok := enc.Controller().(codec.BitRateController); !ok {
				t.Fatal("encoder has no bitrate controller")
			}
			dec, err := opus.NewDecoder(rate, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var out []int16
			buf := make([]int16, dec.MaxFrameSamples())
			withFEC := 0
			const packets = 80
			for range packets {
				pkt, release, err := enc.Read()
				if err != nil {
					t.Fatal(err)
				}
				if n, err := opus.PacketSamples(pkt, rate); err != nil || n != 960 {
					t.Fatalf("packet of %d samples (%v), want 960", n, err)
				}
				if opus.PacketHasFEC(pkt) {
					withFEC++
				}
				n, err := dec.Decode(pkt, buf)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, buf[:n]...)
				release()
			}
			if tt.fec && withFEC < packets/2 {
				t.Errorf("%d of %d packets carry FEC, want most", withFEC, packets)
			}
			if !tt.fec && withFEC != 0 {
				t.Errorf("%d packets carry FEC with FEC off", withFEC)
			}
			if ncc, _ := opustest.AlignedNCC(sig[:len(out)-2000], out, 2000); ncc < 0.9 {
				t.Errorf("decoded audio correlates %.3f with the input, want ≥ 0.9", ncc)
			}
		})
	}
}

// TestEncoderBuilderRejects checks the errors of a bad configuration.
func TestEncoderBuilderRejects(t *testing.T) {
	b := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{Complexity: -1}}
	if _, err := b.BuildAudioEncoder(chunkReader(make([]int16, 960), 48000, 1, []int{960}), prop.Media{}); err == nil {
		t.Error("no error without a sample rate")
	}
	if _, err := b.BuildAudioEncoder(chunkReader(make([]int16, 960), 44100, 1, []int{960}), prop.Media{Audio: prop.Audio{SampleRate: 44100}}); err == nil {
		t.Error("no error for 44.1 kHz, which Opus does not take")
	}
	if _, err := opus.NewEncoder(48000, 1, opus.EncoderOptions{Complexity: 11}); err == nil {
		t.Error("no error for complexity 11")
	}
}

// TestEncoderBuilderExpectedLoss checks that the loss set on the builder
// reaches running encoders: FEC appears once loss is expected and stops
// when it is not.
func TestEncoderBuilderExpectedLoss(t *testing.T) {
	const rate = 48000
	sig := opustest.Speechish(rate*4, rate)
	b := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{Bitrate: 32000, FEC: true, Complexity: -1}}
	enc, err := b.BuildAudioEncoder(chunkReader(sig, rate, 1, []int{960}), prop.Media{Audio: prop.Audio{SampleRate: rate, ChannelCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	count := func(frames int) int {
		n := 0
		for range frames {
			pkt, _, err := enc.Read()
			if err != nil {
				t.Fatal(err)
			}
			if opus.PacketHasFEC(pkt) {
				n++
			}
		}
		return n
	}
	if n := count(50); n != 0 {
		t.Errorf("%d packets with FEC while no loss is expected", n)
	}
	b.SetExpectedLoss(20)
	if n := count(100); n < 30 {
		t.Errorf("%d of 100 packets with FEC at 20%% expected loss", n)
	}
	b.SetExpectedLoss(0)
	count(10) // the encoder may finish the frame it protects
	if n := count(50); n != 0 {
		t.Errorf("%d packets with FEC after loss went back to zero", n)
	}
}
