// Package pa is the PortAudio layer of the softphone: device enumeration,
// callback capture and playback streams in the common audio format (48 kHz,
// mono, int16), and a mediadevices microphone driver.
//
// Only callback streams are used: PortAudio's blocking output stream aborts
// the process in Pa_CloseStream under JACK. The binding is our own small cgo
// layer (not gordonklaus/portaudio, whose stream ids passed as pointers abort
// -race builds and whose callback enters Go through reflection): the
// callback is C, copies between the device buffer and a lock-free
// single-producer single-consumer ring (C11 atomics), and wakes the Go side
// through a non-blocking pipe that Go waits on with the netpoller. No Go code
// runs on the audio thread, so the garbage collector cannot stall it.
//
// ALSA and JACK print diagnostics to stderr while PortAudio initialises,
// enumerates devices and opens streams; that would corrupt a full-screen
// terminal UI, so fd 2 is pointed at /dev/null for the duration of those
// calls. A machine without any audio device is a normal case here: the API
// returns ErrNoInputDevice / ErrNoOutputDevice, never panics.
package pa

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The common audio format of the softphone.
const (
	SampleRate   = 48000
	FrameSamples = 960 // 20 ms at 48 kHz
)

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrNoInputDevice means there is no audio input device at all (or no
	// default one): the call goes on without a microphone.
	ErrNoInputDevice = errors.New("no audio input device")
	// ErrNoOutputDevice means there is no audio output device (or no default
	// one): the call goes on without playback.
	ErrNoOutputDevice = errors.New("no audio output device")
	// ErrDeviceNotFound means a device named by the user does not exist.
	ErrDeviceNotFound = errors.New("audio device not found")
	// ErrClosed is returned by operations on a closed System or stream.
	ErrClosed = errors.New("audio system closed")
	// ErrStalled is returned by a capture read when the device delivered no
	// samples for the configured stall timeout (e.g. the JACK server died).
	ErrStalled = errors.New("audio capture stalled")
)

// libMu serialises every PortAudio call outside the audio callback
// (PortAudio is not thread safe) and the fd-2 redirection, which is process
// wide. paRefs counts open Systems; paGen numbers each PortAudio
// initialisation, because device indices are only meaningful within one.
// This is the package's only state, and it mirrors state that is process
// global in PortAudio and the file descriptor table anyway.
var (
	libMu  sync.Mutex
	paRefs int
	paGen  uint64
)

// Options configure a System.
type Options struct {
	// AllowJACKServerStart lets libjack spawn a JACK server when none runs.
	// By default JACK_NO_START_SERVER=1 is set before initialising PortAudio,
	// because an auto-started jackd would grab the sound card and outlive us.
	AllowJACKServerStart bool
	// HostAPI restricts the device list to one host API, matched
	// case-insensitively against its name or a short alias: "alsa", "jack",
	// "oss". Empty means all host APIs.
	HostAPI string
	// Verbose leaves stderr alone during initialisation (for debugging
	// device problems).
	Verbose bool
}

// System is an initialised PortAudio instance with a snapshot of its
// devices. PortAudio scans devices only when initialised, so a device that
// appears later (a JACK server started afterwards) needs a new System.
// Methods are safe for concurrent use.
type System struct {
	opts Options
	gen  uint64

	mu      sync.Mutex
	closed  bool
	devices []Device
	streams map[*stream]struct{}
}

// Open initialises PortAudio and enumerates its devices. Having no device is
// not an error here; it becomes one when a stream or driver needs a device.
func Open(opts Options) (*System, error) {
	if !opts.AllowJACKServerStart {
		// os.Setenv reaches the C environment (setenv) in a cgo binary, which
		// is where libjack reads it. An explicit value from the user wins.
		if _, set := os.LookupEnv("JACK_NO_START_SERVER"); !set {
			if err := os.Setenv("JACK_NO_START_SERVER", "1"); err != nil {
				return nil, fmt.Errorf("pa: set JACK_NO_START_SERVER: %w", err)
			}
		}
	}
	s := &System{opts: opts, streams: make(map[*stream]struct{})}

	libMu.Lock()
	defer libMu.Unlock()
	var (
		raw []rawDevice
		err error
	)
	quietly(opts.Verbose, func() {
		if err = paInitialize(); err != nil {
			err = fmt.Errorf("pa: initialize PortAudio: %w", err)
			return
		}
		if raw, err = paDevices(); err != nil {
			err = fmt.Errorf("pa: list devices: %w", err)
			_ = paTerminate()
		}
	})
	if err != nil {
		return nil, err
	}
	if paRefs == 0 {
		paGen++
	}
	paRefs++
	s.gen = paGen
	for _, d := range raw {
		if !matchHostAPI(opts.HostAPI, d.HostAPI, d.hostType) {
			continue
		}
		d.gen = s.gen
		s.devices = append(s.devices, d.Device)
	}
	markDefaults(s.devices, raw)
	return s, nil
}

