package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Second is one STATS event of a side (the figures of one interval).
type Second struct {
	T        float64 `json:"t"` // seconds since the side's first STATS
	Fps      float64 `json:"fps"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	SendFps  float64 `json:"sendFps"`
	SendW    int     `json:"sendWidth"`
	SendH    int     `json:"sendHeight"`
	SendKbps float64 `json:"sendKbps"`
	VSend    float64 `json:"videoSendKbps"`
	ASend    float64 `json:"audioSendKbps"`
	Target   float64 `json:"targetKbps"`
	LossPct  float64 `json:"lossPct"`
	RttMs    float64 `json:"rttMs"`
	Mos      float64 `json:"mos"`
	FreezeMs float64 `json:"freezeMs"` // when the build reports it
}

// SideVideo summarises what one side received and sent.
type SideVideo struct {
	Seconds []Second `json:"seconds"`
	// After the first three seconds:
	FpsMean       float64        `json:"fpsMean"`
	FpsMin        float64        `json:"fpsMin"`
	Below15       int            `json:"secondsBelow15fps"`
	Frozen        int            `json:"secondsAt0fps"`
	LongestFrozen int            `json:"longestRunAt0fps"`
	Resolutions   map[string]int `json:"resolutions"` // received WxH → seconds
	FreezeMsSum   float64        `json:"freezeMsSum"`
	// After the first five seconds, what this side sent against its target:
	SendKbpsMean   float64 `json:"sendKbpsMean"`
	SendKbpsMax    float64 `json:"sendKbpsMax"`
	TargetKbpsMean float64 `json:"targetKbpsMean"`
	LossPctMean    float64 `json:"lossPctMean"`
}

// VideoResult is both sides of a video call.
type VideoResult struct {
	A SideVideo `json:"a"`
	B SideVideo `json:"b"`
}

func readStats(path string) ([]Second, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Second
	var first float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Event string          `json:"event"`
			Time  string          `json:"time"`
			Data  json.RawMessage `json:"data"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Event != "STATS" {
			continue
		}
		var s Second
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return nil, fmt.Errorf("%s: STATS: %w", path, err)
		}
		t, err := parseTime(ev.Time)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(out) == 0 {
			first = t
		}
		s.T = math.Round((t-first)*10) / 10
		out = append(out, s)
	}
	return out, sc.Err()
}

func summarise(secs []Second) SideVideo {
	v := SideVideo{Seconds: secs, Resolutions: map[string]int{}, FpsMin: math.Inf(1)}
	var n, nSend, run int
	for i, s := range secs {
		if i >= 3 {
			n++
			v.FpsMean += s.Fps
			v.FpsMin = math.Min(v.FpsMin, s.Fps)
			if s.Fps < 15 {
				v.Below15++
			}
			if s.Fps == 0 {
				v.Frozen++
				run++
				v.LongestFrozen = max(v.LongestFrozen, run)
			} else {
				run = 0
			}
			v.Resolutions[fmt.Sprintf("%dx%d", s.Width, s.Height)]++
			v.FreezeMsSum += s.FreezeMs
		}
		if i >= 5 {
			nSend++
			v.SendKbpsMean += s.SendKbps
			v.SendKbpsMax = math.Max(v.SendKbpsMax, s.SendKbps)
			v.TargetKbpsMean += s.Target
			v.LossPctMean += s.LossPct
		}
	}
	if n > 0 {
		v.FpsMean /= float64(n)
	} else {
		v.FpsMin = 0
	}
	if nSend > 0 {
		v.SendKbpsMean /= float64(nSend)
		v.TargetKbpsMean /= float64(nSend)
		v.LossPctMean /= float64(nSend)
	}
	return v
}

func runVideo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("video", flag.ContinueOnError)
	a := fs.String("a", "", "side A's --json event output")
	b := fs.String("b", "", "side B's --json event output")
	out := fs.String("out", "", "write the result as JSON to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *a == "" || *b == "" {
		return errors.New("video: -a and -b are required")
	}
	sa, err := readStats(*a)
	if err != nil {
		return err
	}
	sb, err := readStats(*b)
	if err != nil {
		return err
	}
	res := VideoResult{A: summarise(sa), B: summarise(sb)}
	if *out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	for _, side := range []struct {
		name string
		v    SideVideo
	}{{"A", res.A}, {"B", res.B}} {
		fmt.Fprintf(stdout, "%s receives: fps mean %.1f min %.0f, %d s below 15 fps, %d s at 0 fps (longest %d), %s; sends %.0f kbps (max %.0f) vs target %.0f\n",
			side.name, side.v.FpsMean, side.v.FpsMin, side.v.Below15, side.v.Frozen, side.v.LongestFrozen,
			resolutions(side.v.Resolutions), side.v.SendKbpsMean, side.v.SendKbpsMax, side.v.TargetKbpsMean)
	}
	fmt.Fprintln(stdout, "t(s)  A: fps WxH send/target kbps loss% | B: fps WxH send/target kbps loss%")
	for i := 0; i < max(len(sa), len(sb)); i++ {
		fmt.Fprintf(stdout, "%4d  %s | %s\n", i, row(sa, i), row(sb, i))
	}
	return nil
}

func row(s []Second, i int) string {
	if i >= len(s) {
		return "-"
	}
	x := s[i]
	return fmt.Sprintf("%4.0f %4dx%-4d %5.0f/%-5.0f %5.1f", x.Fps, x.Width, x.Height, x.SendKbps, x.Target, x.LossPct)
}

func resolutions(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %ds", k, v))
	}
	if len(parts) == 0 {
		return "no video"
	}
	sortStrings(parts)
	return strings.Join(parts, ", ")
}
