package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/softphone/softphone/bench/audiocheck"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
)

// Leg is one direction of a call: the speech one side sent as the other
// side played it.
type Leg struct {
	Placement audiocheck.Placement `json:"placement"`
	Local     audiocheck.Placement `json:"local"` // the sender's own local.wav
	PESQ      *float64             `json:"pesqWB,omitempty"`
	PESQErr   string               `json:"pesqError,omitempty"`
	Shifts    int                  `json:"shifts"`
	InSpeech  int                  `json:"shiftsInSpeech"`
	Coverage  float64              `json:"coverage"`
	// LocalCoverage is the share of the sender's own local.wav that
	// matches the speech it read: below 0.9 the sender's capture was
	// starved of CPU (chunks late or dropped), so the call measured the
	// machine's load as much as the network.
	LocalCoverage float64 `json:"localCoverage"`
}

// Starved reports whether the sender's capture looks CPU-starved.
func (l Leg) Starved() bool { return l.LocalCoverage < 0.9 }

// AudioResult is the analysis of one two-way call.
type AudioResult struct {
	AtoB Leg `json:"aToB"` // A's speech in B's remote.wav
	BtoA Leg `json:"bToA"`
	// MouthToEarMs is half the sum of both directions' delays from the
	// sender's capture timeline to the receiver's playout timeline (each
	// side's recorder keeps its two tracks on one wall clock, so the
	// unknown start offset between the two processes cancels); First is
	// the same from the first matched windows. Not given when a sender's
	// capture was starved (its local.wav is no clock to measure from).
	MouthToEarMs      *float64 `json:"mouthToEarMs,omitempty"`
	MouthToEarFirstMs *float64 `json:"mouthToEarFirstMs,omitempty"`
}

type pcm struct {
	at8, at16 []int16
}

func loadPCM(path string) (pcm, error) {
	f, err := os.Open(path)
	if err != nil {
		return pcm{}, err
	}
	defer f.Close()
	s, _, err := audiosrc.LoadWAV(f)
	if err != nil {
		return pcm{}, fmt.Errorf("%s: %w", path, err)
	}
	return pcm{
		at8:  audiocheck.Downsample(s, audiosrc.SampleRate, audiocheck.AlignRate),
		at16: audiocheck.Downsample(s, audiosrc.SampleRate, audiocheck.PESQRate),
	}, nil
}

func runAudio(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audio", flag.ContinueOnError)
	refA := fs.String("ref", "", "speech WAV side A sent")
	refB := fs.String("ref-b", "", "speech WAV side B sent (default: -ref)")
	dirA := fs.String("a", "", "side A's --record directory")
	dirB := fs.String("b", "", "side B's --record directory")
	pesq := fs.String("pesq", os.Getenv("PESQ"), "P.862 scorer run as `TOOL` +16000 +wb REF DEG (default $PESQ; empty: no PESQ)")
	out := fs.String("out", "", "write the result as JSON to FILE")
	cut := fs.Bool("cut", true, "write the aligned received speech as received-16k.wav into each directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *refA == "" || *dirA == "" || *dirB == "" {
		return errors.New("audio: -ref, -a and -b are required")
	}
	if *refB == "" {
		*refB = *refA
	}
	load := map[string]pcm{}
	for _, p := range []string{*refA, *refB,
		filepath.Join(*dirA, record.LocalFile), filepath.Join(*dirA, record.RemoteFile),
		filepath.Join(*dirB, record.LocalFile), filepath.Join(*dirB, record.RemoteFile)} {
		if _, ok := load[p]; ok {
			continue
		}
		v, err := loadPCM(p)
		if err != nil {
			return err
		}
		load[p] = v
	}
	leg := func(ref, senderDir, receiverDir string) Leg {
		r := load[ref]
		var l Leg
		l.Placement, _ = audiocheck.Locate(r.at8, load[filepath.Join(receiverDir, record.RemoteFile)].at8, audiocheck.Options{})
		l.Local, _ = audiocheck.Locate(r.at8, load[filepath.Join(senderDir, record.LocalFile)].at8, audiocheck.Options{})
		l.Shifts, l.InSpeech = l.Placement.ShiftCounts()
		l.Coverage = math.Round(l.Placement.Coverage()*1000) / 1000
		l.LocalCoverage = math.Round(l.Local.Coverage()*1000) / 1000
		if l.Placement.Found == 0 {
			l.PESQErr = "the sent speech was not found in remote.wav"
			return l
		}
		deg := audiocheck.Cut(load[filepath.Join(receiverDir, record.RemoteFile)].at16, len(r.at16), l.Placement.OffsetMs)
		if *cut {
			_ = audiosrc.WriteWAVFile(filepath.Join(receiverDir, "received-16k.wav"), audiocheck.PESQRate, deg)
		}
		if *pesq == "" {
			l.PESQErr = "no scorer (set PESQ)"
			return l
		}
		score, err := audiocheck.PESQ(context.Background(), *pesq, r.at16, deg)
		if err != nil {
			l.PESQErr = err.Error()
			return l
		}
		l.PESQ = &score
		return l
	}
	res := AudioResult{
		AtoB: leg(*refA, *dirA, *dirB),
		BtoA: leg(*refB, *dirB, *dirA),
	}
	if res.AtoB.Placement.Found > 0 && res.BtoA.Placement.Found > 0 && !res.AtoB.Starved() && !res.BtoA.Starved() {
		m := (res.AtoB.Placement.OffsetMs - res.AtoB.Local.OffsetMs + res.BtoA.Placement.OffsetMs - res.BtoA.Local.OffsetMs) / 2
		f := (res.AtoB.Placement.FirstOffsetMs - res.AtoB.Local.FirstOffsetMs + res.BtoA.Placement.FirstOffsetMs - res.BtoA.Local.FirstOffsetMs) / 2
		res.MouthToEarMs, res.MouthToEarFirstMs = &m, &f
	}
	if *out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "A→B %s | B→A %s | mouth-to-ear %s\n", res.AtoB.summary(), res.BtoA.summary(), fmtMs(res.MouthToEarMs))
	return nil
}

func (l Leg) summary() string {
	score := "PESQ n/a"
	if l.PESQ != nil {
		score = fmt.Sprintf("PESQ-WB %.2f", *l.PESQ)
	}
	starved := ""
	if l.Starved() {
		starved = fmt.Sprintf(" [sender capture CPU-starved: local.wav %.0f%% matched]", 100*l.LocalCoverage)
	}
	return fmt.Sprintf("%s, shifts %d (%d in speech), drift %.0f ms, found %.0f%%%s",
		score, l.Shifts, l.InSpeech, l.Placement.DriftMs, 100*l.Coverage, starved)
}

func fmtMs(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.0f ms", *v)
}
