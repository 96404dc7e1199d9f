package pa

import (
	"errors"
	"fmt"
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

func TestDeviceRows(t *testing.T) {
	if rows := DeviceRows(nil); len(rows) != 1 || rows[0][0] != "INDEX" {
		t.Errorf("empty table: %q", rows)
	}
	devs := []Device{
		{Index: 0, Name: "system", HostAPI: "JACK Audio Connection Kit", MaxInputChannels: 2, MaxOutputChannels: 2, DefaultSampleRate: 48000, DefaultInput: true},
		{Index: 1, Name: "other", HostAPI: "ALSA", MaxOutputChannels: 2, DefaultSampleRate: 44100, DefaultOutput: true},
	}
	rows := DeviceRows(devs)
	want := [][]string{
		{"INDEX", "NAME", "HOST API", "IN", "OUT", "RATE", "DEFAULT"},
		{"0", "system", "JACK Audio Connection Kit", "2", "2", "48000", "default in"},
		{"1", "other", "ALSA", "0", "2", "44100", "default out"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows = %q, want %q", rows, want)
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
