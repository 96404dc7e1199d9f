// Package vp8 is a VP8 encoder and decoder on libvpx (cgo, pkg-config vpx).
//
// The encoder plugs into pion/mediadevices as a codec.VideoEncoderBuilder, so a
// mediadevices.CodecSelector can use it in place of mediadevices' own vpx
// encoder. It differs from that one where CPU and latency matter for a call:
// libvpx's realtime speed (VP8E_SET_CPUUSED) is set, the configuration is
// applied once and again only when the bitrate or the picture size changes,
// a resolution change destroys the old libvpx context instead of leaking it,
// and the controllers (SetBitRate, ForceKeyFrame) never wait for the next
// captured frame.
//
// It also adapts to the network on its own: the target bitrate picks a rung
// of a resolution/frame-rate ladder (ladder.go) with hysteresis, frames are
// scaled and decimated to it before encoding, nothing is sent below the
// lowest rung (suspension), requested keyframes are spaced and size-capped,
// and frames are skipped while the pacer's queue is over its budget.
package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

// spEnc keeps the libvpx context, its configuration and the output buffer in C
// memory: libvpx keeps internal pointers to the context, so it must not move.
typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	int live;
	unsigned char *out;
	size_t out_len;
	size_t out_cap;
	int out_key;
} spEnc;

typedef struct {
	int w, h;
	int kbps;
	int threads;
	int cpu_used;
	int kf_max;
	int min_q, max_q;
	int undershoot, overshoot;
	int buf_ms, buf_init_ms, buf_opt_ms;
	int max_intra_pct;
	int static_thresh;
	int noise;
	int fps;
	int drop_thresh;
} spEncParams;

static spEnc *sp_enc_new(void) { return (spEnc *)calloc(1, sizeof(spEnc)); }

static void sp_enc_destroy(spEnc *e) {
	if (e->live) {
		vpx_codec_destroy(&e->ctx);
		e->live = 0;
	}
}

static void sp_enc_free(spEnc *e) {
	if (e == NULL) return;
	sp_enc_destroy(e);
	free(e->out);
	free(e);
}

static const char *sp_enc_error(spEnc *e) {
	const char *d = e->live ? vpx_codec_error_detail(&e->ctx) : NULL;
	return d != NULL ? d : "";
}

// sp_enc_init (re)creates the encoder for the given parameters. An existing
// context is destroyed first so a resolution change does not leak it.
static vpx_codec_err_t sp_enc_init(spEnc *e, const spEncParams *p) {
	vpx_codec_err_t err;
	sp_enc_destroy(e);
	err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return err;

	e->cfg.g_w = p->w;
	e->cfg.g_h = p->h;
	e->cfg.g_threads = p->threads;
	e->cfg.g_timebase.num = 1;
	e->cfg.g_timebase.den = 1000000; // pts in microseconds
	e->cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	e->cfg.g_pass = VPX_RC_ONE_PASS;
	e->cfg.g_lag_in_frames = 0;
	e->cfg.rc_dropframe_thresh = p->drop_thresh;
	e->cfg.rc_resize_allowed = 0;
	e->cfg.rc_end_usage = VPX_CBR;
	e->cfg.rc_target_bitrate = p->kbps;
	e->cfg.rc_min_quantizer = p->min_q;
	e->cfg.rc_max_quantizer = p->max_q;
	e->cfg.rc_undershoot_pct = p->undershoot;
	e->cfg.rc_overshoot_pct = p->overshoot;
	e->cfg.rc_buf_sz = p->buf_ms;
	e->cfg.rc_buf_initial_sz = p->buf_init_ms;
	e->cfg.rc_buf_optimal_sz = p->buf_opt_ms;
	e->cfg.kf_mode = VPX_KF_AUTO;
	e->cfg.kf_min_dist = 0;
	e->cfg.kf_max_dist = p->kf_max;

	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	e->live = 1;

	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, p->cpu_used)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, (unsigned int)p->static_thresh)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, (unsigned int)p->noise)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, (unsigned int)p->max_intra_pct)) != VPX_CODEC_OK) goto fail;
	return VPX_CODEC_OK;
fail:
	sp_enc_destroy(e);
	return err;
}

