package rtc

import (
	"image"
	"sync/atomic"
	"time"
)

// What the UI shows besides the remote picture: the local preview and the
// microphone and speaker level meters. The capture and playout paths feed
// these taps on their own goroutines; the UI polls them (≤ 20 Hz).

const (
	// previewInterval limits how often the outgoing picture is copied for
	// the preview: the terminal redraws at most 20 fps anyway.
	previewInterval = 50 * time.Millisecond
	// previewMaxWidth bounds the preview copy: a 120-column pane shows 120
	// pixels across, so a half-size SD frame is plenty and costs a quarter.
	previewMaxWidth = 320

	// The level meters keep the peak per levelBucket in a ring of
	// levelSlots; a reading is the peak over the last levelWindow buckets
	// (≈ 100 ms).
	levelBucket = 20 * time.Millisecond
	levelWindow = 5
	levelSlots  = 8

	// talkLevel is the microphone's ≈ 100 ms peak (of full scale) from
	// which the local side counts as speaking (−34 dBFS): words peak far
	// above it, a quiet room's noise and a muted microphone below.
	talkLevel = 0.02
)

// mediaTaps belongs to one media session.
type mediaTaps struct {
	start       time.Time // monotonic origin of the meters' buckets
	local       *FrameSlot
	lastPreview atomic.Int64 // nanoseconds since start of the last preview copy
	mic, spk    levelMeter
}

func newMediaTaps() *mediaTaps {
	t := &mediaTaps{start: time.Now(), local: NewFrameSlot()}
	t.mic.start, t.spk.start = t.start, t.start
	return t
}

// preview offers an outgoing frame (after the beauty filter, the ladder and
// camera-off) to the local preview. It copies, at most every
// previewInterval, because the encoder's frame returns to its pool.
func (t *mediaTaps) preview(img image.Image) {
	if t == nil {
		return
	}
	y, ok := img.(*image.YCbCr)
	if !ok || y.Rect.Empty() {
		return
	}
	now := int64(time.Since(t.start))
	last := t.lastPreview.Load()
	if last != 0 && now-last < int64(previewInterval) {
		return
	}
	t.lastPreview.Store(now)
	t.local.Put(shrinkCopy(y))
}

// shrinkCopy returns a private I420 copy of img, halved until it is at most
// previewMaxWidth wide.
func shrinkCopy(img *image.YCbCr) *image.YCbCr {
	if img.Rect.Dx() > previewMaxWidth && img.Rect.Min == (image.Point{}) && img.Rect.Dy() >= 4 {
		out := halve(img)
		for out.Rect.Dx() > previewMaxWidth && out.Rect.Dy() >= 4 {
			out = halve(out)
		}
		return out
	}
	out := image.NewYCbCr(img.Rect, img.SubsampleRatio)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		copy(out.Y[out.YOffset(img.Rect.Min.X, y):][:img.Rect.Dx()], img.Y[img.YOffset(img.Rect.Min.X, y):])
	}
	// Chroma rows: one per distinct COffset row; copying every plane row
	// the two images share covers any subsampling.
	cw := out.COffset(img.Rect.Max.X-1, img.Rect.Min.Y) - out.COffset(img.Rect.Min.X, img.Rect.Min.Y) + 1
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		d, s := out.COffset(img.Rect.Min.X, y), img.COffset(img.Rect.Min.X, y)
		copy(out.Cb[d:d+cw], img.Cb[s:])
		copy(out.Cr[d:d+cw], img.Cr[s:])
	}
	return out
}

func (t *mediaTaps) observeMic(pcm []int16) {
	if t != nil {
		t.mic.observe(pcm)
	}
}

func (t *mediaTaps) observeSpeaker(pcm []int16) {
	if t != nil {
		t.spk.observe(pcm)
	}
}

// levelMeter tracks the recent peak of a PCM stream without locks or
// allocation: one writer (the capture or playout goroutine), any readers.
type levelMeter struct {
	start time.Time
	// Each slot packs bucket<<16 | peak; bucket numbers start at 1 so an
	// unused slot (0) is never current.
	slots [levelSlots]atomic.Uint64
}

func (m *levelMeter) bucket() uint64 { return uint64(time.Since(m.start)/levelBucket) + 1 }

func (m *levelMeter) observe(pcm []int16) {
	peak := 0
	for _, v := range pcm {
		a := int(v)
		if a < 0 {
			a = -a
		}
		peak = max(peak, a)
	}
	b := m.bucket()
	slot := &m.slots[b%levelSlots]
	for {
		old := slot.Load()
		if old>>16 == b && uint64(peak) <= old&0xffff {
			return
		}
		if slot.CompareAndSwap(old, b<<16|uint64(peak)) {
			return
		}
	}
}

// level is the peak of the last ≈ 100 ms, 0..1 of full scale.
func (m *levelMeter) level() float64 {
	now := m.bucket()
	peak := uint64(0)
	for i := range m.slots {
		v := m.slots[i].Load()
		if b := v >> 16; b != 0 && b <= now && now-b < levelWindow {
			peak = max(peak, v&0xffff)
		}
	}
	return min(float64(peak)/32768, 1)
}
