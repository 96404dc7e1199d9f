package rtc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/pa"
)

// Source and sink names understood by Config besides files and device
// names.
const (
	SourceDefault = "default" // the default microphone / speaker
	SourceNone    = "none"    // no capture / no playback
	SourceTone    = "tone"    // a 440 Hz sine
	SourceSilence = "silence" // digital silence
	SourceTestsrc = "testsrc" // the moving test pattern with a frame counter
)

// Config turns the engine's calls into real calls: one WebRTC session
// per connected call, with the capture, playback and recording chosen here.
// A nil *Config in Config keeps the engine signaling-only.
type Config struct {
	// AudioIn is "default" (or ""), a PortAudio device name or index, "tone",
	// "silence", a .wav file, or "none" (NeCallKit's openMicrophone=false).
	AudioIn string
	// AudioOut is "default" (or ""), a PortAudio device name or index, or
	// "none": decoded audio is then paced by a timer so recording still works.
	AudioOut string
	// VideoIn is "testsrc" (or ""), a .y4m file, "default" (the first
	// camera) or a V4L2 device (/dev/videoN) — both need the mediadevices
	// camera driver linked in — or "none". It is used in video calls only;
	// "none" is NeCallKit's openCamera=false.
	VideoIn string
	// Cameras are the sources SwitchCamera goes round, each in VideoIn's
	// syntax (testsrc, FILE.y4m, default, /dev/videoN or a camera's label;
	// not "none"); CheckCameras validates them. A call starts on VideoIn
	// (or the camera the engine last switched to); when that is not in
	// the list, the first switch goes to Cameras[0]. Empty: VideoIn, then
	// every other camera mediadevices enumerates.
	Cameras []string
	// VideoWidth / VideoHeight are the capture size; zero takes it from
	// Resolution (LD 320×180, SD 640×360, HD 1280×720, FHD 1920×1080).
	// NeCallKit's portrait defaults (360×640) are honoured as given.
	VideoWidth, VideoHeight int
	Resolution              string
	// FPS of the test pattern and the camera; default 30 (15 for LD).
	FPS float64
	// AudioQuality "high" sends Opus at 32 kbps, "low" at 16 kbps.
	AudioQuality string
	// MinBitrate / MaxBitrate bound the video target in kbps (default
	// 150..1500). The congestion controller's start value is MinBitrate.
	MinBitrate, MaxBitrate int
	// WhitenessLevel and BeautyLevel (0–9) drive media/filter.Beauty on the
	// outgoing video.
	WhitenessLevel, BeautyLevel int
	// RecordDir, when set, receives local.wav, remote.wav, mix.wav and
	// remote.ivf of every call (overwritten by the next call).
	RecordDir string
	// ICEServers are the STUN/TURN servers; RelayOnly forces the TURN path.
	ICEServers []webrtc.ICEServer
	RelayOnly  bool
	// Net replaces the OS network (pion/transport/v5 vnet in tests).
	Net transport.Net
	// Audio is a PortAudio system to use; nil opens one per call when a
	// device is needed (and closes it afterwards).
	Audio *pa.System
	// StatsInterval is the period of STATS events; default 1 s, negative
	// disables them.
	StatsInterval time.Duration
	// NoMediaAfter is how long after accept a call may go without any
	// incoming media before MEDIA_WARNING (kind noMedia); default
	// DefaultNoMediaAfter, negative disables the check.
	NoMediaAfter time.Duration
	// Loop makes file sources start over at their end.
	Loop bool
	// Loopback > 0 makes the session an echo (the server's echo bot): it
	// captures nothing and sends back every audio and video packet it
	// receives this much later (loopback.go). AudioIn, AudioOut and
	// VideoIn are then unused.
	Loopback time.Duration
}

