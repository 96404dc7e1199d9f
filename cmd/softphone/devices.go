package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pion/mediadevices"
	// The V4L2 camera driver: registers nothing on a machine without
	// cameras. It is linked here, in the binary, not in package call.
	_ "github.com/pion/mediadevices/pkg/driver/camera"
	"github.com/spf13/cobra"

	"github.com/softphone/softphone/internal/termsafe"
	"github.com/softphone/softphone/media/pa"
)

func newDevicesCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the audio devices and cameras calls can use",
		Long: `List the audio devices PortAudio sees (names for --audio-in and --audio-out)
and the cameras (for --video-in and --cameras).`,
		Example: `  softphone devices
  softphone devices --json | jq -r '.audio[] | select(.maxInputChannels > 0) | .name'`,
		Args:    noArgs,
		GroupID: groupInfo,
	}
	asJSON := cmd.Flags().Bool("json", false, "print one JSON object: {\"audio\":[...],\"audioError\":\"...\",\"cameras\":[...]}")
	cmd.RunE = c.action(func(context.Context, []string) (int, error) { return runDevices(c, *asJSON) })
	return cmd
}

// audioDevice is one PortAudio device in devices --json.
type audioDevice struct {
	Name              string  `json:"name"`
	HostAPI           string  `json:"hostApi"`
	MaxInputChannels  int     `json:"maxInputChannels"`
	MaxOutputChannels int     `json:"maxOutputChannels"`
	DefaultSampleRate float64 `json:"defaultSampleRate"`
	DefaultInput      bool    `json:"defaultInput"`
	DefaultOutput     bool    `json:"defaultOutput"`
}

// runDevices lists the audio devices PortAudio sees and the cameras.
func runDevices(c *cli, asJSON bool) (int, error) {
	sys, audioErr := pa.Open(pa.Options{})
	var devs []pa.Device
	if audioErr == nil {
		defer sys.Close()
		devs = sys.Devices()
	}
	cams := []string{}
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Kind == mediadevices.VideoInput {
			cams = append(cams, d.Label)
		}
	}
	if asJSON {
		out := struct {
			Audio      []audioDevice `json:"audio"`
			AudioError string        `json:"audioError,omitempty"`
			Cameras    []string      `json:"cameras"`
		}{Audio: []audioDevice{}, Cameras: cams}
		for _, d := range devs {
			out.Audio = append(out.Audio, audioDevice{d.Name, d.HostAPI, d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate, d.DefaultInput, d.DefaultOutput})
		}
		if audioErr != nil {
			out.AudioError = "PortAudio unavailable: " + audioErr.Error()
		}
		b, err := json.Marshal(out)
		if err != nil {
			return exitError, fmt.Errorf("encode devices: %w", err)
		}
		return exitOK, writeJSONLine(c.stdout, b)
	}
	if audioErr != nil {
		fmt.Fprintf(c.stdout, "audio: PortAudio unavailable: %s\n", termsafe.String(audioErr.Error()))
	} else {
		fmt.Fprintln(c.stdout, "audio:")
		if err := writeDeviceTable(c.stdout, devs); err != nil {
			return exitError, fmt.Errorf("write device table: %w", err)
		}
	}
	fmt.Fprintln(c.stdout, "video:")
	for _, l := range cams {
		fmt.Fprintf(c.stdout, "  %s\n", termsafe.String(l))
	}
	if len(cams) == 0 {
		fmt.Fprintln(c.stdout, "  no camera found (calls send the picture of --video-in testsrc or FILE.y4m, or no video)")
	}
	return exitOK, nil
}

// writeDeviceTable prints the audio devices aligned by display width:
// device names come from drivers and, for Bluetooth, from the device, in
// any script (sanitised by WriteTable).
func writeDeviceTable(w io.Writer, devs []pa.Device) error {
	if len(devs) == 0 {
		_, err := fmt.Fprintln(w, "no audio devices (PortAudio found none; is a sound server such as JACK running?)")
		return err
	}
	return termsafe.WriteTable(w, pa.DeviceRows(devs))
}
