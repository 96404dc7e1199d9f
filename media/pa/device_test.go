package pa

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDeviceString(t *testing.T) {
	tests := []struct {
		dev  Device
		want string
	}{
		{
			Device{Index: 3, Name: "system", HostAPI: "JACK Audio Connection Kit", MaxInputChannels: 2, MaxOutputChannels: 2,
				DefaultSampleRate: 48000, DefaultInput: true, DefaultOutput: true},
			"[3] system (JACK Audio Connection Kit) in:2 out:2 48000 Hz [default in, default out]",
		},
		{
			Device{Index: 0, Name: "hw:0,0", HostAPI: "ALSA", MaxOutputChannels: 2, DefaultSampleRate: 44100},
			"[0] hw:0,0 (ALSA) in:0 out:2 44100 Hz",
		},
	}
	for _, tt := range tests {
		if got := tt.dev.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestWriteDeviceTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDeviceTable(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "no audio devices") || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("empty table: %q", b.String())
	}
	b.Reset()
	devs := []Device{
		{Index: 0, Name: "system", HostAPI: "JACK Audio Connection Kit", MaxInputChannels: 2, MaxOutputChannels: 2, DefaultSampleRate: 48000, DefaultInput: true},
		{Index: 1, Name: "other", HostAPI: "ALSA", MaxOutputChannels: 2, DefaultSampleRate: 44100, DefaultOutput: true},
	}
	if err := WriteDeviceTable(&b, devs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "INDEX") ||
		!strings.Contains(lines[1], "default in") || !strings.Contains(lines[2], "default out") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestFindWithoutDevices(t *testing.T) {
	s := &System{streams: map[*stream]struct{}{}}
	if _, err := s.DefaultInput(); !errors.Is(err, ErrNoInputDevice) {
		t.Errorf("DefaultInput: %v, want ErrNoInputDevice", err)
	}
	if _, err := s.FindOutput("speaker"); !errors.Is(err, ErrNoOutputDevice) {
		t.Errorf("FindOutput: %v, want ErrNoOutputDevice", err)
	}
}
