package pa

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const noDeviceChildEnv = "SOFTPHONE_PA_NODEVICE_CHILD"

// TestNoDevice runs PortAudio in a child process that cannot reach any JACK
// server (a server name nobody uses) and looks only at the JACK host API, so
// the device list is empty whatever this machine has. The child checks the
// sentinel errors; the parent checks that it exited normally (no crash) and
// that no ALSA/JACK chatter reached stderr.
func TestNoDevice(t *testing.T) {
	if os.Getenv(noDeviceChildEnv) == "1" {
		t.Skip("running as the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoDeviceChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(),
		noDeviceChildEnv+"=1",
		fmt.Sprintf("JACK_DEFAULT_SERVER=softphone-no-such-server-%d", os.Getpid()),
		"JACK_NO_START_SERVER=1",
	)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || !strings.Contains(stdout.String(), "--- PASS: TestNoDeviceChild") {
		t.Fatalf("child failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if s := stderr.String(); s != "" {
		t.Errorf("PortAudio chatter reached stderr:\n%s", s)
	}
}

func TestNoDeviceChild(t *testing.T) {
	if os.Getenv(noDeviceChildEnv) != "1" {
		t.Skip("only runs as TestNoDevice's child")
	}
	s, err := Open(Options{HostAPI: "jack"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if n := len(s.Devices()); n != 0 {
		t.Fatalf("%d JACK devices without a JACK server", n)
	}
	if _, err := s.DefaultInput(); !errors.Is(err, ErrNoInputDevice) {
		t.Errorf("DefaultInput: %v, want ErrNoInputDevice", err)
	}
	if _, err := s.DefaultOutput(); !errors.Is(err, ErrNoOutputDevice) {
		t.Errorf("DefaultOutput: %v, want ErrNoOutputDevice", err)
	}
	if _, err := s.FindInput("system"); !errors.Is(err, ErrNoInputDevice) {
		t.Errorf("FindInput: %v, want ErrNoInputDevice", err)
	}
	if _, err := s.RegisterMicrophones(MicrophoneOptions{}); !errors.Is(err, ErrNoInputDevice) {
		t.Errorf("RegisterMicrophones: %v, want ErrNoInputDevice", err)
	}
	// A zero Device is not one of this System's devices.
	if _, err := s.OpenCapture(Device{}, CaptureConfig{}); err == nil {
		t.Error("OpenCapture(zero Device) succeeded")
	}
	if _, err := s.OpenPlayback(Device{}, PlaybackConfig{}); err == nil {
		t.Error("OpenPlayback(zero Device) succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.DefaultInput(); !errors.Is(err, ErrClosed) {
		t.Errorf("DefaultInput after Close: %v, want ErrClosed", err)
	}

	// Every host API at once must not crash either (the result depends on
	// the machine).
	all, err := Open(Options{})
	if err != nil {
		t.Fatalf("Open all host APIs: %v", err)
	}
	t.Logf("%d devices on all host APIs", len(all.Devices()))
	if err := all.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
