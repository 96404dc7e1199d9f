package pa

/*
#cgo pkg-config: portaudio-2.0
#include <portaudio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// sp_ring is a single-producer single-consumer queue of int16 samples.
// Positions count samples ever written/read; size is a power of two.
typedef struct {
	int16_t *buf;
	uint64_t size, mask;
	_Atomic uint64_t w, r;
} sp_ring;

static int sp_ring_init(sp_ring *q, uint64_t n) {
	uint64_t size = 1;
	while (size < n) size <<= 1;
	q->buf = calloc(size, sizeof(int16_t));
	if (!q->buf) return -1;
	q->size = size;
	q->mask = size - 1;
	atomic_init(&q->w, 0);
	atomic_init(&q->r, 0);
	return 0;
}

static uint64_t sp_ring_len(sp_ring *q) {
	uint64_t r = atomic_load_explicit(&q->r, memory_order_acquire);
	uint64_t w = atomic_load_explicit(&q->w, memory_order_acquire);
	return w - r;
}

// Producer only.
static uint64_t sp_ring_write(sp_ring *q, const int16_t *p, uint64_t n) {
	uint64_t w = atomic_load_explicit(&q->w, memory_order_relaxed);
	uint64_t r = atomic_load_explicit(&q->r, memory_order_acquire);
	uint64_t space = q->size - (w - r);
	if (n > space) n = space;
	for (uint64_t i = 0; i < n;) {
		uint64_t off = (w + i) & q->mask, chunk = q->size - off;
		if (chunk > n - i) chunk = n - i;
		if (p) memcpy(q->buf + off, p + i, chunk * sizeof(int16_t));
		else memset(q->buf + off, 0, chunk * sizeof(int16_t));
		i += chunk;
	}
	atomic_store_explicit(&q->w, w + n, memory_order_release);
	return n;
}

// Consumer only.
static uint64_t sp_ring_read(sp_ring *q, int16_t *p, uint64_t n) {
	uint64_t r = atomic_load_explicit(&q->r, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&q->w, memory_order_acquire);
	if (n > w - r) n = w - r;
	for (uint64_t i = 0; i < n;) {
		uint64_t off = (r + i) & q->mask, chunk = q->size - off;
		if (chunk > n - i) chunk = n - i;
		memcpy(p + i, q->buf + off, chunk * sizeof(int16_t));
		i += chunk;
	}
	atomic_store_explicit(&q->r, r + n, memory_order_release);
	return n;
}

// Consumer only: drop up to n of the oldest samples.
static uint64_t sp_ring_discard(sp_ring *q, uint64_t n) {
	uint64_t r = atomic_load_explicit(&q->r, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&q->w, memory_order_acquire);
	if (n > w - r) n = w - r;
	atomic_store_explicit(&q->r, r + n, memory_order_release);
	return n;
}

typedef struct {
	PaStream *pa;
	sp_ring ring;
	int input, channels, notify_fd;
	_Atomic int started;
	_Atomic uint64_t callbacks, frames, overflow, underrun;
} sp_stream;

// sp_callback runs on the host's audio thread. It stays in C: no Go
// scheduler, no garbage collector, no allocation; it copies, counts and
// pokes the Go side through a non-blocking pipe (a full pipe already means
// "wake up", so EAGAIN is ignored).
static int sp_callback(const void *in, void *out, unsigned long frames,
		const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags flags, void *user) {
	sp_stream *s = user;
	(void)ti; (void)flags;
	if (s->input) {
		uint64_t n = sp_ring_write(&s->ring, (const int16_t *)in, frames);
		if (n < frames) atomic_fetch_add_explicit(&s->overflow, frames - n, memory_order_relaxed);
	} else {
		int16_t *o = out;
		int ch = s->channels;
		uint64_t n = sp_ring_read(&s->ring, o, frames);
		if (n < frames) {
			memset(o + n, 0, (frames - n) * sizeof(int16_t));
			if (atomic_load_explicit(&s->started, memory_order_relaxed))
				atomic_fetch_add_explicit(&s->underrun, frames - n, memory_order_relaxed);
		}
		// Spread the mono samples over the channels, backwards so that the
		// mono prefix is not overwritten before it is read.
		if (ch > 1)
			for (long i = (long)frames - 1; i >= 0; i--)
				for (int c = ch - 1; c >= 0; c--) o[i * ch + c] = o[i];
	}
	atomic_fetch_add_explicit(&s->callbacks, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->frames, frames, memory_order_relaxed);
	char b = 1;
	ssize_t ignored = write(s->notify_fd, &b, 1);
	(void)ignored;
	return paContinue;
}

static sp_stream *sp_new(int input, int channels, uint64_t ring, int notify_fd) {
	sp_stream *s = calloc(1, sizeof(sp_stream));
	if (!s) return NULL;
	if (sp_ring_init(&s->ring, ring) != 0) { free(s); return NULL; }
	s->input = input;
	s->channels = channels;
	s->notify_fd = notify_fd;
	return s;
}

static PaError sp_open(sp_stream *s, int device, double latency, unsigned long fpb) {
	PaStreamParameters p;
	memset(&p, 0, sizeof p);
	p.device = device;
	p.channelCount = s->channels;
	p.sampleFormat = paInt16;
	p.suggestedLatency = latency;
	PaError err = Pa_OpenStream(&s->pa, s->input ? &p : NULL, s->input ? NULL : &p,
		48000, fpb, paNoFlag, sp_callback, s);
	if (err != paNoError) { s->pa = NULL; return err; }
	err = Pa_StartStream(s->pa);
	if (err != paNoError) { Pa_CloseStream(s->pa); s->pa = NULL; }
	return err;
}

static PaError sp_close(sp_stream *s) {
	if (!s->pa) return paNoError;
	PaError err = Pa_AbortStream(s->pa);
	if (err == paStreamIsStopped) err = paNoError;
	PaError cerr = Pa_CloseStream(s->pa);
	s->pa = NULL;
	return err != paNoError ? err : cerr;
}

static void sp_free(sp_stream *s) {
	if (!s) return;
	free(s->ring.buf);
	free(s);
}

static void sp_set_started(sp_stream *s) { atomic_store(&s->started, 1); }
static uint64_t sp_callbacks(sp_stream *s) { return atomic_load(&s->callbacks); }
static uint64_t sp_frames(sp_stream *s) { return atomic_load(&s->frames); }
static uint64_t sp_overflow(sp_stream *s) { return atomic_load(&s->overflow); }
static uint64_t sp_underrun(sp_stream *s) { return atomic_load(&s->underrun); }
static sp_ring *sp_ring_of(sp_stream *s) { return &s->ring; }

static int sp_host_type(PaHostApiIndex i) {
	const PaHostApiInfo *h = Pa_GetHostApiInfo(i);
	return h ? (int)h->type : -1;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// paError turns a PortAudio error code into a Go error (nil for paNoError).
func paError(code C.PaError) error {
	if code == C.paNoError {
		return nil
	}
	if code == C.paUnanticipatedHostError {
		if info := C.Pa_GetLastHostErrorInfo(); info != nil && info.errorText != nil {
			return fmt.Errorf("portaudio: host error %d: %s", int(info.errorCode), C.GoString(info.errorText))
		}
	}
	return fmt.Errorf("portaudio: %s (%d)", C.GoString(C.Pa_GetErrorText(code)), int(code))
}

// paInitialize and paTerminate wrap the reference-counted PortAudio
// lifetime. Callers hold libMu.
func paInitialize() error { return paError(C.Pa_Initialize()) }
func paTerminate() error  { return paError(C.Pa_Terminate()) }

// Host API type ids (PaHostApiTypeId) used by Options.HostAPI aliases.
const (
	hostOSS  = int(C.paOSS)
	hostALSA = int(C.paALSA)
	hostJACK = int(C.paJACK)
)

// rawDevice is a device as PortAudio reports it, plus its host API.
type rawDevice struct {
	Device
	hostType        int
	hostDefaultIn   bool
	hostDefaultOut  bool
	globalDefaultIn bool
	globalDefOut    bool
}

// paDevices enumerates devices. Callers hold libMu and have initialised
// PortAudio.
func paDevices() ([]rawDevice, error) {
	n := C.Pa_GetDeviceCount()
	if n < 0 {
		return nil, paError(C.PaError(n))
	}
	defIn, defOut := C.Pa_GetDefaultInputDevice(), C.Pa_GetDefaultOutputDevice()
	devs := make([]rawDevice, 0, int(n))
	for i := C.PaDeviceIndex(0); i < n; i++ {
		info := C.Pa_GetDeviceInfo(i)
		if info == nil {
			continue
		}
		d := rawDevice{Device: Device{
			Index:             int(i),
			Name:              C.GoString(info.name),
			MaxInputChannels:  int(info.maxInputChannels),
			MaxOutputChannels: int(info.maxOutputChannels),
			DefaultSampleRate: float64(info.defaultSampleRate),
			InputLatency:      seconds(info.defaultLowInputLatency),
			OutputLatency:     seconds(info.defaultLowOutputLatency),
		}}
		d.hostType = int(C.sp_host_type(info.hostApi))
		if h := C.Pa_GetHostApiInfo(info.hostApi); h != nil {
			d.HostAPI = C.GoString(h.name)
			d.hostDefaultIn = h.defaultInputDevice == i
			d.hostDefaultOut = h.defaultOutputDevice == i
		}
		d.globalDefaultIn = defIn == i
		d.globalDefOut = defOut == i
		devs = append(devs, d)
	}
	return devs, nil
}

func seconds(t C.PaTime) time.Duration { return time.Duration(float64(t) * float64(time.Second)) }

// cring is a Go handle on a C ring, used by tests of the ring itself.
type cring struct{ q *C.sp_ring }

func newCRing(n int) *cring {
	q := (*C.sp_ring)(C.calloc(1, C.size_t(unsafe.Sizeof(C.sp_ring{}))))
	if q == nil || C.sp_ring_init(q, C.uint64_t(n)) != 0 {
		panic("pa: out of memory")
	}
	return &cring{q: q}
}

func (r *cring) free() {
	C.free(unsafe.Pointer(r.q.buf))
	C.free(unsafe.Pointer(r.q))
}

func (r *cring) cap() int { return int(r.q.size) }

func (r *cring) len() int { return int(C.sp_ring_len(r.q)) }

func (r *cring) write(p []int16) int {
	if len(p) == 0 {
		return 0
	}
	return int(C.sp_ring_write(r.q, (*C.int16_t)(unsafe.Pointer(&p[0])), C.uint64_t(len(p))))
}

func (r *cring) read(p []int16) int {
	if len(p) == 0 {
		return 0
	}
	return int(C.sp_ring_read(r.q, (*C.int16_t)(unsafe.Pointer(&p[0])), C.uint64_t(len(p))))
}

func (r *cring) discard(n int) int { return int(C.sp_ring_discard(r.q, C.uint64_t(n))) }

// cstream owns a C sp_stream: its ring, counters and PortAudio stream.
type cstream struct {
	s    *C.sp_stream
	ring cring
}

var errNoMemory = errors.New("pa: out of memory")

func newCStream(input bool, channels, ringSamples, notifyFD int) (*cstream, error) {
	in := C.int(0)
	if input {
		in = 1
	}
	s := C.sp_new(in, C.int(channels), C.uint64_t(ringSamples), C.int(notifyFD))
	if s == nil {
		return nil, errNoMemory
	}
	return &cstream{s: s, ring: cring{q: C.sp_ring_of(s)}}, nil
}

// open opens and starts the PortAudio stream. Callers hold libMu.
func (c *cstream) open(device int, latency time.Duration, framesPerBuffer int) error {
	fpb := C.ulong(C.paFramesPerBufferUnspecified)
	if framesPerBuffer > 0 {
		fpb = C.ulong(framesPerBuffer)
	}
	return paError(C.sp_open(c.s, C.int(device), C.double(latency.Seconds()), fpb))
}

// close aborts and closes the PortAudio stream; after it returns the
// callback no longer runs. Callers hold libMu.
func (c *cstream) close() error { return paError(C.sp_close(c.s)) }

// free releases the C memory; nothing may use c afterwards.
func (c *cstream) free() { C.sp_free(c.s); c.s = nil }

func (c *cstream) setStarted()       { C.sp_set_started(c.s) }
func (c *cstream) callbacks() uint64 { return uint64(C.sp_callbacks(c.s)) }
func (c *cstream) frames() uint64    { return uint64(C.sp_frames(c.s)) }
func (c *cstream) overflow() uint64  { return uint64(C.sp_overflow(c.s)) }
func (c *cstream) underrun() uint64  { return uint64(C.sp_underrun(c.s)) }
