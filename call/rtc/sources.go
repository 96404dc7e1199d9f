package rtc

import (
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/filter"
	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/videosrc"
)

// errNoSource means the configuration asks for no capture of that kind.
var errNoSource = errors.New("no source configured")

// micSource is the outgoing audio: a file/tone/silence source or a
// PortAudio capture, with mute and a tap for the local recording.
type micSource struct {
	id    string
	read  func() (wave.Audio, func(), error)
	close func() error
	muted *atomic.Bool
	tap   func(pcm []int16, at time.Time)
	taps  *mediaTaps // level meter (preview.go)
}

func (m *micSource) ID() string   { return m.id }
func (m *micSource) Close() error { return m.close() }

// Read passes chunks through; while muted it sends silence in their place,
// so Opus keeps its clock and the peer hears a clean mute.
func (m *micSource) Read() (wave.Audio, func(), error) {
	a, release, err := m.read()
	if err != nil {
		return nil, func() {}, err
	}
	chunk, ok := a.(*wave.Int16Interleaved)
	if !ok {
		return a, release, nil
	}
	if m.muted.Load() {
		// A fresh chunk: the source may still own chunk's memory.
		silent := wave.NewInt16Interleaved(chunk.ChunkInfo())
		chunk = silent
		a = silent
	}
	if m.tap != nil {
		m.tap(chunk.Data, time.Now())
	}
	m.taps.observeMic(chunk.Data)
	return a, release, nil
}

// openMicrophone opens cfg.AudioIn. A device that is missing returns an error
// wrapping pa.ErrNoInputDevice / pa.ErrDeviceNotFound; the caller goes on
// without audio.
func openMicrophone(cfg *Config, sys func() (*pa.System, error)) (*micSource, error) {
	in := cfg.AudioIn
	opts := audiosrc.Options{Loop: cfg.Loop, ID: "mic"}
	var src *audiosrc.Source
	var err error
	switch {
	case in == SourceNone:
		return nil, errNoSource
	case in == SourceTone:
		src, err = audiosrc.NewTone(440, 0.25, opts)
	case in == SourceSilence:
		src = audiosrc.NewSilence(opts)
	case strings.HasSuffix(strings.ToLower(in), ".wav"):
		src, _, err = audiosrc.NewWAVFile(in, opts)
	default:
		s, serr := sys()
		if serr != nil {
			return nil, fmt.Errorf("audio input %q: %w", in, serr)
		}
		dev, derr := s.FindInput(in)
		if derr != nil {
			return nil, fmt.Errorf("audio input %q: %w", in, derr)
		}
		c, cerr := s.OpenCapture(dev, pa.CaptureConfig{})
		if cerr != nil {
			return nil, fmt.Errorf("audio input %s: %w", dev.Name, cerr)
		}
		r := c.AudioReader(pa.FrameSamples)
		return &micSource{id: "mic-" + dev.Name, read: r.Read, close: c.Close}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audio input %q: %w", in, err)
	}
	return &micSource{id: src.ID(), read: src.Read, close: src.Close}, nil
}

// cameraSource is the outgoing video: test pattern, Y4M file or camera,
// through the beauty filter, with camera-off applied. The resolution and
// frame-rate ladder is the encoder's (media/vp8).
// SwitchCamera replaces its source while the encoder reads from it
// (replace); the track and the encoder never notice.
type cameraSource struct {
	id string

	enabled atomic.Bool

	// switching serialises SwitchCamera's open-and-replace: a second switch
	// starts from the source the first one installed.
	switching sync.Mutex

	mu       sync.Mutex
	r        video.Reader // the current source (after the beauty filter)
	close    func() error // closes r's source
	fps      float64
	entry    string // r's source in VideoIn's syntax
	gen      uint64 // bumped by every replace
	keyFrame func() // set by replace; called with the first frame of the new source
	closed   bool

	taps *mediaTaps // local preview (preview.go)

	// prevRelease releases the frame Read returned last. mediadevices drops
	// the release functions its track reader gets, so without this a
	// source's frame pool never got a frame back and every frame was a new
	// allocation (11 MB held at 640×360); the encoder, the only reader, is
	// done with a frame when it asks for the next.
	prevRelease func()
}

func (c *cameraSource) ID() string { return c.id }

