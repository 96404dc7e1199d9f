package main

import (
	"context"
	"fmt"

	"github.com/pion/mediadevices"
	// The V4L2 camera driver: registers nothing on a machine without
	// cameras. It is linked here, in the binary, not in package call.
	_ "github.com/pion/mediadevices/pkg/driver/camera"

	"github.com/softphone/softphone/media/pa"
)

// runDevices lists the audio devices PortAudio sees and the cameras.
func runDevices(_ context.Context, c *cli, args []string) (int, error) {
	cf := newCommandFlags(c, "devices", synopsisOf("devices"))
	if _, err := cf.parse(args); err != nil {
		return exitError, err
	}
	sys, err := pa.Open(pa.Options{})
	if err != nil {
		fmt.Fprintf(c.stdout, "audio: PortAudio unavailable: %v\n", err)
	} else {
		defer sys.Close()
		fmt.Fprintln(c.stdout, "audio:")
		if err := pa.WriteDeviceTable(c.stdout, sys.Devices()); err != nil {
			return exitError, fmt.Errorf("write device table: %w", err)
		}
	}
	fmt.Fprintln(c.stdout, "video:")
	n := 0
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Kind != mediadevices.VideoInput {
			continue
		}
		n++
		fmt.Fprintf(c.stdout, "  %s\n", d.Label)
	}
	if n == 0 {
		fmt.Fprintln(c.stdout, "  no camera found (calls send the picture of --video-in testsrc or FILE.y4m, or no video)")
	}
	return exitOK, nil
}