// sp_enc_reconfig applies a new bitrate and picture size in one
// configuration change. libvpx accepts any size up to the one the context
// was created with (one pass, no lag), so the ladder never rebuilds it.
static vpx_codec_err_t sp_enc_reconfig(spEnc *e, int w, int h, int kbps) {
	e->cfg.g_w = w;
	e->cfg.g_h = h;
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

static vpx_codec_err_t sp_enc_set_max_intra(spEnc *e, int pct) {
	return vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, (unsigned int)pct);
}

// sp_enc_encode encodes one I420 picture whose planes live in Go memory. libvpx
// copies the picture into its own lookahead buffer, so nothing keeps the Go
// pointers after the call. The compressed frame is left in e->out.
static vpx_codec_err_t sp_enc_encode(spEnc *e, unsigned char *y, unsigned char *u, unsigned char *v,
                                     int ystride, int cstride, long long pts, unsigned long dur, long flags) {
	vpx_image_t img;
	vpx_codec_err_t err;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;

	vpx_img_wrap(&img, VPX_IMG_FMT_I420, e->cfg.g_w, e->cfg.g_h, 1, y);
	img.planes[VPX_PLANE_Y] = y;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = ystride;
	img.stride[VPX_PLANE_U] = cstride;
	img.stride[VPX_PLANE_V] = cstride;

	e->out_len = 0;
	e->out_key = 0;
	err = vpx_codec_encode(&e->ctx, &img, (vpx_codec_pts_t)pts, dur, (vpx_enc_frame_flags_t)flags, VPX_DL_REALTIME);
	if (err != VPX_CODEC_OK) return err;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		size_t need = e->out_len + pkt->data.frame.sz;
		if (need > e->out_cap) {
			size_t cap = e->out_cap ? e->out_cap : 65536;
			while (cap < need) cap *= 2;
			unsigned char *n = (unsigned char *)realloc(e->out, cap);
			if (n == NULL) return VPX_CODEC_MEM_ERROR;
			e->out = n;
			e->out_cap = cap;
		}
		memcpy(e->out + e->out_len, pkt->data.frame.buf, pkt->data.frame.sz);
		e->out_len = need;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) e->out_key = 1;
	}
	return VPX_CODEC_OK;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"time"
	"unsafe"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// Defaults used by NewParams and for zero fields of Params.
const (
	// DefaultCPUUsed is libvpx's fastest realtime speed, as baresip uses.
	// Measured at 640×360, 300 kbps (BenchmarkSpeed): 1.1 ms/frame against
	// 1.6 ms for -6 (Chrome's desktop choice) at the same PSNR; 4..12 are
	// slower still because libvpx then lowers the speed while frames fit the
	// frame interval.
	DefaultCPUUsed = 16
	// DefaultBitRate is the start bitrate in bps before congestion control speaks.
	DefaultBitRate = 300_000
	// DefaultKeyFrameInterval is long on purpose: receivers ask for keyframes
	// with PLI/FIR, periodic ones only waste bits (WebRTC uses the same value).
	DefaultKeyFrameInterval = 3000
	// DefaultMinKeyFrameInterval throttles requested keyframes as libwebrtc
	// does (kMinKeyframeSendIntervalMs): a burst of PLIs from a receiver
	// that keeps losing packets costs one keyframe per interval, not one
	// per request. A request inside the interval is kept and served when
	// it ends.
	DefaultMinKeyFrameInterval = 300 * time.Millisecond
	// DefaultMaxBacklog is how much paced-but-unsent video may wait before
	// the encoder skips frames instead of adding to it.
	DefaultMaxBacklog = 150 * time.Millisecond
	// DefaultDropFrameThreshold lets libvpx's rate control skip a frame when
	// its buffer model runs below 30 % (WebRTC's value), so a target below
	// the content's needs costs frame rate, not a growing overshoot.
	DefaultDropFrameThreshold = 30
	defaultMaxIntraPct        = 300
)

