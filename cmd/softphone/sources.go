package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/pion/mediadevices"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/videosrc"
)

// checkSources looks at the media sources and sinks of mc before anything
// connects: files are opened and their headers read, device names looked
// up. A typo is then one line and no call, instead of a call that sends
// silence. "default" is not checked: a machine without a sound card or
// camera still makes calls (with a MEDIA_WARNING), as it always has. nil
// (signaling only) has nothing to check.
func checkSources(mc *call.MediaConfig) error {
	if mc == nil {
		return nil
	}
	var sys *pa.System
	defer func() {
		if sys != nil {
			_ = sys.Close()
		}
	}()
	device := func(flag, name string, input bool) error {
		if sys == nil {
			var err error
			if sys, err = pa.Open(pa.Options{}); err != nil {
				return fmt.Errorf("%s %q: PortAudio unavailable: %w", flag, name, err)
			}
		}
		find := sys.FindOutput
		if input {
			find = sys.FindInput
		}
		if _, err := find(name); err != nil {
			return fmt.Errorf("%s %q: %w (softphone devices lists them)", flag, name, err)
		}
		return nil
	}
	isFile := func(src, ext string) bool { return strings.HasSuffix(strings.ToLower(src), ext) }

	switch in := mc.AudioIn; {
	case in == "", in == call.SourceDefault, in == call.SourceNone, in == call.SourceTone, in == call.SourceSilence:
	case isFile(in, ".wav"):
		src, _, err := audiosrc.NewWAVFile(in, audiosrc.Options{})
		if err != nil {
			return fileError("--audio-in", in, err)
		}
		_ = src.Close()
	default:
		if err := device("--audio-in", in, true); err != nil {
			return err
		}
	}
	switch out := mc.AudioOut; out {
	case "", call.SourceDefault, call.SourceNone:
	default:
		if err := device("--audio-out", out, false); err != nil {
			return err
		}
	}
	switch vin := mc.VideoIn; {
	case vin == "", vin == call.SourceDefault, vin == call.SourceNone, vin == call.SourceTestsrc:
	case isFile(vin, ".y4m"):
		y, err := videosrc.OpenY4M(vin, videosrc.Y4MOptions{})
		if err != nil {
			return fileError("--video-in", vin, err)
		}
		_ = y.Close()
	case strings.HasPrefix(vin, "/dev/"):
		if _, err := os.Stat(vin); err != nil {
			return fileError("--video-in", vin, err)
		}
	default:
		if !cameraFound(vin) {
			return fmt.Errorf("--video-in %q: no such camera (softphone devices lists them)", vin)
		}
	}
	return checkRecordDir(mc.RecordDir)
}

// checkRecordDir makes sure --record names a directory the call can write
// its files into: created when missing, refused when it is a file or not
// writable. Found only when the call connects, the recording would be lost
// without a word.
func checkRecordDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fileError("--record", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".softphone-record-*")
	if err != nil {
		return fileError("--record", dir, err)
	}
	_ = probe.Close()
	return os.Remove(probe.Name())
}

// fileError names the flag and says briefly what is wrong with the file:
// the decoder's own reason, without the layers that repeat the path.
func fileError(flag, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %q: no such file", flag, path)
	}
	root := err
	for u := errors.Unwrap(root); u != nil; u = errors.Unwrap(root) {
		root = u
	}
	why := root.Error()
	for _, pkg := range []string{"audiosrc: ", "videosrc: "} {
		why = strings.TrimPrefix(why, pkg)
	}
	return fmt.Errorf("%s %q: %s", flag, path, why)
}

// cameraFound reports whether a camera's label contains name.
func cameraFound(name string) bool {
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Kind == mediadevices.VideoInput && strings.Contains(d.Label, name) {
			return true
		}
	}
	return false
}