func (c *cameraSource) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	closeFn := c.close
	c.mu.Unlock()
	return closeFn()
}

// current returns the entry (VideoIn syntax) of the source being sent.
func (c *cameraSource) current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entry
}

// replace makes n's source the one Read returns frames from, and closes the
// previous source once it is no longer current (a Read blocked in it then
// moves on to n's). keyFrame, if not nil, is called when the first frame of
// the new source is handed to the encoder. After Close it refuses (false)
// and leaves n to the caller.
func (c *cameraSource) replace(n *cameraSource, keyFrame func()) bool {
	n.mu.Lock()
	r, closeFn, fps, entry := n.r, n.close, n.fps, n.entry
	n.mu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	old := c.close
	c.r, c.close, c.fps, c.entry = r, closeFn, fps, entry
	c.gen++
	c.keyFrame = keyFrame
	c.mu.Unlock()
	_ = old() // a camera that fails to close is no longer ours to fix
	return true
}

// Read returns the next frame to encode; with the camera off it sends black
// frames of the same size.
func (c *cameraSource) Read() (image.Image, func(), error) {
	if c.prevRelease != nil {
		c.prevRelease()
		c.prevRelease = nil
	}
	for {
		c.mu.Lock()
		r, gen := c.r, c.gen
		c.mu.Unlock()
		img, release, err := r.Read()
		c.mu.Lock()
		stale := c.gen != gen
		var keyFrame func()
		if !stale && c.keyFrame != nil {
			keyFrame, c.keyFrame = c.keyFrame, nil
		}
		c.mu.Unlock()
		if stale {
			// The source was replaced while we waited for it: its frame
			// (or its error: it was closed) is no longer wanted.
			if err == nil && release != nil {
				release()
			}
			continue
		}
		if err != nil {
			return nil, func() {}, err
		}
		if keyFrame != nil {
			// The new picture starts with a keyframe: a scene cut costs no
			// more as one, and a receiver that lost the switch recovers at once.
			keyFrame()
		}
		out := img
		if !c.enabled.Load() {
			b := img.Bounds()
			out = blackFrame(b.Dx(), b.Dy())
		}
		if out != img && release != nil {
			release()
			release = func() {}
		}
		if release == nil {
			release = func() {}
		}
		c.taps.preview(out)
		c.prevRelease = release
		return out, release, nil
	}
}

func blackFrame(w, h int) *image.YCbCr {
	w, h = max(w&^1, 2), max(h&^1, 2)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = 16
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

// halve downsizes a picture by two with a 2×2 box filter (I420 out).
func halve(src *image.YCbCr) *image.YCbCr {
	b := src.Bounds()
	w, h := (b.Dx()/2)&^1, (b.Dy()/2)&^1
	w, h = max(w, 2), max(h, 2)
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		r0 := src.Y[(2*y)*src.YStride:]
		r1 := src.Y[min(2*y+1, b.Dy()-1)*src.YStride:]
		d := dst.Y[y*dst.YStride:]
		for x := range w {
			d[x] = uint8((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) / 4)
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			// Chroma sample under the centre of the 4×4 source block.
			ci := src.COffset(b.Min.X+4*x+1, b.Min.Y+4*y+1)
			di := y*dst.CStride + x
			dst.Cb[di], dst.Cr[di] = src.Cb[ci], src.Cr[ci]
		}
	}
	return dst
}

// openCamera opens cfg.VideoIn for a video call.
func openCamera(cfg *Config) (*cameraSource, error) {
	in := cfg.VideoIn
	var (
		r     video.Reader
		close func() error
		fps   = cfg.FPS
		id    = "camera"
	)
	switch {
	case in == SourceNone:
		return nil, errNoSource
	case in == SourceTestsrc:
		p, err := videosrc.NewPattern(videosrc.PatternOptions{Width: cfg.VideoWidth, Height: cfg.VideoHeight, FPS: cfg.FPS})
		if err != nil {
			return nil, fmt.Errorf("video input testsrc: %w", err)
		}
		r, close, id = p, p.Close, p.ID()
	case strings.HasSuffix(strings.ToLower(in), ".y4m"):
		y, err := videosrc.OpenY4M(in, videosrc.Y4MOptions{Loop: cfg.Loop})
		if err != nil {
			return nil, fmt.Errorf("video input %q: %w", in, err)
		}
		r, close, fps, id = y, y.Close, y.FPS(), y.ID()
	default: // "default" or a V4L2 device
		track, err := openV4L2(in, cfg)
		if err != nil {
			return nil, fmt.Errorf("video input %q: %w", in, err)
		}
		r, close = track.NewReader(false), track.Close
	}
	if cfg.WhitenessLevel > 0 || cfg.BeautyLevel > 0 {
		r = filter.Beauty(cfg.WhitenessLevel, cfg.BeautyLevel)(r)
	}
	c := &cameraSource{id: id, r: r, close: close, fps: fps, entry: in}
	c.enabled.Store(true)
	return c, nil
}

