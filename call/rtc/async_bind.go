package rtc

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/mediadevices"
	"github.com/pion/webrtc/v4"
)

// asyncBindTrack binds a mediadevices track to its sender off pion's
// negotiation path.
//
// pion binds a sender's track inside SetRemoteDescription (offerer) or
// SetLocalDescription (answerer), before it starts ICE (offerer) or
// gathering (answerer). mediadevices' Bind waits there for the source's
// next frame (up to a frame interval: 20 ms of audio, 33 ms of video at
// 30 fps) to learn its properties, then builds the encoder: every call's
// setup paid both, once per track, before the first ICE check. This
// wrapper answers Bind at once with the codec it will use and runs the
// real Bind on a goroutine; packets written before DTLS is up are lost
// either way (the session forces a keyframe once connected).
type asyncBindTrack struct {
	mediadevices.Track
	mime      string // the codec the selector encodes, e.g. video/VP8
	log       *slog.Logger
	connected *atomic.Bool // the session's transport is up (connect_replay.go)
	// red, for the audio track, sends RED when the peer negotiated it
	// (audio_red.go); nil never does.
	red *redControl

	mu    sync.Mutex
	binds map[string]*asyncBind // by TrackLocalContext.ID
}

type asyncBind struct {
	done   chan struct{}
	err    error
	writer *replayWriter
}

func newAsyncBindTrack(t mediadevices.Track, mime string, connected *atomic.Bool, log *slog.Logger) *asyncBindTrack {
	return &asyncBindTrack{Track: t, mime: mime, log: log, connected: connected, binds: map[string]*asyncBind{}}
}

// replay sends what each binding kept while the transport was not up and
// returns the number of packets.
func (t *asyncBindTrack) replay() int {
	t.mu.Lock()
	writers := make([]*replayWriter, 0, len(t.binds))
	for _, b := range t.binds {
		writers = append(writers, b.writer)
	}
	t.mu.Unlock()
	n := 0
	for _, w := range writers {
		n += w.replay()
	}
	return n
}

// Bind picks the negotiated codec matching the encoder and binds the
// underlying track to it asynchronously.
func (t *asyncBindTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var chosen *webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, t.mime) {
			chosen = &c
			break
		}
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, errors.New("bind " + t.Kind().String() + " track: the peer did not accept " + t.mime)
	}
	b := &asyncBind{done: make(chan struct{}),
		writer: newReplayWriter(ctx.WriteStream(), t.Kind() == webrtc.RTPCodecTypeVideo, t.connected)}
	t.mu.Lock()
	t.binds[ctx.ID()] = b
	t.mu.Unlock()
	bound := *chosen
	var w webrtc.TrackLocalWriter = b.writer
	if t.red != nil {
		rc, ok := redFor(ctx.CodecParameters(), chosen.PayloadType)
		t.red.bound(ok)
		if ok {
			// pion sends what Bind reports; mediadevices still encodes Opus.
			bound = rc
			w = &redWriter{next: b.writer, pt: uint8(rc.PayloadType), ctl: t.red}
		}
	}
	only := onlyCodec{TrackLocalContext: ctx, codec: *chosen, writer: w}
	go func() {
		defer close(b.done)
		got, err := t.Track.Bind(only)
		if err == nil && got.PayloadType != chosen.PayloadType {
			err = errors.New("bound codec " + got.MimeType + " differs from " + chosen.MimeType)
		}
		if err != nil {
			b.err = err
			t.log.Warn("media track bind failed; this track sends nothing", "kind", t.Kind().String(), "err", err)
		}
	}()
	return bound, nil
}

// Unbind waits for the pending Bind of ctx, then unbinds the underlying
// track if that Bind succeeded.
func (t *asyncBindTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	b := t.binds[ctx.ID()]
	delete(t.binds, ctx.ID())
	t.mu.Unlock()
	if b == nil {
		return t.Track.Unbind(ctx)
	}
	<-b.done
	if b.err != nil {
		return nil
	}
	return t.Track.Unbind(ctx)
}

// onlyCodec narrows a bind context to one codec, so that mediadevices
// encodes exactly the codec Bind chose, and writes through the binding's
// replayWriter (behind a redWriter when the audio goes as RED).
type onlyCodec struct {
	webrtc.TrackLocalContext
	codec  webrtc.RTPCodecParameters
	writer webrtc.TrackLocalWriter
}

func (o onlyCodec) WriteStream() webrtc.TrackLocalWriter { return o.writer }

func (o onlyCodec) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{o.codec}
}
