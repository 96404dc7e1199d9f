// Package vp8 is a VP8 encoder and decoder on libvpx (cgo, pkg-config vpx).
//
// The encoder plugs into pion/mediadevices as a codec.VideoEncoderBuilder, so a
// mediadevices.CodecSelector can use it in place of mediadevices' own vpx
// encoder. It differs from that one where CPU and latency matter for a call:
// libvpx's realtime speed (VP8E_SET_CPUUSED) is set, the configuration is
// applied once and again only when the bitrate or the resolution changes, a
// resolution change destroys the old libvpx context instead of leaking it, and
// the controllers (SetBitRate, ForceKeyFrame) never wait for the next captured
// frame.
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
	e->cfg.rc_dropframe_thresh = 0; // every input frame yields an output frame
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

static vpx_codec_err_t sp_enc_set_bitrate(spEnc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
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
	// a PLI-triggered keyframe does not burst the link; 0 derives it from the frame rate.
	MaxIntraBitratePct int
	// StaticThreshold skips encoding of macroblocks that barely change.
	StaticThreshold int
	// NoiseSensitivity enables libvpx's temporal denoiser (0 off .. 6); it costs CPU.
	NoiseSensitivity int
}

// NewParams returns the realtime-call defaults.
func NewParams() Params {
	return Params{
		BaseParams: codec.BaseParams{
			BitRate:          DefaultBitRate,
			KeyFrameInterval: DefaultKeyFrameInterval,
		},
		CPUUsed:         DefaultCPUUsed,
		Threads:         1,
		MinQuantizer:    2,
		MaxQuantizer:    56,
		UndershootPct:   100,
		OvershootPct:    15,
		BufferMs:        1000,
		BufferInitialMs: 500,
		BufferOptimalMs: 600,
		StaticThreshold: 1,
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
// the frame size changes.
func (p *Params) BuildVideoEncoder(r video.Reader, property prop.Media) (codec.ReadCloser, error) {
	params := p.withDefaults()
	if params.CPUUsed < -16 || params.CPUUsed > 16 {
		return nil, fmt.Errorf("vp8: CPUUsed %d out of range -16..16", params.CPUUsed)
	}
	if params.MinQuantizer > params.MaxQuantizer || params.MaxQuantizer > 63 {
		return nil, fmt.Errorf("vp8: quantizer range %d..%d invalid", params.MinQuantizer, params.MaxQuantizer)
	}
	c := C.sp_enc_new()
	if c == nil {
		return nil, errors.New("vp8: out of memory")
	}
	e := &encoder{
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
	return q
}

// encoder implements codec.ReadCloser, codec.BitRateController and
// codec.KeyFrameController.
//
// Locking: mu guards the libvpx context and the pending controls. Read waits
// for the next frame from the source without holding mu, so SetBitRate,
// ForceKeyFrame and Close return at once even while the source blocks; they
// take effect on the next encoded frame.
type encoder struct {
	src    video.Reader
	params Params
	fps    float64
	now    func() time.Time // replaced in tests for reproducible rate control

	mu          sync.Mutex
	c           *C.spEnc
	closed      bool
	w, h        int
	bitrate     int // requested, bps
	appliedKbps int // configured in libvpx
	forceKey    bool
	start       time.Time
	lastPTS     int64
	frames      int64
}

var errClosed = io.EOF

// Read returns the next encoded VP8 frame. The returned slice is owned by the
// caller.
func (e *encoder) Read() ([]byte, func(), error) {
	for {
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
		if len(out) == 0 {
			// libvpx produced no frame (it should not with frame dropping
			// off); an empty RTP frame would be useless, read the next one.
			continue
		}
		return out, func() {}, nil
	}
}

func (e *encoder) init(w, h int) error {
	fps := int(e.fps + 0.5)
	maxIntra := e.params.MaxIntraBitratePct
	if maxIntra <= 0 {
		// WebRTC's rule: half the optimal buffer, in frames, as a percentage.
		maxIntra = max(300, e.params.BufferOptimalMs*fps/20)
	}
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
		max_intra_pct: C.int(maxIntra),
		static_thresh: C.int(e.params.StaticThreshold),
		noise:         C.int(e.params.NoiseSensitivity),
		fps:           C.int(fps),
	}
	if err := C.sp_enc_init(e.c, &p); err != C.VPX_CODEC_OK {
		e.w, e.h = 0, 0
		return fmt.Errorf("vp8: init encoder %dx%d: %s", w, h, C.GoString(C.vpx_codec_err_to_string(err)))
	}
	e.w, e.h = w, h
	e.appliedKbps = int(p.kbps)
	e.forceKey = false // a fresh context starts with a keyframe anyway
	return nil
}

func (e *encoder) encode(img *image.YCbCr) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 || w > 16383 || h > 16383 {
		return nil, fmt.Errorf("vp8: frame size %dx%d unsupported", w, h)
	}
	if w != e.w || h != e.h {
		if err := e.init(w, h); err != nil {
			return nil, err
		}
	} else if kbps := max(1, e.bitrate/1000); kbps != e.appliedKbps {
		if err := C.sp_enc_set_bitrate(e.c, C.int(kbps)); err != C.VPX_CODEC_OK {
			return nil, fmt.Errorf("vp8: set bitrate %d kbps: %s", kbps, C.GoString(C.sp_enc_error(e.c)))
		}
		e.appliedKbps = kbps
	}

	// Timestamps follow the wall clock so libvpx's rate control sees the real
	// frame rate (it budgets bits per frame from it).
	now := e.now()
	nominal := int64(1e6 / e.fps)
	var pts, dur int64
	if e.frames == 0 {
		e.start = now.Add(-time.Duration(nominal) * time.Microsecond)
		pts = nominal
	} else {
		pts = max(now.Sub(e.start).Microseconds(), e.lastPTS+1)
	}
	dur = pts - e.lastPTS
	var flags C.long
	if e.forceKey {
		flags |= C.VPX_EFLAG_FORCE_KF
	}
	// Crop to the image rectangle: Y/Cb/Cr may start at an offset.
	y := img.Y[img.YOffset(img.Rect.Min.X, img.Rect.Min.Y):]
	co := img.COffset(img.Rect.Min.X, img.Rect.Min.Y)
	cb, cr := img.Cb[co:], img.Cr[co:]
	cneed := ((h+1)/2-1)*img.CStride + (w+1)/2
	if len(y) < (h-1)*img.YStride+w || len(cb) < cneed || len(cr) < cneed {
		return nil, errors.New("vp8: image planes shorter than its rectangle")
	}
	if err := C.sp_enc_encode(e.c,
		(*C.uchar)(unsafe.Pointer(&y[0])), (*C.uchar)(unsafe.Pointer(&cb[0])), (*C.uchar)(unsafe.Pointer(&cr[0])),
		C.int(img.YStride), C.int(img.CStride), C.longlong(pts), C.ulong(dur), flags); err != C.VPX_CODEC_OK {
		return nil, fmt.Errorf("vp8: encode: %s: %s", C.GoString(C.vpx_codec_err_to_string(err)), C.GoString(C.sp_enc_error(e.c)))
	}
	e.forceKey = false
	e.lastPTS = pts
	e.frames++
	n := int(e.c.out_len)
	if n == 0 {
		return nil, nil
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(e.c.out)), n))
	return out, nil
}

// SetBitRate sets the target bitrate in bps, applied from the next frame.
func (e *encoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("vp8: bitrate %d must be positive", bps)
	}
	e.mu.Lock()
	e.bitrate = bps
	e.mu.Unlock()
	return nil
}

// ForceKeyFrame makes the next encoded frame a keyframe (PLI/FIR handling).
func (e *encoder) ForceKeyFrame() error {
	e.mu.Lock()
	e.forceKey = true
	e.mu.Unlock()
	return nil
}

// Controller returns the encoder itself: it is a codec.BitRateController and a
// codec.KeyFrameController.
func (e *encoder) Controller() codec.EncoderController { return e }

// Close frees the libvpx context. It is idempotent; a Read blocked on the
// source returns io.EOF once the source yields. The source is not closed: it
// belongs to the track.
func (e *encoder) Close() error {
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

// interface checks
var (
	_ codec.VideoEncoderBuilder = (*Params)(nil)
	_ codec.BitRateController   = (*encoder)(nil)
	_ codec.KeyFrameController  = (*encoder)(nil)
	_ codec.ReadCloser          = (*encoder)(nil)
)
