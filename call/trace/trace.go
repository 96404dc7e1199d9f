// Package trace records what a support engineer needs to understand a
// call into a JSON-lines file: signaling frames both ways, engine events
// and state transitions, ICE candidates and the selected pair, per-second
// quality figures, devices, versions and configuration. Secrets (tokens,
// passwords, TURN credentials, ICE passwords in SDP) are redacted before
// anything is written. The file is read back by Read / NewReader, and
// rendered by Show (a timeline) and WriteStats (quality over time).
//
// One line is one Record:
//
//	{"t":"2026-11-26T11:00:00.123Z","kind":"signal.out","account":"alice","device":"d1","data":{...}}
package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Record kinds.
const (
	KindVersion   = "version"    // Go, module and OS versions (first line)
	KindConfig    = "config"     // the effective configuration, redacted
	KindDevices   = "devices"    // audio/video sources and sinks in use
	KindEngine    = "engine"     // engine created / closed
	KindSignalIn  = "signal.in"  // a frame from the signaling server
	KindSignalOut = "signal.out" // a frame to the signaling server
	KindEvent     = "event"      // an engine event (INVITED, USER_ACCEPT, ...)
	KindState     = "state"      // a call state transition
	KindICELocal  = "ice.local"  // a local ICE candidate
	KindICERemote = "ice.remote" // a remote ICE candidate
	KindICEPair   = "ice.pair"   // the candidate pair ICE selected
	KindMedia     = "media"      // media connection state changes
	KindStats     = "stats"      // one STATS sample
)

// Kinds are every record kind, in the order a call produces them.
var Kinds = []string{KindVersion, KindConfig, KindDevices, KindEngine, KindSignalIn, KindSignalOut,
	KindEvent, KindState, KindICELocal, KindICERemote, KindICEPair, KindMedia, KindStats}

// Record is one line of a trace file.
type Record struct {
	Time    time.Time       `json:"t"`
	Kind    string          `json:"kind"`
	Account string          `json:"account,omitempty"`
	Device  string          `json:"device,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Source says which engine a record comes from; several engines (a
// scenario with several accounts) may share one Writer.
type Source struct {
	Account, Device string
}

// flushEvery bounds how long a record may sit in the buffer while more
// records keep coming: a crash then loses at most about this much.
const flushEvery = time.Second

// Writer appends records to a trace. It buffers writes (a slow disk delays
// at most the flushes, about once a second), is safe for concurrent use,
// and a nil *Writer discards everything, so callers need no checks.
// After a write error the Writer drops further records; Err and Close
// report the error.
type Writer struct {
	mu        sync.Mutex
	bw        *bufio.Writer
	closer    io.Closer
	secrets   []string
	lastFlush time.Time
	err       error
	closed    bool
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("trace closed")

// Create truncates or creates path (mode 0600: traces describe people's
// calls) and writes the version record.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create trace: %w", err)
	}
	w := NewWriter(f)
	w.closer = f
	return w, nil
}

// NewWriter writes a trace to out (the caller closes out after Close) and
// writes the version record.
func NewWriter(out io.Writer) *Writer {
	w := &Writer{bw: bufio.NewWriterSize(out, 32<<10), lastFlush: time.Now()}
	w.Log(time.Now(), Source{}, KindVersion, Versions())
	return w
}

// AddSecret registers a secret value (a token) that must never appear in
// the trace: it is replaced wherever it occurs inside a string, whatever
// the field. Values shorter than 6 characters are ignored (they would match
// too much to be meaningful secrets).
func (w *Writer) AddSecret(s string) {
	if w == nil || len(s) < 6 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, have := range w.secrets {
		if have == s {
			return
		}
	}
	w.secrets = append(w.secrets, s)
}

// Log appends one record. data is any JSON-marshalable value; a []byte or
// json.RawMessage holding JSON is embedded as is, other bytes as a string.
// Everything is redacted first. Errors are kept for Err/Close, never
// returned: tracing must not disturb the call.
func (w *Writer) Log(at time.Time, src Source, kind string, data any) {
	if w == nil {
		return
	}
	w.mu.Lock()
	secrets := w.secrets
	w.mu.Unlock()
	raw, err := redactValue(data, secrets)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"traceError": err.Error()})
	}
	line, err := json.Marshal(Record{Time: at.UTC(), Kind: kind, Account: src.Account, Device: src.Device, Data: raw})
	if err != nil {
		return // unreachable: every field marshals
	}
	line = append(line, '\n')

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return
	}
	if _, err := w.bw.Write(line); err != nil {
		w.err = fmt.Errorf("write trace: %w", err)
		return
	}
	if now := time.Now(); now.Sub(w.lastFlush) >= flushEvery {
		w.lastFlush = now
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("write trace: %w", err)
		}
	}
}

// Flush writes buffered records out.
func (w *Writer) Flush() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil || w.closed {
		return w.err
	}
	w.lastFlush = time.Now()
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("write trace: %w", err)
	}
	return w.err
}

// Err returns the first write error, if any.
func (w *Writer) Err() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close flushes and closes the file. Later records are dropped. Closing
// twice returns the first result.
func (w *Writer) Close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("write trace: %w", err)
		}
	}
	if w.closer != nil {
		if err := w.closer.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("close trace: %w", err)
		}
	}
	return w.err
}

// VersionInfo is the data of the version record.
type VersionInfo struct {
	Go          string            `json:"go"`
	OS          string            `json:"os"`
	Arch        string            `json:"arch"`
	Module      string            `json:"module,omitempty"`
	Version     string            `json:"version,omitempty"`
	Revision    string            `json:"revision,omitempty"`
	RevisionAt  string            `json:"revisionTime,omitempty"`
	Modified    bool              `json:"modified,omitempty"`
	CPUs        int               `json:"cpus"`
	Deps        map[string]string `json:"deps,omitempty"`
	ProcessArgs int               `json:"args"` // count only: arguments may hold tokens
}

// tracedDeps are the dependencies whose versions matter to a media
// problem.
var tracedDeps = map[string]bool{
	"github.com/pion/webrtc/v4": true, "github.com/pion/ice/v4": true, "github.com/pion/dtls/v3": true,
	"github.com/pion/mediadevices": true, "github.com/pion/interceptor": true, "github.com/pion/transport/v5": true,
	"github.com/gordonklaus/portaudio": true, "github.com/nats-io/nats-server/v2": true,
}

// Versions describes this binary: Go version, OS, the main module's version
// and VCS revision, and the versions of the media stack.
func Versions() VersionInfo {
	v := VersionInfo{Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), ProcessArgs: len(os.Args)}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.Version = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.RevisionAt = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	for _, d := range bi.Deps {
		if tracedDeps[d.Path] {
			if v.Deps == nil {
				v.Deps = map[string]string{}
			}
			v.Deps[d.Path] = d.Version
		}
	}
	return v
}
