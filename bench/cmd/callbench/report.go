package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/softphone/softphone/bench/bridge"
)

// callDir is what one call of a run left on disk.
type callDir struct {
	n      int
	audio  *AudioResult
	video  *VideoResult
	bridge *bridge.Stats
	load   string
	failed bool
}

func readJSON(path string, v any) bool {
	data, err := os.ReadFile(path)
	return err == nil && json.Unmarshal(data, v) == nil
}

func readCalls(dir string) []callDir {
	var out []callDir
	for i := 1; ; i++ {
		d := filepath.Join(dir, strconv.Itoa(i))
		if _, err := os.Stat(d); err != nil {
			return out
		}
		c := callDir{n: i}
		var a AudioResult
		if readJSON(filepath.Join(d, "audio.json"), &a) {
			c.audio = &a
		}
		var v VideoResult
		if readJSON(filepath.Join(d, "video.json"), &v) {
			c.video = &v
		}
		var b bridge.Stats
		if readJSON(filepath.Join(d, "bridge.json"), &b) {
			c.bridge = &b
		}
		if l, err := os.ReadFile(filepath.Join(d, "load-before.txt")); err == nil {
			c.load = strings.Fields(string(l))[0]
		}
		if rc, err := os.ReadFile(filepath.Join(d, "call-rc.txt")); err == nil && strings.TrimSpace(string(rc)) != "0" {
			c.failed = true
		}
		out = append(out, c)
	}
}

func pesqOf(l Leg) string {
	if l.PESQ == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *l.PESQ)
}

// runReport prints the markdown tables of a bench-bridge output directory.
func runReport(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("report: want the output directory")
	}
	root := args[0]
	plan, err := os.ReadFile(filepath.Join(root, "plan.txt"))
	if err != nil {
		return err
	}
	var audioRows, videoRows []string
	for _, line := range strings.Split(strings.TrimSpace(string(plan)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 {
			continue
		}
		name, typ, spec := f[0], f[1], f[2]
		if spec == "" {
			spec = "none"
		}
		calls := readCalls(filepath.Join(root, name))
		audioRows = append(audioRows, audioRow(name+" ("+typ+")", spec, calls))
		if typ == "video" {
			for _, c := range calls {
				videoRows = append(videoRows, videoRow(name, c))
			}
		}
	}
	fmt.Fprintln(stdout, "| profile | impairment (each direction) | PESQ-WB per call (A→B/B→A) | mean | min | mouth-to-ear ms per call | time shifts per call (in speech) | wire loss % A→B/B→A | load |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range audioRows {
		fmt.Fprintln(stdout, r)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "† a sender's own local.wav matched the speech it read in < 90 % of windows: its capture was starved of CPU, so that call measured the machine's load as much as the network (no mouth-to-ear for it). Mouth-to-ear is half the two-way sum, from median offsets.")
	if len(videoRows) > 0 {
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "| profile | call | B receives fps mean/min (s < 15 fps, s at 0, s < 5 not suspended) | A receives fps mean/min (s < 15, s at 0, s < 5 not suspended) | received resolutions (B) | A sends / target kbps | B sends / target kbps | wire kbps A→B/B→A after 5 s (≤ cap from s) | audio PESQ-WB A→B/B→A | full size back after the lift, s (B/A) |")
		fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|")
		for _, r := range videoRows {
			fmt.Fprintln(stdout, r)
		}
	}
	return nil
}

func audioRow(name, spec string, calls []callDir) string {
	var per, m2e, shifts, loss, load []string
	var sum, lo float64 = 0, math.Inf(1)
	var n int
	for _, c := range calls {
		if c.failed || c.audio == nil {
			per = append(per, "failed")
			continue
		}
		a := c.audio
		mark := ""
		if a.AtoB.Starved() || a.BtoA.Starved() {
			mark = "†"
		}
		per = append(per, pesqOf(a.AtoB)+"/"+pesqOf(a.BtoA)+mark)
		for _, l := range []Leg{a.AtoB, a.BtoA} {
			if l.PESQ != nil {
				sum += *l.PESQ
				lo = math.Min(lo, *l.PESQ)
				n++
			}
		}
		m2e = append(m2e, fmtMsShort(a.MouthToEarMs))
		shifts = append(shifts, fmt.Sprintf("%d (%d)", a.AtoB.Shifts+a.BtoA.Shifts, a.AtoB.InSpeech+a.BtoA.InSpeech))
		if c.bridge != nil {
			loss = append(loss, fmt.Sprintf("%.1f/%.1f", c.bridge.AtoB.LossPct(), c.bridge.BtoA.LossPct()))
		}
		if c.load != "" {
			load = append(load, c.load)
		}
	}
	mean, min := "–", "–"
	if n > 0 {
		mean, min = fmt.Sprintf("**%.2f**", sum/float64(n)), fmt.Sprintf("%.2f", lo)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", name, spec,
		strings.Join(per, ", "), mean, min, strings.Join(m2e, ", "), strings.Join(shifts, ", "),
		strings.Join(loss, ", "), strings.Join(load, ", "))
}

func videoRow(name string, c callDir) string {
	if c.failed || c.video == nil {
		return fmt.Sprintf("| %s | %d | failed | | | | | | | |", name, c.n)
	}
	v := c.video
	recv := func(s SideVideo) string {
		return fmt.Sprintf("%.1f/%.0f (%d, %d, %d)", s.FpsMean, s.FpsMin, s.Below15, s.Frozen, s.Below5Unnoticed)
	}
	send := func(s SideVideo) string { return fmt.Sprintf("%.0f / %.0f", s.SendKbpsMean, s.TargetKbpsMean) }
	pesq := "–"
	if c.audio != nil {
		pesq = pesqOf(c.audio.AtoB) + "/" + pesqOf(c.audio.BtoA)
	}
	wire := "–"
	if v.AtoB != nil && v.BtoA != nil {
		settle := func(w *Wire) string {
			switch {
			case w.CapKbps == 0:
				return ""
			case w.SettleS < 0:
				return " (never)"
			}
			return fmt.Sprintf(" (%d)", w.SettleS)
		}
		wire = fmt.Sprintf("%.0f%s / %.0f%s", v.AtoB.MeanAfter, settle(v.AtoB), v.BtoA.MeanAfter, settle(v.BtoA))
	}
	back := func(s SideVideo) string {
		switch {
		case s.FullBackS == nil:
			return "–"
		case *s.FullBackS < 0:
			return "never"
		}
		return strconv.Itoa(*s.FullBackS)
	}
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s/%s |", name, c.n, recv(v.B), recv(v.A),
		resolutions(v.B.Resolutions), send(v.A), send(v.B), wire, pesq, back(v.B), back(v.A))
}

func fmtMsShort(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f", *v)
}