// markDefaults flags exactly one default input and one default output:
// PortAudio's global default when it survived the host-API filter, else the
// first device that is its host API's default.
func markDefaults(devs []Device, raw []rawDevice) {
	byIndex := make(map[int]rawDevice, len(raw))
	for _, r := range raw {
		byIndex[r.Index] = r
	}
	pick := func(global, host func(rawDevice) bool, ok func(Device) bool) int {
		chosen := -1
		for i, d := range devs {
			r := byIndex[d.Index]
			if !ok(d) {
				continue
			}
			if global(r) {
				return i
			}
			if chosen < 0 && host(r) {
				chosen = i
			}
		}
		return chosen
	}
	if i := pick(func(r rawDevice) bool { return r.globalDefaultIn }, func(r rawDevice) bool { return r.hostDefaultIn }, Device.IsInput); i >= 0 {
		devs[i].DefaultInput = true
	}
	if i := pick(func(r rawDevice) bool { return r.globalDefOut }, func(r rawDevice) bool { return r.hostDefaultOut }, Device.IsOutput); i >= 0 {
		devs[i].DefaultOutput = true
	}
}

// matchHostAPI implements Options.HostAPI.
func matchHostAPI(want, name string, hostType int) bool {
	if want == "" {
		return true
	}
	w := strings.ToLower(strings.TrimSpace(want))
	if w == strings.ToLower(name) {
		return true
	}
	switch w {
	case "alsa":
		return hostType == hostALSA
	case "jack":
		return hostType == hostJACK
	case "oss":
		return hostType == hostOSS
	}
	return false
}

// Devices returns the devices found when the System was opened.
func (s *System) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Device(nil), s.devices...)
}

// DefaultInput returns the default input device, or ErrNoInputDevice.
func (s *System) DefaultInput() (Device, error) { return s.FindInput("") }

// DefaultOutput returns the default output device, or ErrNoOutputDevice.
func (s *System) DefaultOutput() (Device, error) { return s.FindOutput("") }

// FindInput resolves a user's device choice to an input device: "" or
// "default" is the default input (falling back to the first input device),
// a number is a device index, anything else a device name (exact, then
// "hostapi/name", then a unique case-insensitive substring).
func (s *System) FindInput(spec string) (Device, error) {
	return s.find(spec, true)
}

// FindOutput is FindInput for output devices.
func (s *System) FindOutput(spec string) (Device, error) {
	return s.find(spec, false)
}

func (s *System) find(spec string, input bool) (Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Device{}, ErrClosed
	}
	noDev := ErrNoOutputDevice
	kind := "output"
	if input {
		noDev, kind = ErrNoInputDevice, "input"
	}
	var cands []Device
	for _, d := range s.devices {
		if (input && d.MaxInputChannels > 0) || (!input && d.MaxOutputChannels > 0) {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return Device{}, noDev
	}
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, "default") {
		for _, d := range cands {
			if (input && d.DefaultInput) || (!input && d.DefaultOutput) {
				return d, nil
			}
		}
		return cands[0], nil
	}
	if idx, err := strconv.Atoi(spec); err == nil {
		for _, d := range cands {
			if d.Index == idx {
				return d, nil
			}
		}
		return Device{}, fmt.Errorf("%w: no %s device with index %d", ErrDeviceNotFound, kind, idx)
	}
	for _, d := range cands {
		if d.Name == spec || d.HostAPI+"/"+d.Name == spec {
			return d, nil
		}
	}
	var hits []Device
	low := strings.ToLower(spec)
	for _, d := range cands {
		if strings.Contains(strings.ToLower(d.Name), low) {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Device{}, fmt.Errorf("%w: no %s device matches %q", ErrDeviceNotFound, kind, spec)
	default:
		return Device{}, fmt.Errorf("%w: %q matches %d %s devices; use the index", ErrDeviceNotFound, spec, len(hits), kind)
	}
}

// Close stops and closes every stream opened from s and releases PortAudio.
// It is idempotent.
func (s *System) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := make([]*stream, 0, len(s.streams))
	for st := range s.streams {
		open = append(open, st)
	}
	s.mu.Unlock()

	var errs []error
	for _, st := range open {
		errs = append(errs, st.close())
	}
	libMu.Lock()
	defer libMu.Unlock()
	paRefs--
	quietly(s.opts.Verbose, func() {
		if err := paTerminate(); err != nil {
			errs = append(errs, fmt.Errorf("pa: terminate PortAudio: %w", err))
		}
	})
	return errors.Join(errs...)
}

// track registers an open stream so that Close can stop it.
func (s *System) track(st *stream) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.streams[st] = struct{}{}
	return nil
}

func (s *System) untrack(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, st)
}