// Params configures the encoder. Start from NewParams; BitRate,
// KeyFrameInterval, Threads and the quantizer / buffer fields fall back to
// defaults when zero. CPUUsed is used as is (0 is a valid libvpx speed).
type Params struct {
	codec.BaseParams // BitRate in bps, KeyFrameInterval in frames

	// CPUUsed is VP8E_SET_CPUUSED, -16..16. Higher is faster; positive values let
	// libvpx raise the speed further when a frame takes too long for the frame rate.
	CPUUsed int
	// Threads for libvpx; 1 is the most CPU-efficient at call resolutions.
	Threads int
	// Quantizer range, 0..63.
	MinQuantizer, MaxQuantizer int
	// Rate control tolerance in percent of the target.
	UndershootPct, OvershootPct int
	// Decoder buffer model in ms (rc_buf_sz, rc_buf_initial_sz, rc_buf_optimal_sz).
	BufferMs, BufferInitialMs, BufferOptimalMs int
	// MaxIntraBitratePct caps a keyframe's size in percent of an average frame so
	// a PLI-triggered keyframe does not burst the link (default 300).
	MaxIntraBitratePct int
	// StaticThreshold skips encoding of macroblocks that barely change.
	StaticThreshold int
	// NoiseSensitivity enables libvpx's temporal denoiser (0 off .. 6); it costs CPU.
	NoiseSensitivity int
	// DropFrameThreshold is rc_dropframe_thresh: libvpx skips a frame when
	// its buffer model falls below this percentage (0: never).
	DropFrameThreshold int

	// Adapt walks the resolution/frame-rate ladder (NewLadder) with the
	// target bitrate: frames are scaled and decimated to the rung the
	// target carries, and below SuspendKbps nothing is sent. Without it
	// every captured frame is encoded at its own size.
	Adapt bool
	// MinKeyFrameInterval spaces requested keyframes (ForceKeyFrame).
	MinKeyFrameInterval time.Duration
	// Backlog, when set, reports how long the video already handed to the
	// network waits to be sent (the pacer's queue); while it exceeds
	// MaxBacklog captured frames are skipped before encoding, so the queue
	// never holds seconds of video and the stream stays decodable.
	Backlog    func() time.Duration
	MaxBacklog time.Duration
}

// NewParams returns the realtime-call defaults.
func NewParams() Params {
	return Params{
		BaseParams: codec.BaseParams{
			BitRate:          DefaultBitRate,
			KeyFrameInterval: DefaultKeyFrameInterval,
		},
		CPUUsed:       DefaultCPUUsed,
		Threads:       1,
		MinQuantizer:  2,
		MaxQuantizer:  56,
		UndershootPct: 100,
		OvershootPct:  15,
		// A shorter buffer model than WebRTC's 1000/500/600 ms: after the
		// target drops, libvpx spends what the buffer holds above its
		// optimum, and with 1 s that overshot the new target by 20–30 %
		// over the next two seconds (TestRateFollowsTarget).
		BufferMs:            600,
		BufferInitialMs:     400,
		BufferOptimalMs:     500,
		StaticThreshold:     1,
		DropFrameThreshold:  DefaultDropFrameThreshold,
		Adapt:               true,
		MinKeyFrameInterval: DefaultMinKeyFrameInterval,
		MaxBacklog:          DefaultMaxBacklog,
	}
}

// RTPCodec returns VP8 with payload type 96, the number mediadevices and
// webrtc's default codecs use, so both ends negotiate it without remapping.
func (p *Params) RTPCodec() *codec.RTPCodec {
	return codec.NewRTPVP8Codec(90000)
}

// BuildVideoEncoder builds an encoder reading frames from r. Frames that are
// not I420 are converted with video.ToI420. The libvpx context is created for
// property's size when given, else on the first frame, and recreated whenever
// the captured frame size changes; ladder steps reconfigure it in place.
func (p *Params) BuildVideoEncoder(r video.Reader, property prop.Media) (codec.ReadCloser, error) {
	params := p.withDefaults()
	if params.CPUUsed < -16 || params.CPUUsed > 16 {
		return nil, fmt.Errorf("vp8: CPUUsed %d out of range -16..16", params.CPUUsed)
	}
	if params.MinQuantizer > params.MaxQuantizer || params.MaxQuantizer > 63 {
		return nil, fmt.Errorf("vp8: quantizer range %d..%d invalid", params.MinQuantizer, params.MaxQuantizer)
	}
	if params.DropFrameThreshold < 0 || params.DropFrameThreshold > 100 {
		return nil, fmt.Errorf("vp8: DropFrameThreshold %d out of range 0..100", params.DropFrameThreshold)
	}
	c := C.sp_enc_new()
	if c == nil {
		return nil, errors.New("vp8: out of memory")
	}
	e := &Encoder{
		src:     video.ToI420(r),
		params:  params,
		c:       c,
		bitrate: params.BitRate,
		fps:     float64(property.FrameRate),
		now:     time.Now,
	}
	if e.fps <= 0 {
		e.fps = 30
	}
	if property.Width > 0 && property.Height > 0 {
		if err := e.init(property.Width, property.Height); err != nil {
			C.sp_enc_free(c)
			return nil, err
		}
	}
	return e, nil
}

