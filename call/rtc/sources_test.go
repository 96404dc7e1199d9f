package rtc

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softphone/softphone/media/videosrc"
)

func TestCameraCycle(t *testing.T) {
	labels := []string{"usb-Front_Cam-video-index0;video0", "usb-Back_Cam-video-index0;video2", "video4;video4"}
	tests := []struct {
		name    string
		cfg     Config
		labels  []string
		want    []string
		cur     string
		tryNext []string
	}{
		{name: "the list wins", cfg: Config{VideoIn: "default", Cameras: []string{"testsrc", "a.y4m"}}, labels: labels,
			want: []string{"testsrc", "a.y4m"}, cur: "testsrc", tryNext: []string{"a.y4m"}},
		{name: "last wraps to first", cfg: Config{Cameras: []string{"testsrc", "a.y4m", "/dev/video2"}},
			want: []string{"testsrc", "a.y4m", "/dev/video2"}, cur: "/dev/video2", tryNext: []string{"testsrc", "a.y4m"}},
		{name: "VideoIn outside the list starts at its head", cfg: Config{VideoIn: "default", Cameras: []string{"a.y4m", "b.y4m"}},
			want: []string{"a.y4m", "b.y4m"}, cur: "default", tryNext: []string{"a.y4m", "b.y4m"}},
		{name: "default then the other cameras", cfg: Config{VideoIn: "default"}, labels: labels,
			want: []string{"default", labels[1], labels[2]}, cur: "default", tryNext: []string{labels[1], labels[2]}},
		{name: "a named camera is not listed twice", cfg: Config{VideoIn: "/dev/video2"}, labels: labels,
			want: []string{"/dev/video2", labels[0], labels[2]}, cur: labels[0], tryNext: []string{labels[2], "/dev/video2"}},
		{name: "by label", cfg: Config{VideoIn: "Front_Cam"}, labels: labels,
			want: []string{"Front_Cam", labels[1], labels[2]}, cur: "Front_Cam", tryNext: []string{labels[1], labels[2]}},
		{name: "testsrc plus every camera", cfg: Config{VideoIn: "testsrc"}, labels: labels,
			want: []string{"testsrc", labels[0], labels[1], labels[2]}, cur: labels[2], tryNext: []string{"testsrc", labels[0], labels[1]}},
		{name: "empty VideoIn is testsrc", cfg: Config{}, want: []string{"testsrc"}, cur: "testsrc"},
		{name: "no camera: nothing to switch", cfg: Config{VideoIn: "default"}, want: []string{"default"}, cur: "default"},
		{name: "video off", cfg: Config{VideoIn: "none"}, labels: labels, want: nil, cur: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg.withDefaults()
			got := cameraCycle(&cfg, tt.labels)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("cycle %q, want %q", got, tt.want)
			}
			if next := nextCameras(got, tt.cur); !slices.Equal(next, tt.tryNext) {
				t.Errorf("after %q tries %q, want %q", tt.cur, next, tt.tryNext)
			}
		})
	}
}

func TestCameraMatches(t *testing.T) {
	tests := []struct {
		label, dev string
		want       bool
	}{
		{"video0;video0", "/dev/video0", true},
		{"usb-Cam-video-index0;video2", "/dev/video2", true},
		{"usb-Cam-video-index0;video2", "/dev/v4l/by-id/usb-Cam-video-index0", true},
		{"video10;video10", "/dev/video1", false},
		{"video1;video1", "/dev/video10", false},
		{"usb-Cam-video-index0;video2", "usb-Cam-video-index0", true},
		{"usb-Cam-video-index0;video2", "Cam", true},
		{"usb-Cam-video-index0;video2", "Other", false},
		{"video0;video0", "", false},
	}
	for _, tt := range tests {
		if got := cameraMatches(tt.label, tt.dev); got != tt.want {
			t.Errorf("cameraMatches(%q, %q) = %v, want %v", tt.label, tt.dev, got, tt.want)
		}
	}
}

func TestCheckCameras(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.y4m")
	if err := os.WriteFile(clip, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		list []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"testsrc", clip, "default", "/dev/video2", "usb-Cam;video2"}, ""},
		{[]string{"testsrc", ""}, "entry 2 is empty"},
		{[]string{" testsrc"}, `entry 1 " testsrc" has leading or trailing spaces`},
		{[]string{"testsrc", "none"}, `entry 2 is "none", which is no camera`},
		{[]string{"tone"}, `entry 1 "tone" is an audio source`},
		{[]string{"talk.wav"}, `entry 1 "talk.wav" is an audio source`},
		{[]string{filepath.Join(dir, "gone.y4m")}, "no such file"},
		{[]string{dir + "/x.Y4M"}, "no such file"},
		{[]string{"clips/talk.mp4"}, "neither a .y4m file nor a /dev/ camera"},
		{[]string{"testsrc", clip, "testsrc"}, `entry 3 "testsrc" repeats entry 1`},
	}
	for _, tt := range tests {
		err := CheckCameras(tt.list)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.list, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want one containing %q", tt.list, err, tt.want)
		}
	}
}

// TestCameraSourceReplace swaps sources under a reader that never stops,
// as the encoder goroutine reads, then closes it: every frame comes from
// the source current at the time, the keyframe hook runs once per switch
// with the new source's first frame, and Close ends Read (run with -race).
func TestCameraSourceReplace(t *testing.T) {
	pattern := func(w, h int) *cameraSource {
		t.Helper()
		p, err := videosrc.NewPattern(videosrc.PatternOptions{Width: w, Height: h, Unpaced: true})
		if err != nil {
			t.Fatal(err)
		}
		return &cameraSource{r: p, close: p.Close, fps: 30, entry: "testsrc"}
	}
	cam := pattern(64, 36)
	cam.enabled.Store(true)

	var keyFrames atomic.Int32
	var wg sync.WaitGroup
	var frames atomic.Int64
	sizes := make(chan image.Point, 1)
	readErr := make(chan error, 1)
	wg.Go(func() {
		for {
			img, release, err := cam.Read()
			if err != nil {
				readErr <- err
				return
			}
			frames.Add(1)
			select {
			case sizes <- img.Bounds().Size():
			default:
			}
			release()
		}
	})

	const switches = 200
	for i := range switches {
		w := 32 + 2*(i%2)
		if !cam.replace(pattern(w, 18), func() { keyFrames.Add(1) }) {
			t.Fatal("replace refused before Close")
		}
	}
	if !cam.replace(pattern(40, 20), func() { keyFrames.Add(1) }) {
		t.Fatal("replace refused before Close")
	}
	// The reader goes on with the last source.
	timeout := time.After(5 * time.Second)
	for last := false; !last; {
		select {
		case sz := <-sizes:
			last = sz == image.Point{X: 40, Y: 20}
		case <-timeout:
			t.Fatal("the last source's frames never came")
		}
	}
	if n := keyFrames.Load(); n < 1 || n > switches+1 {
		t.Errorf("%d keyframe requests for %d switches", n, switches+1)
	}
	got := keyFrames.Load()
	if err := cam.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err == nil {
		t.Fatal("Read went on after Close")
	}
	wg.Wait()
	if keyFrames.Load() != got {
		t.Error("keyframe requested after Close")
	}
	if n := pattern(16, 16); cam.replace(n, nil) {
		t.Error("replace accepted after Close")
	} else {
		_ = n.Close()
	}
	if frames.Load() == 0 {
		t.Error("no frames read")
	}
}
