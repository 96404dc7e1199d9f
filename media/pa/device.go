package pa

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Device describes one PortAudio device as seen when its System was opened.
type Device struct {
	Index             int
	Name              string
	HostAPI           string
	MaxInputChannels  int
	MaxOutputChannels int
	DefaultSampleRate float64
	// Low-latency figures PortAudio suggests for interactive use.
	InputLatency  time.Duration
	OutputLatency time.Duration
	DefaultInput  bool
	DefaultOutput bool

	gen uint64 // PortAudio initialisation the index belongs to
}

// IsInput reports whether the device can capture.
func (d Device) IsInput() bool { return d.MaxInputChannels > 0 }

// IsOutput reports whether the device can play.
func (d Device) IsOutput() bool { return d.MaxOutputChannels > 0 }

// String is the one-line form used by `softphone devices`, e.g.
// "[3] system (JACK Audio Connection Kit) in:2 out:2 48000 Hz [default in, default out]".
func (d Device) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d] %s", d.Index, d.Name)
	if d.HostAPI != "" {
		fmt.Fprintf(&b, " (%s)", d.HostAPI)
	}
	fmt.Fprintf(&b, " in:%d out:%d %.0f Hz", d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate)
	if m := d.defaultMarks(); m != "" {
		fmt.Fprintf(&b, " [%s]", m)
	}
	return b.String()
}

func (d Device) defaultMarks() string {
	var marks []string
	if d.DefaultInput {
		marks = append(marks, "default in")
	}
	if d.DefaultOutput {
		marks = append(marks, "default out")
	}
	return strings.Join(marks, ", ")
}

// WriteDeviceTable prints devices as an aligned table, one per line, with a
// header; with no devices it prints a single explanatory line instead.
func WriteDeviceTable(w io.Writer, devs []Device) error {
	if len(devs) == 0 {
		_, err := fmt.Fprintln(w, "no audio devices (PortAudio found none; is a sound server such as JACK running?)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tHOST API\tIN\tOUT\tRATE\tDEFAULT")
	for _, d := range devs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.0f\t%s\n", d.Index, d.Name, d.HostAPI,
			d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate, d.defaultMarks())
	}
	return tw.Flush()
}