func (p *Params) withDefaults() Params {
	d := NewParams()
	q := *p
	if q.BitRate <= 0 {
		q.BitRate = d.BitRate
	}
	if q.KeyFrameInterval <= 0 {
		q.KeyFrameInterval = d.KeyFrameInterval
	}
	if q.Threads <= 0 {
		q.Threads = d.Threads
	}
	if q.MaxQuantizer <= 0 {
		q.MinQuantizer, q.MaxQuantizer = d.MinQuantizer, d.MaxQuantizer
	}
	if q.UndershootPct <= 0 {
		q.UndershootPct = d.UndershootPct
	}
	if q.OvershootPct <= 0 {
		q.OvershootPct = d.OvershootPct
	}
	if q.BufferMs <= 0 || q.BufferInitialMs <= 0 || q.BufferOptimalMs <= 0 {
		q.BufferMs, q.BufferInitialMs, q.BufferOptimalMs = d.BufferMs, d.BufferInitialMs, d.BufferOptimalMs
	}
	if q.MaxBacklog <= 0 {
		q.MaxBacklog = d.MaxBacklog
	}
	return q
}

// Stats describe what the encoder sends. Counters are cumulative.
type Stats struct {
	Width, Height int     // size of the last encoded frame
	FPS           float64 // frame rate of the current ladder rung (the capture rate without Adapt)
	TargetBps     int     // the bitrate asked for with SetBitRate
	Suspended     bool    // the target is too low for any rung: nothing is sent
	Frames        uint64  // frames encoded and returned
	KeyFrames     uint64
	Bytes         uint64
	Skipped       uint64 // captured frames left out by the ladder's frame rate
	Dropped       uint64 // captured frames skipped for the pacer's backlog
	RateDropped   uint64 // frames libvpx's rate control chose not to code
}

// Encoder is the VP8 encoder: a codec.ReadCloser, codec.BitRateController
// and codec.KeyFrameController.
//
// Locking: mu guards the libvpx context and the pending controls. Read waits
// for the next frame from the source without holding mu, so SetBitRate,
// ForceKeyFrame and Close return at once even while the source blocks; they
// take effect on the next encoded frame.
type Encoder struct {
	src    video.Reader
	params Params
	fps    float64          // capture frame rate
	now    func() time.Time // replaced in tests for reproducible rate control

	mu           sync.Mutex
	c            *C.spEnc
	closed       bool
	initW, initH int // the size the libvpx context was created with (its maximum)
	w, h         int // the size it encodes now
	bitrate      int // requested, bps
	appliedKbps  int // configured in libvpx
	appliedIntra int
	forceKey     bool
	keyNow       bool // forceKey, past the throttle
	lastKey      time.Time
	lastPTS      int64     // µs
	lastFrame    time.Time // wall-clock time of the last frame given to libvpx
	interval     float64   // smoothed wall-clock frame interval, µs
	nominalFPS   float64   // the frame rate interval was last reset to

	// The ladder (Params.Adapt): built for the captured size inW×inH.
	lad       ladder
	inW, inH  int
	suspended bool
	due       time.Time // when the rung's frame rate takes the next frame
	sc        *scaler
	sent      rateWindow
	stats     Stats
}

var errClosed = io.EOF

// Read returns the next encoded VP8 frame. The returned slice is owned by the
// caller. A captured frame the ladder, the backlog or rate control leave out
// (and every frame while suspended) reads as an empty frame, which
// mediadevices packetizes to nothing: Read must come back once per captured
// frame, because mediadevices checks between reads whether the track is
// being unbound, and a Read that looped until the next coded frame held a
// suspended call's hang-up forever.
func (e *Encoder) Read() ([]byte, func(), error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, func() {}, errClosed
	}
	img, release, err := e.src.Read()
	if err != nil {
		return nil, func() {}, err
	}
	yuv, ok := img.(*image.YCbCr)
	if !ok || yuv.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		release()
		return nil, func() {}, fmt.Errorf("vp8: source produced %T, want I420 *image.YCbCr", img)
	}
	out, err := e.encode(yuv)
	release()
	if err != nil {
		return nil, func() {}, err
	}
	return out, func() {}, nil
}

