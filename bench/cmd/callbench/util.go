package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/softphone/softphone/media/audiosrc"
)

func parseTime(s string) (float64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return float64(t.UnixNano()) / 1e9, nil
}

func sortStrings(s []string) { slices.Sort(s) }

func loadWAV(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, _, err := audiosrc.LoadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// runWAVInfo prints a WAV file's length in seconds.
func runWAVInfo(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("wavinfo: want one WAV file")
	}
	s, err := loadWAV(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%.3f\n", float64(len(s))/audiosrc.SampleRate)
	return nil
}

// runPad writes a 48 kHz mono copy of a WAV with silence before it.
func runPad(args []string) error {
	fs := flag.NewFlagSet("pad", flag.ContinueOnError)
	in := fs.String("in", "", "WAV to copy")
	lead := fs.Duration("lead", 0, "silence before it")
	out := fs.String("out", "", "WAV to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || *lead < 0 {
		return errors.New("pad: -in and -out are required, -lead not negative")
	}
	s, err := loadWAV(*in)
	if err != nil {
		return err
	}
	n := int(lead.Seconds() * audiosrc.SampleRate)
	return audiosrc.WriteWAVFile(*out, audiosrc.SampleRate, append(make([]int16, n), s...))
}
