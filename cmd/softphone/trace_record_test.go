package main

import (
	"slices"
	"testing"

	"github.com/softphone/softphone/call"
)

// TestConfigRecordMedia: the trace's config record carries the media
// settings a support engineer needs to reproduce a call, the camera round
// included.
func TestConfigRecordMedia(t *testing.T) {
	media := &call.MediaConfig{AudioIn: call.SourceTone, VideoIn: call.SourceTestsrc, Cameras: []string{call.SourceTestsrc, "clip.y4m"}, RelayOnly: true}
	rec := configRecord(&Config{}, media)
	m, ok := rec["media"].(map[string]any)
	if !ok {
		t.Fatalf("media record %T, want a map", rec["media"])
	}
	if m["audioIn"] != call.SourceTone || m["videoIn"] != call.SourceTestsrc || m["relayOnly"] != true {
		t.Errorf("media record %v", m)
	}
	if got, _ := m["cameras"].([]string); !slices.Equal(got, media.Cameras) {
		t.Errorf("cameras %v, want %v", m["cameras"], media.Cameras)
	}
	if rec := configRecord(&Config{}, nil); rec["media"] != "none (signaling only)" {
		t.Errorf("signaling-only media record %v", rec["media"])
	}
}