// maxIntraPct is the keyframe cap. WebRTC allows half its optimal buffer
// (7.5–9 frames at 24–30 fps); on a 300 kbit/s link that keyframe is
// 300 ms of the link's time, a queue audio waits in and, behind a 200 ms
// drop-tail buffer, drops. Three frames (WebRTC's floor) keep it at about
// 100 ms; the frames after it mend the quality.
func (e *Encoder) maxIntraPct(float64) int {
	if e.params.MaxIntraBitratePct > 0 {
		return e.params.MaxIntraBitratePct
	}
	return defaultMaxIntraPct
}

// init (re)creates the libvpx context for frames of w×h. mu is held.
func (e *Encoder) init(w, h int) error {
	fps := int(e.fps + 0.5)
	intra := e.maxIntraPct(e.fps)
	p := C.spEncParams{
		w: C.int(w), h: C.int(h),
		kbps:          C.int(max(1, e.bitrate/1000)),
		threads:       C.int(e.params.Threads),
		cpu_used:      C.int(e.params.CPUUsed),
		kf_max:        C.int(e.params.KeyFrameInterval),
		min_q:         C.int(e.params.MinQuantizer),
		max_q:         C.int(e.params.MaxQuantizer),
		undershoot:    C.int(e.params.UndershootPct),
		overshoot:     C.int(e.params.OvershootPct),
		buf_ms:        C.int(e.params.BufferMs),
		buf_init_ms:   C.int(e.params.BufferInitialMs),
		buf_opt_ms:    C.int(e.params.BufferOptimalMs),
		max_intra_pct: C.int(intra),
		static_thresh: C.int(e.params.StaticThreshold),
		noise:         C.int(e.params.NoiseSensitivity),
		fps:           C.int(fps),
		drop_thresh:   C.int(e.params.DropFrameThreshold),
	}
	if err := C.sp_enc_init(e.c, &p); err != C.VPX_CODEC_OK {
		e.w, e.h, e.initW, e.initH = 0, 0, 0, 0
		return fmt.Errorf("vp8: init encoder %dx%d: %s", w, h, C.GoString(C.vpx_codec_err_to_string(err)))
	}
	e.w, e.h, e.initW, e.initH = w, h, w, h
	e.appliedKbps = int(p.kbps)
	e.appliedIntra = intra
	e.forceKey = false // a fresh context starts with a keyframe anyway
	return nil
}

// configure brings the libvpx context to w×h (at most the size it was made
// for) at the requested bitrate: one configuration change when either
// differs, never one per frame. It reports whether the size changed (the
// frame must then be a keyframe). mu is held.
func (e *Encoder) configure(w, h int) (bool, error) {
	kbps := max(1, e.bitrate/1000)
	resized := w != e.w || h != e.h
	if resized || kbps != e.appliedKbps {
		if err := C.sp_enc_reconfig(e.c, C.int(w), C.int(h), C.int(kbps)); err != C.VPX_CODEC_OK {
			return false, fmt.Errorf("vp8: configure %dx%d at %d kbps: %s", w, h, kbps, C.GoString(C.sp_enc_error(e.c)))
		}
		e.w, e.h, e.appliedKbps = w, h, kbps
	}
	return resized, nil
}

