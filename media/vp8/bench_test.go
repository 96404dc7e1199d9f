package vp8

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/prop"
)

// BenchmarkEncodeVsMediadevices encodes the same 640×360 frames with this
// encoder and with mediadevices' vpx VP8 encoder (both 300 kbps CBR, lag 0)
// in one run and reports ms/frame of each and their ratio.
func BenchmarkEncodeVsMediadevices(b *testing.B) {
	src := frames(b, 640, 360, 60)
	own := newTestEncoder(b, &sliceReader{frames: src}, NewParams(), 640, 360)

	mp, err := vpx.NewVP8Params()
	if err != nil {
		b.Fatal(err)
	}
	mp.BitRate = 300_000
	mp.LagInFrames = 0
	mp.RateControlEndUsage = vpx.RateControlCBR
	mp.KeyFrameInterval = 3000
	md, err := mp.BuildVideoEncoder(&sliceReader{frames: src}, prop.Media{Video: prop.Video{Width: 640, Height: 360, FrameRate: 30}})
	if err != nil {
		b.Fatal(err)
	}
	defer md.Close()

	// Warm both up past the first keyframe.
	for range 10 {
		if _, err := nextFrame(b, own); err != nil {
			b.Fatal(err)
		}
		if _, _, err := md.Read(); err != nil {
			b.Fatal(err)
		}
	}
	var tOwn, tMD time.Duration
	var bOwn, bMD int
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		f, err := nextFrame(b, own)
		t1 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		g, _, err := md.Read()
		t2 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		tOwn += t1.Sub(t0)
		tMD += t2.Sub(t1)
		bOwn += len(f)
		bMD += len(g)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(tOwn.Microseconds())/1000/n, "own-ms/frame")
	b.ReportMetric(float64(tMD.Microseconds())/1000/n, "md-ms/frame")
	b.ReportMetric(float64(tMD)/float64(tOwn), "md/own")
	b.ReportMetric(float64(bOwn)/n, "own-B/frame")
	b.ReportMetric(float64(bMD)/n, "md-B/frame")
}

// BenchmarkSpeed sweeps VP8E_SET_CPUUSED at 640×360, 300 kbps, 30 fps and
// reports encode time and quality, the trade-off behind DefaultCPUUsed.
func BenchmarkSpeed(b *testing.B) {
	src := frames(b, 640, 360, 60)
	for _, speed := range []int{-6, -12, 4, 8, 12, 16} {
		b.Run(fmt.Sprintf("cpu%d", speed), func(b *testing.B) {
			p := NewParams()
			p.CPUUsed = speed
			e := newTestEncoder(b, &sliceReader{frames: src}, p, 640, 360)
			d, err := NewDecoder()
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			var enc time.Duration
			var q float64
			var bytes int
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				f, err := nextFrame(b, e)
				enc += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(f)
				img, err := d.Decode(f)
				if err != nil {
					b.Fatal(err)
				}
				q += psnr(src[i%len(src)], img)
			}
			b.StopTimer()
			b.ReportMetric(float64(enc.Microseconds())/1000/float64(b.N), "enc-ms/frame")
			b.ReportMetric(q/float64(b.N), "PSNR-dB")
			b.ReportMetric(float64(bytes*8)*30/float64(b.N)/1000, "kbps")
		})
	}
}

// BenchmarkDecode decodes a 640×360 300 kbps stream.
func BenchmarkDecode(b *testing.B) {
	src := frames(b, 640, 360, 60)
	e := newTestEncoder(b, &sliceReader{frames: src}, NewParams(), 640, 360)
	stream := make([][]byte, 300)
	for i := range stream {
		f, err := nextFrame(b, e)
		if err != nil {
			b.Fatal(err)
		}
		stream[i] = f
	}
	b.Run("alloc", func(b *testing.B) { benchDecode(b, stream, false) })
	b.Run("reuse", func(b *testing.B) { benchDecode(b, stream, true) })
}

func benchDecode(b *testing.B, stream [][]byte, reuse bool) {
	d, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var dst *image.YCbCr
	b.ResetTimer()
	for i := range b.N {
		f := stream[i%len(stream)]
		if i%len(stream) == 0 && i > 0 {
			// Restart at the keyframe: the stream is decodable from there.
			f = stream[0]
		}
		img, err := d.DecodeInto(f, dst)
		if err != nil {
			b.Fatal(err)
		}
		if reuse {
			dst = img
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
}
