package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoctorAudioDevices checks the real default devices: PASS or a FAIL
// line, never a crash; with the suite's JACK server (SOFTPHONE_TEST_JACK=1)
// they must pass. Named devices that do not exist are a FAIL.
func TestDoctorAudioDevices(t *testing.T) {
	d := &doctor{audioIn: "default", audioOut: "default"}
	defer d.close()
	in, inDetail := d.checkAudioIn()
	out, outDetail := d.checkAudioOut()
	t.Logf("audio-in %s: %s", in, inDetail)
	t.Logf("audio-out %s: %s", out, outDetail)
	// A device that captures nothing but silence is a warning that says
	// so (JACK's dummy backend is such a device).
	if in == checkWarn && !strings.Contains(inDetail, "level silent") {
		t.Fatalf("audio-in warned without saying the input is silent: %s", inDetail)
	}
	if in == checkWarn && !strings.Contains(inDetail, "--audio-in NAME") {
		t.Fatalf("the silent-input warning does not say how to pick another device: %s", inDetail)
	}
	for _, st := range []string{in, out} {
		if st != checkPass && st != checkFail && st != checkWarn {
			t.Fatalf("default device check gave %q", st)
		}
	}
	if os.Getenv("SOFTPHONE_TEST_JACK") == "1" && (in == checkFail || out != checkPass) {
		t.Fatalf("with the JACK test server both default devices must open")
	}
	missing := &doctor{audioIn: "no-such-microphone", audioOut: "no-such-speaker"}
	defer missing.close()
	if st, detail := missing.checkAudioIn(); st != checkFail || !strings.Contains(detail, `audio input "no-such-microphone"`) {
		t.Errorf("missing microphone: %s %s", st, detail)
	}
	if st, detail := missing.checkAudioOut(); st != checkFail || !strings.Contains(detail, `audio output "no-such-speaker"`) {
		t.Errorf("missing speaker: %s %s", st, detail)
	}
}

func TestDoctorSources(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "in.wav")
	if err := writeBurst(wav); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, video string
		audio     string // want status of audio-in
		camera    string // want status of camera
	}{
		{"tone", "testsrc", checkPass, checkPass},
		{"none", "none", checkSkip, checkSkip},
		{wav, "missing.y4m", checkPass, checkFail},
		{"missing.wav", "/dev/video-no-such", checkFail, checkFail},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.video, func(t *testing.T) {
			d := &doctor{audioIn: tt.in, videoIn: tt.video}
			if st, detail := d.checkAudioIn(); st != tt.audio {
				t.Errorf("audio-in %s: %s, want %s", st, detail, tt.audio)
			}
			if st, detail := d.checkCamera(); st != tt.camera {
				t.Errorf("camera %s: %s, want %s", st, detail, tt.camera)
			}
		})
	}
}

func TestDoctorCodecs(t *testing.T) {
	if st, detail := checkCodecs(); st != checkPass {
		t.Fatalf("codecs %s: %s", st, detail)
	}
}
