package call_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/servertest"
	"github.com/softphone/softphone/media/videosrc"
)

// The clip the tests switch to: a uniform bright grey, smaller than the
// pattern, so the callee tells the sources apart by size, luma and the
// pattern's frame counter.
const (
	clipW, clipH = 192, 108
	clipLuma     = 200
	patW, patH   = 320, 180
)

// writeClip writes a short uniform-grey Y4M file (it loops).
func writeClip(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F15:1 Ip A1:1 C420jpeg\n", clipW, clipH)
	for range 3 {
		b.WriteString("FRAME\n")
		b.Write(bytes.Repeat([]byte{clipLuma}, clipW*clipH))
		b.Write(bytes.Repeat([]byte{128}, clipW*clipH/2))
	}
	path := filepath.Join(t.TempDir(), "grey.y4m")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func switchMedia(cameras ...string) *call.MediaConfig {
	return &call.MediaConfig{AudioIn: call.SourceSilence, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
		Cameras: cameras, VideoWidth: patW, VideoHeight: patH, FPS: 15, MinBitrate: 150, MaxBitrate: 600,
		Loop: true, StatsInterval: -1}
}

// connect places a call of type ct from a to b (once both are idle) and
// waits until b accepted.
func connect(ctx context.Context, t *testing.T, a, b *call.Engine, ct protocol.CallType) {
	t.Helper()
	poll(t, "both idle", func() bool { return a.State() == protocol.StateIdle && b.State() == protocol.StateIdle })
	if _, err := a.Call(ctx, b.Account(), ct, nil); err != nil {
		t.Fatal(err)
	}
	inv := waitEvent(t, b, protocol.EvInvited).Data.(protocol.Invite)
	if err := b.Accept(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, protocol.EvUserAccept)
}

// source classifies the callee's newest decoded picture: "pattern" (its
// frame counter reads back), "clip" (the grey clip's size and luma) or "".
func source(e *call.Engine) string {
	img, _ := e.RemoteVideoFrame()
	if img == nil {
		return ""
	}
	if _, ok := videosrc.ReadCounter(img); ok && img.Bounds().Size() == (image.Point{X: patW, Y: patH}) {
		return "pattern"
	}
	if img.Bounds().Size() == (image.Point{X: clipW, Y: clipH}) {
		if m := meanLuma(img); m > clipLuma-8 && m < clipLuma+8 {
			return "clip"
		}
	}
	return ""
}

func meanLuma(img *image.YCbCr) float64 {
	b := img.Bounds()
	var sum int
	for y := range b.Dy() {
		for _, v := range img.Y[y*img.YStride : y*img.YStride+b.Dx()] {
			sum += int(v)
		}
	}
	return float64(sum) / float64(b.Dx()*b.Dy())
}

// waitSource polls until the callee shows want (its decoded pictures are
// replaced at the frame rate, so a stale picture ages out in a few frames).
func waitSource(t *testing.T, e *call.Engine, want string) {
	t.Helper()
	poll(t, "the callee's picture is the "+want, func() bool { return source(e) == want })
}

// TestSwitchCamera: a video call whose caller has the cameras [testsrc,
// a camera that does not exist, a Y4M clip]. SwitchCamera skips the missing
// camera with a MEDIA_WARNING and sends the clip, the callee's picture
// changes without renegotiation; switching again comes back to the test
// pattern; the next call starts on the camera chosen last.
func TestSwitchCamera(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := servertest.Start(t, nil)
	clip := writeClip(t)
	alice, _ := testLogin(ctx, t, srv, "alice", call.Config{Media: switchMedia(call.SourceTestsrc, "no-such-camera", clip)})
	bob, _ := testLogin(ctx, t, srv, "bob", call.Config{Media: switchMedia()})

	if alice.SwitchCamera() {
		t.Fatal("SwitchCamera true with no call")
	}
	connect(ctx, t, alice, bob, protocol.CallVideo)
	waitSource(t, bob, "pattern")
	waitSource(t, alice, "pattern") // bob sends the pattern too

	t0 := time.Now()
	if !alice.SwitchCamera() {
		t.Fatal("SwitchCamera false with two more cameras configured")
	}
	ev := waitEvent(t, alice, call.EvMediaWarning)
	if w := ev.Data.(call.MediaWarning); w.Kind != "video" || !w.Switching {
		t.Errorf("warning for the missing camera: %+v, want kind video, switching", w)
	}
	waitSource(t, bob, "clip")
	t.Logf("the callee shows the clip %v after the switch", time.Since(t0))

	// bob has one camera: nothing to switch to, his picture goes on.
	if bob.SwitchCamera() {
		t.Error("SwitchCamera true with a single camera")
	}

	// With the camera off there is nothing to switch.
	alice.EnableCamera(false)
	if alice.SwitchCamera() {
		t.Error("SwitchCamera true with the camera off")
	}
	alice.EnableCamera(true)

	t0 = time.Now()
	if !alice.SwitchCamera() {
		t.Fatal("switching back failed")
	}
	waitSource(t, bob, "pattern")
	t.Logf("the callee shows the pattern again %v after the switch", time.Since(t0))
	// Rapid switches end on the clip (the missing camera warns each time).
	for range 3 {
		if !alice.SwitchCamera() {
			t.Fatal("a rapid switch failed")
		}
	}
	waitSource(t, bob, "clip")
	for _, e := range []*call.Engine{alice, bob} {
		if st := e.State(); st != protocol.StateInCall {
			t.Fatalf("%s is %s after the switches", e.Account(), st)
		}
	}

	// Video → audio → video in the call reopens the camera switched to.
	if err := alice.SwitchCallType(ctx, protocol.CallAudio, ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, protocol.EvCallTypeChange)
	if err := alice.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatal(err)
	}
	_, seq := bob.RemoteVideoFrame()
	if err := bob.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchAgree); err != nil {
		t.Fatal(err)
	}
	poll(t, "new pictures after video came back", func() bool { _, s := bob.RemoteVideoFrame(); return s > seq+5 })
	waitSource(t, bob, "clip")

	// The engine keeps the choice: the next call starts on the clip.
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	connect(ctx, t, alice, bob, protocol.CallVideo)
	waitSource(t, bob, "clip")
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSwitchCameraRefused: SwitchCamera reports false in an audio call, and
// in a video call whose only other camera cannot be opened (with a
// MEDIA_WARNING; the picture goes on).
func TestSwitchCameraRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := servertest.Start(t, nil)
	alice, _ := testLogin(ctx, t, srv, "alice", call.Config{Media: switchMedia(call.SourceTestsrc, "no-such-camera")})
	bob, _ := testLogin(ctx, t, srv, "bob", call.Config{Media: switchMedia()})

	connect(ctx, t, alice, bob, protocol.CallAudio)
	if alice.SwitchCamera() {
		t.Error("SwitchCamera true in an audio call")
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}

	connect(ctx, t, alice, bob, protocol.CallVideo)
	waitSource(t, bob, "pattern")
	if alice.SwitchCamera() {
		t.Error("SwitchCamera true when the other camera cannot be opened")
	}
	if w := waitEvent(t, alice, call.EvMediaWarning).Data.(call.MediaWarning); w.Kind != "video" || !w.Switching {
		t.Errorf("warning %+v, want kind video, switching", w)
	}
	_, seq := bob.RemoteVideoFrame()
	poll(t, "the pattern goes on", func() bool {
		_, s := bob.RemoteVideoFrame()
		return s > seq+3 && source(bob) == "pattern"
	})
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