// withDefaults returns a copy of c with every zero field defaulted.
func (c Config) withDefaults() Config {
	if c.AudioIn == "" {
		c.AudioIn = SourceDefault
	}
	if c.AudioOut == "" {
		c.AudioOut = SourceDefault
	}
	if c.VideoIn == "" {
		c.VideoIn = SourceTestsrc
	}
	if c.VideoWidth <= 0 || c.VideoHeight <= 0 {
		c.VideoWidth, c.VideoHeight = resolutionSize(c.Resolution)
	}
	// Encoders want even sizes (I420 chroma planes).
	c.VideoWidth &^= 1
	c.VideoHeight &^= 1
	c.VideoWidth, c.VideoHeight = max(c.VideoWidth, 16), max(c.VideoHeight, 16)
	if c.FPS <= 0 {
		c.FPS = 30
		if strings.EqualFold(c.Resolution, "LD") {
			c.FPS = 15
		}
	}
	if c.MinBitrate <= 0 {
		c.MinBitrate = 150
	}
	if c.MaxBitrate <= 0 {
		c.MaxBitrate = 1500
	}
	if c.MaxBitrate < c.MinBitrate {
		c.MaxBitrate = c.MinBitrate
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = time.Second
	}
	if c.NoMediaAfter == 0 {
		c.NoMediaAfter = DefaultNoMediaAfter
	}
	return c
}

// resolutionSize maps NeCallKit's resolution presets to a capture size.
func resolutionSize(preset string) (int, int) {
	switch strings.ToUpper(preset) {
	case "LD":
		return 320, 180
	case "SD":
		return 640, 360
	case "FHD":
		return 1920, 1080
	case "HD":
		return 1280, 720
	}
	return 640, 360
}

// audioBitrate is the fixed Opus bitrate in bps.
func (c *Config) audioBitrate() int {
	if strings.EqualFold(c.AudioQuality, "low") {
		return 16_000
	}
	return 32_000
}

// fecLoss turns the loss the receiver reports (percent, last interval) into
// the loss the Opus encoder protects against. It is quantised to 0, 10 and
// 20 % (much as browsers do) because at 32 kbps libopus adds FEC reliably
// only from about 8 % expected loss: a path that loses anything gets FEC.
func fecLoss(reported float64) int {
	switch {
	case reported < 0.5:
		return 0
	case reported < 10:
		return 10
	default:
		return 20
	}
}

// CheckCameras validates a camera list (Config.Cameras): no empty or
// repeated entries, no "none" or audio source, files only .y4m and present.
// Errors name the entry by its 1-based position; callers prefix the field
// or flag the list came from.
func CheckCameras(list []string) error {
	for i, c := range list {
		n := i + 1
		t := strings.TrimSpace(c)
		lower := strings.ToLower(t)
		switch {
		case t == "":
			return fmt.Errorf("entry %d is empty", n)
		case t != c:
			return fmt.Errorf("entry %d %q has leading or trailing spaces", n, c)
		case lower == SourceNone:
			return fmt.Errorf("entry %d is %q, which is no camera (turn the camera off instead)", n, c)
		case lower == SourceTone || lower == SourceSilence || strings.HasSuffix(lower, ".wav"):
			return fmt.Errorf("entry %d %q is an audio source, not a camera", n, c)
		case strings.HasSuffix(lower, ".y4m"):
			st, err := os.Stat(c)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("entry %d %q: no such file", n, c)
			case err != nil:
				return fmt.Errorf("entry %d: %w", n, err)
			case st.IsDir():
				return fmt.Errorf("entry %d %q is a directory, not a .y4m file", n, c)
			}
		case strings.ContainsRune(c, filepath.Separator) && !strings.HasPrefix(c, "/dev/"):
			return fmt.Errorf("entry %d %q is neither a .y4m file nor a /dev/ camera", n, c)
		}
		for j, prev := range list[:i] {
			if prev == c {
				return fmt.Errorf("entry %d %q repeats entry %d", n, c, j+1)
			}
		}
	}
	return nil
}
