package opus_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/opus/opustest"
)

const (
	rate  = 48000
	frame = 960 // 20 ms
)

// encodeAll encodes sig in 20 ms frames.
func encodeAll(t testing.TB, sig []int16, o opus.EncoderOptions) [][]byte {
	t.Helper()
	return opustest.Encode(t, sig, rate, o)
}

func newDec(t testing.TB) *opus.Decoder {
	t.Helper()
	d, err := opus.NewDecoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDecodeRoundTrip(t *testing.T) {
	sig := opustest.Speechish(rate*2, rate)
	pkts := encodeAll(t, sig, opus.EncoderOptions{Complexity: -1})
	d := newDec(t)
	out := make([]int16, 0, len(sig))
	buf := make([]int16, d.MaxFrameSamples())
	for _, p := range pkts {
		n, err := d.Decode(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != frame {
			t.Fatalf("decoded %d samples, want %d", n, frame)
		}
		out = append(out, buf[:n]...)
	}
	if got := d.LastPacketDuration(); got != frame {
		t.Errorf("LastPacketDuration = %d, want %d", got, frame)
	}
	ncc, lag := opustest.AlignedNCC(sig, out, 2000)
	t.Logf("ncc %.4f at lag %d samples", ncc, lag)
	if ncc < 0.95 {
		t.Errorf("round-trip NCC %.3f < 0.95", ncc)
	}
}

// TestFECBeatsPLC loses one packet in the middle of a stream and compares the
// repaired frame with what a lossless decoder produced there.
func TestFECBeatsPLC(t *testing.T) {
	sig := opustest.Speechish(rate, rate)
	pkts := encodeAll(t, sig, opus.EncoderOptions{Complexity: -1, FEC: true, LossPerc: 10})
	const lost = 20

	reference := func() []int16 {
		d := newDec(t)
		buf := make([]int16, frame)
		for i := 0; i <= lost; i++ {
			if _, err := d.Decode(pkts[i], buf); err != nil {
				t.Fatal(err)
			}
		}
		return buf
	}()

	repair := func(fec bool) []int16 {
		d := newDec(t)
		buf := make([]int16, frame)
		for i := 0; i < lost; i++ {
			if _, err := d.Decode(pkts[i], buf); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		var err error
		if fec {
			n, err = d.DecodeFEC(pkts[lost+1], buf)
		} else {
			n, err = d.DecodePLC(buf)
		}
		if err != nil || n != frame {
			t.Fatalf("repair (fec=%v): n=%d err=%v", fec, n, err)
		}
		// The next packet must still decode normally after FEC.
		if _, err := d.Decode(pkts[lost+1], make([]int16, frame)); err != nil {
			t.Fatal(err)
		}
		return buf
	}
	fecNCC := opustest.NCC(reference, repair(true))
	plcNCC := opustest.NCC(reference, repair(false))
	t.Logf("lost frame vs lossless decode: fec ncc %.3f, plc ncc %.3f", fecNCC, plcNCC)
	if fecNCC < 0.7 || fecNCC <= plcNCC {
		t.Errorf("FEC repair ncc %.3f should be high and beat PLC %.3f", fecNCC, plcNCC)
	}
}

// TestPacketHasFEC checks the LBRR parse against libopus itself: a packet
// flagged as carrying FEC must make DecodeFEC produce something other than
// plain concealment, and an encoder without FEC must never be flagged.
func TestPacketHasFEC(t *testing.T) {
	sig := opustest.Speechish(rate, rate)
	tests := []struct {
		name    string
		opts    opus.EncoderOptions
		wantMin float64 // fraction of packets flagged
		wantMax float64
	}{
		{"fec on", opus.EncoderOptions{Complexity: -1, FEC: true, LossPerc: 10}, 0.5, 1},
		{"fec off", opus.EncoderOptions{Complexity: -1}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts := encodeAll(t, sig, tc.opts)[:40]
			flagged := 0
			for k := 1; k+1 < len(pkts); k++ {
				has := opus.PacketHasFEC(pkts[k+1])
				if has {
					flagged++
				}
				a, b := newDec(t), newDec(t)
				buf := make([]int16, frame)
				for _, p := range pkts[:k] {
					if _, err := a.Decode(p, buf); err != nil {
						t.Fatal(err)
					}
					if _, err := b.Decode(p, buf); err != nil {
						t.Fatal(err)
					}
				}
				fec, plc := make([]int16, frame), make([]int16, frame)
				if _, err := a.DecodeFEC(pkts[k+1], fec); err != nil {
					t.Fatal(err)
				}
				if _, err := b.DecodePLC(plc); err != nil {
					t.Fatal(err)
				}
				// Without LBRR libopus may still take its SILK-internal
				// concealment path, so only one direction is exact.
				if has && slices.Equal(fec, plc) {
					t.Errorf("packet %d: PacketHasFEC but DecodeFEC only concealed", k+1)
				}
			}
			f := float64(flagged) / float64(len(pkts)-2)
			if f < tc.wantMin || f > tc.wantMax {
				t.Errorf("%.2f of packets carry FEC, want %.2f..%.2f", f, tc.wantMin, tc.wantMax)
			}
		})
	}
	for _, p := range [][]byte{nil, {0x00}, {0xff, 0xff}, {0x08}} {
		_ = opus.PacketHasFEC(p)
	}
}

func TestErrors(t *testing.T) {
	if _, err := opus.NewDecoder(44100, 1); err == nil {
		t.Error("44.1 kHz accepted")
	}
	if _, err := opus.NewDecoder(48000, 3); err == nil {
		t.Error("3 channels accepted")
	}
	pkts := encodeAll(t, opustest.Speechish(frame*2, rate), opus.EncoderOptions{Complexity: -1})
	d := newDec(t)
	tests := []struct {
		name string
		call func() (int, error)
		is   error
	}{
		{"empty packet", func() (int, error) { return d.Decode(nil, make([]int16, frame)) }, opus.ErrEmptyPacket},
		{"empty fec packet", func() (int, error) { return d.DecodeFEC(nil, make([]int16, frame)) }, opus.ErrEmptyPacket},
		{"out too small", func() (int, error) { return d.Decode(pkts[0], make([]int16, 100)) }, nil},
		{"out empty", func() (int, error) { return d.Decode(pkts[0], nil) }, nil},
		{"plc not 2.5ms multiple", func() (int, error) { return d.DecodePLC(make([]int16, 100)) }, nil},
		{"plc empty", func() (int, error) { return d.DecodePLC(nil) }, nil},
		{"fec not 2.5ms multiple", func() (int, error) { return d.DecodeFEC(pkts[1], make([]int16, 130)) }, nil},
		{"garbage", func() (int, error) { return d.Decode([]byte{0xff, 0xff, 0xff}, make([]int16, 5760)) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.call()
			if err == nil {
				t.Fatalf("no error (n=%d)", n)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
	// Still usable after errors.
	if n, err := d.Decode(pkts[0], make([]int16, frame)); err != nil || n != frame {
		t.Fatalf("decode after errors: n=%d err=%v", n, err)
	}
	// PLC of a shorter stretch (10 ms) works.
	if n, err := d.DecodePLC(make([]int16, 480)); err != nil || n != 480 {
		t.Fatalf("10 ms plc: n=%d err=%v", n, err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	d, err := opus.NewDecoder(rate, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Channels() != 2 || d.SampleRate() != rate {
		t.Fatal("accessors")
	}
	for i := 0; i < 2; i++ {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Decode([]byte{1}, make([]int16, 1920)); !errors.Is(err, opus.ErrClosed) {
		t.Errorf("Decode after Close: %v", err)
	}
	if _, err := d.DecodePLC(make([]int16, 1920)); !errors.Is(err, opus.ErrClosed) {
		t.Errorf("DecodePLC after Close: %v", err)
	}
	if _, err := d.DecodeFEC([]byte{1}, make([]int16, 1920)); !errors.Is(err, opus.ErrClosed) {
		t.Errorf("DecodeFEC after Close: %v", err)
	}
	if d.LastPacketDuration() != 0 {
		t.Error("LastPacketDuration after Close")
	}
}

func TestPacketSamples(t *testing.T) {
	pkts := encodeAll(t, opustest.Speechish(frame, rate), opus.EncoderOptions{Complexity: -1})
	tests := []struct {
		rate, want int
	}{{48000, 960}, {16000, 320}, {8000, 160}}
	for _, tc := range tests {
		if n, err := opus.PacketSamples(pkts[0], tc.rate); err != nil || n != tc.want {
			t.Errorf("PacketSamples(%d) = %d, %v; want %d", tc.rate, n, err, tc.want)
		}
	}
	if _, err := opus.PacketSamples(nil, rate); err == nil {
		t.Error("empty packet accepted")
	}
}

// FuzzDecode feeds arbitrary bytes to every decode path of one long-lived
// decoder (as a hostile peer would): nothing may crash and the decoder must
// keep working.
func FuzzDecode(f *testing.F) {
	for _, p := range encodeAll(f, opustest.Speechish(frame*4, rate), opus.EncoderOptions{Complexity: -1, FEC: true, LossPerc: 20}) {
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{0xfc})
	f.Add([]byte{0x03, 0xff, 0x00})
	d, err := opus.NewDecoder(rate, 2)
	if err != nil {
		f.Fatal(err)
	}
	defer d.Close()
	out := make([]int16, d.MaxFrameSamples()*2)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = d.Decode(data, out)
		_, _ = d.Decode(data, out[:2*480])
		_, _ = d.DecodeFEC(data, out[:2*960])
		_, _ = opus.PacketSamples(data, rate)
		_ = opus.PacketHasFEC(data)
		if _, err := d.DecodePLC(out[:2*960]); err != nil {
			t.Fatalf("decoder broken after input: %v", err)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	pkts := encodeAll(b, opustest.Speechish(rate, rate), opus.EncoderOptions{Complexity: -1})
	d := newDec(b)
	out := make([]int16, frame)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(pkts[i%len(pkts)], out); err != nil {
			b.Fatal(err)
		}
	}
}