// adapt runs the ladder for a captured frame at now and returns the size
// to encode it at, or ok false when the frame is left out (suspended, or
// not due at the rung's frame rate). mu is held.
func (e *Encoder) adapt(now time.Time, w, h int) (tw, th int, ok bool) {
	if !e.params.Adapt {
		e.stats.FPS = e.fps
		return w, h, true
	}
	if w != e.inW || h != e.inH || e.lad.rungs == nil {
		e.lad = ladder{rungs: NewLadder(w, h, e.fps)}
		e.inW, e.inH = w, h
		// Start on the rung the start bitrate carries, not at the top.
		for e.lad.cur < len(e.lad.rungs)-1 && e.bitrate/1000 < e.lad.rungs[e.lad.cur].MinKbps {
			e.lad.cur++
		}
	}
	i, susp := e.lad.update(now, e.bitrate/1000, e.sent.kbps(now))
	if susp {
		e.suspended = true
		e.stats.Suspended = true
		return 0, 0, false
	}
	if e.suspended {
		// The receiver has seen nothing for a while: start a fresh picture.
		e.suspended, e.forceKey = false, true
		e.stats.Suspended = false
		e.due = time.Time{}
	}
	r := e.lad.rungs[i]
	e.stats.FPS = r.FPS
	if r.FPS < e.fps {
		interval := time.Duration(float64(time.Second) / r.FPS)
		slack := time.Duration(float64(time.Second) / e.fps / 2)
		if !e.due.IsZero() && now.Before(e.due.Add(-slack)) {
			e.stats.Skipped++
			return 0, 0, false
		}
		e.due = e.due.Add(interval)
		if now.Sub(e.due) > interval || e.due.Before(now.Add(-slack)) {
			e.due = now.Add(interval) // first frame, or a stall: restart the cadence
		}
	}
	return r.Width, r.Height, true
}

func (e *Encoder) encode(img *image.YCbCr) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 || w > 16383 || h > 16383 {
		return nil, fmt.Errorf("vp8: frame size %dx%d unsupported", w, h)
	}
	now := e.now()
	tw, th, ok := e.adapt(now, w, h)
	if !ok {
		return nil, nil
	}
	if e.params.Backlog != nil && e.params.Backlog() > e.params.MaxBacklog {
		e.stats.Dropped++
		return nil, nil
	}
	if w != e.initW || h != e.initH || tw*th > e.w*e.h {
		// A new capture size (or the first frame): a context made for it,
		// which every ladder rung then fits in. A step up the ladder also
		// starts afresh: libvpx reconfigured to a larger picture keeps the
		// quantizer of the smaller one and overshot the target by 20–30 %
		// for two seconds; a new context starts from its buffer model.
		if err := e.init(w, h); err != nil {
			return nil, err
		}
	}
	resized, err := e.configure(tw, th)
	if err != nil {
		return nil, err
	}
	if intra := e.maxIntraPct(e.stats.FPS); intra != e.appliedIntra {
		if err := C.sp_enc_set_max_intra(e.c, C.int(intra)); err != C.VPX_CODEC_OK {
			return nil, fmt.Errorf("vp8: keyframe cap %d%%: %s", intra, C.GoString(C.sp_enc_error(e.c)))
		}
		e.appliedIntra = intra
	}
	pic := img
	if tw != w || th != h {
		if !e.sc.fits(w, h, tw, th) {
			e.sc = newScaler(w, h, tw, th)
		}
		pic = e.sc.scale(img)
	}

	dur := e.frameDuration(now)
	pts := e.lastPTS + dur
	var flags C.long
	if resized || e.keyNow || e.forceKey && (e.lastKey.IsZero() || now.Sub(e.lastKey) >= e.params.MinKeyFrameInterval) {
		flags |= C.VPX_EFLAG_FORCE_KF
	}
	// Crop to the image rectangle: Y/Cb/Cr may start at an offset.
	y := pic.Y[pic.YOffset(pic.Rect.Min.X, pic.Rect.Min.Y):]
	co := pic.COffset(pic.Rect.Min.X, pic.Rect.Min.Y)
	cb, cr := pic.Cb[co:], pic.Cr[co:]
	cneed := ((th+1)/2-1)*pic.CStride + (tw+1)/2
	if len(y) < (th-1)*pic.YStride+tw || len(cb) < cneed || len(cr) < cneed {
		return nil, errors.New("vp8: image planes shorter than its rectangle")
	}
	if err := C.sp_enc_encode(e.c,
		(*C.uchar)(unsafe.Pointer(&y[0])), (*C.uchar)(unsafe.Pointer(&cb[0])), (*C.uchar)(unsafe.Pointer(&cr[0])),
		C.int(pic.YStride), C.int(pic.CStride), C.longlong(pts), C.ulong(dur), flags); err != C.VPX_CODEC_OK {
		return nil, fmt.Errorf("vp8: encode: %s: %s", C.GoString(C.vpx_codec_err_to_string(err)), C.GoString(C.sp_enc_error(e.c)))
	}
	e.lastPTS = pts
	n := int(e.c.out_len)
	if n == 0 {
		e.stats.RateDropped++
		return nil, nil
	}
	if e.c.out_key != 0 {
		e.forceKey, e.keyNow = false, false
		e.lastKey = now
		e.stats.KeyFrames++
	}
	e.stats.Frames++
	e.stats.Bytes += uint64(n)
	e.stats.Width, e.stats.Height = tw, th
	e.sent.add(now, n)
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(e.c.out)), n))
	return out, nil
}