// openV4L2 captures from a camera through mediadevices' camera driver, which
// the binary links in (cmd/softphone imports it); without it, or without
// the device, this is a clear error and the call goes on without video.
func openV4L2(dev string, cfg *Config) (*mediadevices.VideoTrack, error) {
	var match string
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Kind != mediadevices.VideoInput {
			continue
		}
		if dev == SourceDefault || cameraMatches(d.Label, dev) {
			match = d.DeviceID
			break
		}
	}
	if match == "" {
		if dev == SourceDefault {
			return nil, errors.New("no camera found")
		}
		return nil, errors.New("no such camera (is it connected, and readable by this user?)")
	}
	s, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
		Video: func(c *mediadevices.MediaTrackConstraints) {
			c.DeviceID = prop.String(match)
			c.Width = prop.Int(cfg.VideoWidth)
			c.Height = prop.Int(cfg.VideoHeight)
			c.FrameRate = prop.Float(cfg.FPS)
		},
	})
	if err != nil {
		return nil, err
	}
	for _, t := range s.GetVideoTracks() {
		if vt, ok := t.(*mediadevices.VideoTrack); ok {
			return vt, nil
		}
		_ = t.Close()
	}
	return nil, errors.New("camera gave no video track")
}

// cameraMatches tells whether the camera labelled label (mediadevices' V4L2
// driver labels a camera "NAME;videoN": its /dev/v4l/by-id, by-path or
// /dev name, then the node its link resolves to) is the one dev names: the
// label itself or its NAME, a device path (/dev/video2,
// /dev/v4l/by-id/usb-…), or a part of the label.
func cameraMatches(label, dev string) bool {
	if dev == "" {
		return false
	}
	if label == dev || strings.HasPrefix(label, dev+";") {
		return true
	}
	if !strings.HasPrefix(dev, "/dev/") {
		return strings.Contains(label, dev)
	}
	names := []string{filepath.Base(dev)}
	if real, err := filepath.EvalSymlinks(dev); err == nil {
		names = append(names, filepath.Base(real))
	}
	for part := range strings.SplitSeq(label, ";") {
		if slices.Contains(names, part) {
			return true
		}
	}
	return false
}

// videoInputLabels lists the cameras mediadevices knows, in its order (the
// first is "default").
func videoInputLabels() []string {
	var out []string
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Kind == mediadevices.VideoInput {
			out = append(out, d.Label)
		}
	}
	return out
}

// cameraCycle is the list SwitchCamera goes round: cfg.Cameras when set,
// else VideoIn followed by every other camera in labels (the enumerated
// V4L2 cameras, by label). cfg has its defaults; with VideoIn "none" there
// is nothing to switch.
func cameraCycle(cfg *Config, labels []string) []string {
	if len(cfg.Cameras) > 0 {
		return cfg.Cameras
	}
	in := cfg.VideoIn
	if in == SourceNone {
		return nil
	}
	out := []string{in}
	for i, l := range labels {
		if in == SourceDefault && i == 0 || cameraMatches(l, in) || slices.Contains(out, l) {
			continue // the camera VideoIn opens is already first
		}
		out = append(out, l)
	}
	return out
}

// nextCameras lists what SwitchCamera tries after cur, in order: the
// entries that follow cur in cycle, wrapping round, never cur itself. When
// cur is not in cycle (the call started on a VideoIn outside Cameras), the
// whole cycle from its start.
func nextCameras(cycle []string, cur string) []string {
	i := slices.Index(cycle, cur)
	var out []string
	for k := 1; k <= len(cycle); k++ {
		c := cycle[(i+k+len(cycle))%len(cycle)]
		if c != cur && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
