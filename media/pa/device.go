package pa

import (
	"fmt"
	"strconv"
	"strings"
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

// DeviceRows is devices as a table, the header first: what `softphone
// devices` prints, aligned by the caller (names may be CJK, which only a
// display-width-aware writer lines up).
func DeviceRows(devs []Device) [][]string {
	rows := [][]string{{"INDEX", "NAME", "HOST API", "IN", "OUT", "RATE", "DEFAULT"}}
	for _, d := range devs {
		rows = append(rows, []string{strconv.Itoa(d.Index), d.Name, d.HostAPI, strconv.Itoa(d.MaxInputChannels),
			strconv.Itoa(d.MaxOutputChannels), strconv.FormatFloat(d.DefaultSampleRate, 'f', 0, 64), d.defaultMarks()})
	}
	return rows
}