// frameDuration is the duration, in µs, libvpx is told the frame at now
// lasts. libvpx budgets bits per frame from it and re-derives its frame rate
// in one step whenever a duration differs from the previous one by 10 % or
// more, so the raw wall-clock gaps of a decimated 30 → 24 fps stream
// (33, 33, 33, 67 ms) made its rate control swing from q 56 to q 2 every
// few frames. The smoothed interval follows the real frame rate (a camera
// slower than announced, the ladder's rate) without steps. mu is held.
func (e *Encoder) frameDuration(now time.Time) int64 {
	fps := e.stats.FPS
	if fps <= 0 {
		fps = e.fps
	}
	if fps != e.nominalFPS || e.lastFrame.IsZero() {
		e.nominalFPS = fps
		e.interval = 1e6 / fps
	} else if gap := float64(now.Sub(e.lastFrame).Microseconds()); gap > 0 && gap < 4*e.interval {
		e.interval += 0.05 * (gap - e.interval) // ≈ 20 frames of memory: no 10 % steps
	}
	e.lastFrame = now
	return max(int64(e.interval+0.5), 1)
}

// SetBitRate sets the target bitrate in bps, applied from the next frame
// (one libvpx reconfiguration then, none while it stays the same).
func (e *Encoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("vp8: bitrate %d must be positive", bps)
	}
	e.mu.Lock()
	e.bitrate = bps
	e.mu.Unlock()
	return nil
}

// ForceKeyFrame makes the next encoded frame a keyframe (PLI/FIR handling),
// or the first one after MinKeyFrameInterval since the last keyframe.
func (e *Encoder) ForceKeyFrame() error {
	e.mu.Lock()
	e.forceKey = true
	e.mu.Unlock()
	return nil
}

// KeyFrameNow makes the next encoded frame a keyframe whatever the
// throttle says: for the sender's own reasons (the transport just came up,
// the camera changed), which come once, not in bursts like a receiver's
// requests.
func (e *Encoder) KeyFrameNow() {
	e.mu.Lock()
	e.forceKey, e.keyNow = true, true
	e.mu.Unlock()
}

// Stats returns what the encoder has sent so far and its current picture.
func (e *Encoder) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.TargetBps = e.bitrate
	return s
}

// Controller returns the encoder itself: it is a codec.BitRateController and a
// codec.KeyFrameController.
func (e *Encoder) Controller() codec.EncoderController { return e }

// Close frees the libvpx context. It is idempotent; a Read blocked on the
// source returns io.EOF once the source yields. The source is not closed: it
// belongs to the track.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	C.sp_enc_free(e.c)
	e.c = nil
	return nil
}

// rateWindow measures the bitrate of the last second of output.
type rateWindow struct {
	at    []time.Time
	bytes []int
	total int
}

const rateSpan = time.Second

func (r *rateWindow) add(now time.Time, n int) {
	r.at = append(r.at, now)
	r.bytes = append(r.bytes, n)
	r.total += n
	r.trim(now)
}

func (r *rateWindow) trim(now time.Time) {
	i := 0
	for i < len(r.at) && now.Sub(r.at[i]) > rateSpan {
		r.total -= r.bytes[i]
		i++
	}
	if i > 0 {
		r.at = append(r.at[:0], r.at[i:]...)
		r.bytes = append(r.bytes[:0], r.bytes[i:]...)
	}
}

// kbps is the output rate over the last second; 0 until a second of output.
func (r *rateWindow) kbps(now time.Time) float64 {
	r.trim(now)
	if len(r.at) == 0 || now.Sub(r.at[0]) < rateSpan*9/10 {
		return 0
	}
	return float64(r.total) * 8 / 1000 / rateSpan.Seconds()
}

// interface checks
var (
	_ codec.VideoEncoderBuilder = (*Params)(nil)
	_ codec.BitRateController   = (*Encoder)(nil)
	_ codec.KeyFrameController  = (*Encoder)(nil)
	_ codec.ReadCloser          = (*Encoder)(nil)
)
