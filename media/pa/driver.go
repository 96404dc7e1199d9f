package pa

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
)

// LabelPrefix starts the mediadevices label of every microphone registered
// by this package ("portaudio:" + device name).
const LabelPrefix = "portaudio:"

// registrations makes each registration's driver.Info.Name unique so that
// Unregister finds exactly its own drivers in mediadevices' manager.
var registrations atomic.Uint64

// MicrophoneOptions tune RegisterMicrophones.
type MicrophoneOptions struct {
	// Devices limits registration to these devices; nil means every input
	// device of the System.
	Devices []Device
	// Capture configures the stream opened when mediadevices starts
	// recording.
	Capture CaptureConfig
}

// RegisterMicrophones registers input devices of s as mediadevices
// microphones (driver.Microphone), the default input with
// driver.PriorityHigh so that GetUserMedia picks it. The drivers deliver
// 20 ms chunks of 48 kHz mono int16 (wave.Int16Interleaved).
//
// mediadevices keeps drivers in a process-wide manager; the returned
// unregister func removes exactly the drivers registered here (call it
// before closing s). With no input device the error is ErrNoInputDevice and
// nothing is registered. To make GetUserMedia use one particular device,
// register only that one (opts.Devices).
func (s *System) RegisterMicrophones(opts MicrophoneOptions) (unregister func(), err error) {
	devs := opts.Devices
	if devs == nil {
		for _, d := range s.Devices() {
			if d.IsInput() {
				devs = append(devs, d)
			}
		}
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("pa: register microphones: %w", ErrNoInputDevice)
	}
	for _, d := range devs {
		if err := s.owns(d); err != nil {
			return nil, err
		}
		if !d.IsInput() {
			return nil, fmt.Errorf("pa: register microphone %q: %w", d.Name, ErrNoInputDevice)
		}
	}
	token := fmt.Sprintf("softphone-pa-%d", registrations.Add(1))
	mgr := driver.GetManager()
	for i, d := range devs {
		prio := driver.PriorityNormal
		if d.DefaultInput {
			prio = driver.PriorityHigh
		}
		info := driver.Info{
			Label:      LabelPrefix + d.Name,
			DeviceType: driver.Microphone,
			Priority:   prio,
			Name:       fmt.Sprintf("%s-%d", token, i),
		}
		// Register always returns nil in v0.9.4; checked for later versions.
		if err := mgr.Register(&microphone{sys: s, dev: d, cfg: opts.Capture}, info); err != nil {
			unregisterToken(token)
			return nil, fmt.Errorf("pa: register microphone %q: %w", d.Name, err)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { unregisterToken(token) }) }, nil
}

func unregisterToken(token string) {
	mgr := driver.GetManager()
	prefix := token + "-"
	for _, d := range mgr.Query(func(d driver.Driver) bool {
		n := d.Info().Name
		return len(n) > len(prefix) && n[:len(prefix)] == prefix
	}) {
		_ = d.Close()
		mgr.Delete(d.ID())
	}
}

// microphone is the driver.Adapter + driver.AudioRecorder for one device.
// mediadevices opens and closes adapters just to read their properties, so
// Open is cheap and the PortAudio stream starts only in AudioRecord.
type microphone struct {
	sys *System
	dev Device
	cfg CaptureConfig

	mu  sync.Mutex
	cap *Capture
}

var (
	_ driver.Adapter       = (*microphone)(nil)
	_ driver.AudioRecorder = (*microphone)(nil)
)

func (m *microphone) Open() error {
	return m.sys.owns(m.dev)
}

func (m *microphone) Close() error {
	m.mu.Lock()
	c := m.cap
	m.cap = nil
	m.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}

func (m *microphone) Properties() []prop.Media {
	return []prop.Media{{
		Audio: prop.Audio{
			ChannelCount:  1,
			Latency:       20 * time.Millisecond,
			SampleRate:    SampleRate,
			SampleSize:    2,
			IsInterleaved: true,
			IsFloat:       false,
		},
	}}
}

// AudioRecord starts capture. The chunk length follows the negotiated
// latency (20 ms unless the constraints asked otherwise).
func (m *microphone) AudioRecord(p prop.Media) (audio.Reader, error) {
	chunk := FrameSamples
	if p.Latency > 0 {
		chunk = int(p.Latency * SampleRate / time.Second)
	}
	if p.SampleRate != 0 && p.SampleRate != SampleRate {
		return nil, fmt.Errorf("pa: microphone %q: sample rate %d unsupported (only %d)", m.dev.Name, p.SampleRate, SampleRate)
	}
	c, err := m.sys.OpenCapture(m.dev, m.cfg)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	old := m.cap
	m.cap = c
	m.mu.Unlock()
	if old != nil {
		// mediadevices records once per open; a leftover stream is stale.
		_ = old.Close()
	}
	return c.AudioReader(chunk), nil
}
