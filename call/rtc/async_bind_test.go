package rtc

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/opus"
)

type fakeBindCtx struct {
	webrtc.TrackLocalContext
	codecs []webrtc.RTPCodecParameters
}

func (c fakeBindCtx) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c fakeBindCtx) ID() string                                   { return "ctx1" }
func (c fakeBindCtx) WriteStream() webrtc.TrackLocalWriter         { return nil }

type fakeBindTrack struct {
	mediadevices.Track
	release chan struct{}
	err     error
	seen    chan []webrtc.RTPCodecParameters
	unbound chan struct{}
}

func (t *fakeBindTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

func (t *fakeBindTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	t.seen <- ctx.CodecParameters()
	<-t.release
	if t.err != nil {
		return webrtc.RTPCodecParameters{}, t.err
	}
	return ctx.CodecParameters()[0], nil
}

func (t *fakeBindTrack) Unbind(webrtc.TrackLocalContext) error {
	close(t.unbound)
	return nil
}

func bindCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/rtx"}, PayloadType: 97},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, PayloadType: 96},
	}
}

func TestAsyncBindReturnsBeforeTheSourceIsReady(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	inner := &fakeBindTrack{release: make(chan struct{}), seen: make(chan []webrtc.RTPCodecParameters, 1), unbound: make(chan struct{})}
	tr := newAsyncBindTrack(inner, "video/vp8", new(atomic.Bool), log)
	ctx := fakeBindCtx{codecs: bindCodecs()}

	got, err := tr.Bind(ctx) // the inner Bind is still blocked
	if err != nil {
		t.Fatal(err)
	}
	if got.PayloadType != 96 {
		t.Fatalf("bound payload type %d, want 96 (VP8)", got.PayloadType)
	}
	if seen := <-inner.seen; len(seen) != 1 || seen[0].PayloadType != 96 {
		t.Fatalf("inner Bind saw codecs %v, want only VP8", seen)
	}

	unbound := make(chan error, 1)
	go func() { unbound <- tr.Unbind(ctx) }()
	select {
	case <-inner.unbound:
		t.Fatal("Unbind reached the track before its Bind finished")
	case <-time.After(20 * time.Millisecond):
	}
	close(inner.release)
	if err := <-unbound; err != nil {
		t.Fatal(err)
	}
	<-inner.unbound
}

func TestAsyncBindFailures(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	inner := &fakeBindTrack{release: make(chan struct{}), seen: make(chan []webrtc.RTPCodecParameters, 1), unbound: make(chan struct{}), err: errors.New("no frame")}
	tr := newAsyncBindTrack(inner, "video/H264", new(atomic.Bool), log)
	if _, err := tr.Bind(fakeBindCtx{codecs: bindCodecs()}); err == nil {
		t.Fatal("Bind accepted a context without the encoder's codec")
	}

	tr = newAsyncBindTrack(inner, webrtc.MimeTypeVP8, new(atomic.Bool), log)
	ctx := fakeBindCtx{codecs: bindCodecs()}
	if _, err := tr.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	<-inner.seen
	close(inner.release)
	if err := tr.Unbind(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inner.unbound:
		t.Fatal("Unbind reached a track whose Bind failed")
	default:
	}
}

// failingWriteCtx is a bind context whose writes fail once stopped, as
// pion's do after RTPSender.Stop, which unbinds right after.
type failingWriteCtx struct {
	fakeBindCtx
	stopped *atomic.Bool
}

func (c failingWriteCtx) SSRC() webrtc.SSRC                    { return 1234 }
func (c failingWriteCtx) WriteStream() webrtc.TrackLocalWriter { return stoppableWriter{c.stopped} }

type stoppableWriter struct{ stopped *atomic.Bool }

func (w stoppableWriter) WriteRTP(*rtp.Header, []byte) (int, error) {
	if w.stopped.Load() {
		return 0, io.ErrClosedPipe
	}
	return 0, nil
}
func (w stoppableWriter) Write([]byte) (int, error) { return 0, nil }

// TestUnbindAfterWritesFail: mediadevices ends a track's send loop on a
// write error, and an Unbind racing with that end waited forever for the
// loop (pion stops a sender, whose writes then fail, and unbinds it right
// after: Engine.Close hung). Writes through the bind context never fail,
// so the loop always ends through Unbind.
func TestUnbindAfterWritesFail(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	enc := &opus.EncoderBuilder{EncoderOptions: opus.EncoderOptions{Bitrate: 32000, Complexity: 1}}
	sel := mediadevices.NewCodecSelector(mediadevices.WithAudioEncoders(enc))
	codecs := []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}}
	for i := range 20 {
		src := audiosrc.NewSilence(audiosrc.Options{Chunk: 2 * time.Millisecond, ID: "silence"})
		mic := &micSource{id: src.ID(), read: src.Read, close: src.Close, muted: new(atomic.Bool)}
		track := mediadevices.NewAudioTrack(mic, sel)
		tr := newAsyncBindTrack(track, webrtc.MimeTypeOpus, new(atomic.Bool), log)
		var stopped atomic.Bool
		ctx := failingWriteCtx{fakeBindCtx{codecs: codecs}, &stopped}
		if _, err := tr.Bind(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		stopped.Store(true)
		time.Sleep(time.Duration(i%3) * time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- tr.Unbind(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Unbind still waiting after 5 s", i)
		}
		_ = track.Close()
	}
}
