package call

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/webrtc/v4"
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
