package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	int live;
} spDec;

static vpx_codec_err_t sp_dec_new(spDec **out) {
	vpx_codec_dec_cfg_t cfg = {0};
	vpx_codec_err_t err;
	spDec *d = (spDec *)calloc(1, sizeof(spDec));
	*out = NULL;
	if (d == NULL) return VPX_CODEC_MEM_ERROR;
	cfg.threads = 1;
	err = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (err != VPX_CODEC_OK) {
		free(d);
		return err;
	}
	d->live = 1;
	*out = d;
	return VPX_CODEC_OK;
}

static void sp_dec_free(spDec *d) {
	if (d == NULL) return;
	if (d->live) vpx_codec_destroy(&d->ctx);
	free(d);
}

// sp_dec_decode decodes one frame and returns the picture to show, or NULL.
// The picture stays valid until the next call; the caller copies it out.
static vpx_codec_err_t sp_dec_decode(spDec *d, const unsigned char *data, unsigned int size,
                                     vpx_image_t **img, int *corrupt) {
	vpx_codec_iter_t iter = NULL;
	vpx_codec_err_t err;
	*img = NULL;
	*corrupt = 0;
	err = vpx_codec_decode(&d->ctx, data, size, NULL, 0);
	if (err != VPX_CODEC_OK) return err;
	*img = vpx_codec_get_frame(&d->ctx, &iter);
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, corrupt) != VPX_CODEC_OK) *corrupt = 0;
	return VPX_CODEC_OK;
}

static const char *sp_dec_error(spDec *d) {
	const char *s = vpx_codec_error_detail(&d->ctx);
	return s != NULL ? s : "";
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"unsafe"
)

// Decoder errors. A receiver answers ErrCorrupt with a PLI; the decoder
// recovers on the next keyframe.
var (
	ErrCorrupt = errors.New("vp8: corrupt frame")
	ErrNoFrame = errors.New("vp8: no picture to show")
	ErrClosed  = errors.New("vp8: decoder closed")
)

// Decoder decodes complete VP8 frames (one depacketized frame per call). It is
// safe for concurrent use; calls are serialised.
type Decoder struct {
	mu sync.Mutex
	d  *C.spDec
}

// NewDecoder creates a single-threaded libvpx VP8 decoder.
func NewDecoder() (*Decoder, error) {
	var d *C.spDec
	if err := C.sp_dec_new(&d); err != C.VPX_CODEC_OK {
		return nil, fmt.Errorf("vp8: init decoder: %s", C.GoString(C.vpx_codec_err_to_string(err)))
	}
	return &Decoder{d: d}, nil
}

// Decode decodes one frame into a new 4:2:0 image owned by the caller.
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	return d.DecodeInto(frame, nil)
}

// DecodeInto is Decode reusing dst's planes when they are large enough (dst
// may be nil). It returns the image written, which is dst when reused.
func (d *Decoder) DecodeInto(frame []byte, dst *image.YCbCr) (*image.YCbCr, error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrCorrupt)
	}
	if err := checkKeyFrameSize(frame); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d == nil {
		return nil, ErrClosed
	}
	var img *C.vpx_image_t
	var corrupt C.int
	// frame is Go memory passed for the duration of the call only: the VP8
	// decoder (no frame threading) does not keep the input buffer.
	if err := C.sp_dec_decode(d.d, (*C.uchar)(unsafe.Pointer(&frame[0])), C.uint(len(frame)), &img, &corrupt); err != C.VPX_CODEC_OK {
		return nil, fmt.Errorf("%w: %s: %s", ErrCorrupt, C.GoString(C.vpx_codec_err_to_string(err)), C.GoString(C.sp_dec_error(d.d)))
	}
	if corrupt != 0 {
		return nil, fmt.Errorf("%w: references lost", ErrCorrupt)
	}
	if img == nil {
		return nil, ErrNoFrame
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("%w: unexpected image format %d", ErrCorrupt, int(img.fmt))
	}
	return copyImage(img, dst), nil
}

// MaxDecodeSize bounds the width and height a keyframe may announce: libvpx
// would otherwise allocate frame buffers for up to 16383×16383 on a remote
// peer's say-so.
const MaxDecodeSize = 4096

// checkKeyFrameSize reads the dimensions from a keyframe header (RFC 6386
// 9.1: 3-byte frame tag, start code 9d 01 2a, 14-bit width and height).
func checkKeyFrameSize(frame []byte) error {
	if frame[0]&1 != 0 || len(frame) < 10 { // inter frame, or too short to tell (libvpx rejects it)
		return nil
	}
	if frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return fmt.Errorf("%w: bad keyframe start code", ErrCorrupt)
	}
	w := int(frame[6]) | int(frame[7]&0x3f)<<8
	h := int(frame[8]) | int(frame[9]&0x3f)<<8
	if w > MaxDecodeSize || h > MaxDecodeSize {
		return fmt.Errorf("%w: keyframe size %dx%d above %d", ErrCorrupt, w, h, MaxDecodeSize)
	}
	return nil
}

// copyImage copies libvpx's picture (valid only until the next decode) into
// Go memory.
func copyImage(img *C.vpx_image_t, dst *image.YCbCr) *image.YCbCr {
	w, h := int(img.d_w), int(img.d_h)
	cw, ch := (w+1)/2, (h+1)/2
	if dst == nil || cap(dst.Y) < w*h || cap(dst.Cb) < cw*ch || cap(dst.Cr) < cw*ch {
		dst = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	} else {
		dst.Y, dst.Cb, dst.Cr = dst.Y[:w*h], dst.Cb[:cw*ch], dst.Cr[:cw*ch]
		dst.YStride, dst.CStride = w, cw
		dst.SubsampleRatio = image.YCbCrSubsampleRatio420
		dst.Rect = image.Rect(0, 0, w, h)
	}
	copyPlane(dst.Y, w, img.planes[0], int(img.stride[0]), w, h)
	copyPlane(dst.Cb, cw, img.planes[1], int(img.stride[1]), cw, ch)
	copyPlane(dst.Cr, cw, img.planes[2], int(img.stride[2]), cw, ch)
	return dst
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, w, h int) {
	if h == 0 || w == 0 {
		return
	}
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), (h-1)*srcStride+w)
	for r := range h {
		copy(dst[r*dstStride:r*dstStride+w], s[r*srcStride:r*srcStride+w])
	}
}

// Close frees the decoder. It is idempotent.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d != nil {
		C.sp_dec_free(d.d)
		d.d = nil
	}
	return nil
}
