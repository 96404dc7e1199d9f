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

	"github.com/softphone/softphone/bench/bridge"
	"github.com/softphone/softphone/bench/netem"
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
	// RecvSuspended: the peer said its video is paused for want of
	// bandwidth (the TUI shows it), when the build reports it.
	RecvSuspended bool `json:"recvSuspended"`
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
	// Seconds under 5 fps while the peer's video was suspended (with the
	// notice) and without it.
	Below5Suspended int `json:"secondsBelow5fpsSuspended"`
	Below5Unnoticed int `json:"secondsBelow5fpsNotSuspended"`
	// After the first five seconds, what this side sent against its target:
	SendKbpsMean   float64 `json:"sendKbpsMean"`
	SendKbpsMax    float64 `json:"sendKbpsMax"`
	TargetKbpsMean float64 `json:"targetKbpsMean"`
	LossPctMean    float64 `json:"lossPctMean"`
	// With a profile that lifts its cap during the call (a plan): the full
	// size (the largest picture received in the call) and how many seconds
	// after the lift it came back to stay; -1: not by the end.
	FullSize  string `json:"fullSize,omitempty"`
	FullBackS *int   `json:"fullBackAfterLiftS,omitempty"`
}

// Wire is one direction's traffic through the bridge (every frame, as a
// router counts it), per second from the sender's first STATS on.
type Wire struct {
	CapKbps     float64   `json:"capKbps,omitempty"`
	OfferedKbps []float64 `json:"offeredKbps"`
	// SettleS is the first second from which the offered rate stays at or
	// below the cap to the end of the call (0 without a cap, -1 never).
	SettleS   int     `json:"settleS"`
	MeanAfter float64 `json:"offeredKbpsMeanAfter5s"`
	// LiftS is the second the first profile of a plan ended (the cap was
	// lifted), nil when the profile held the whole call; SettleS then
	// judges the seconds before it.
	LiftS *int `json:"liftS,omitempty"`
}

// VideoResult is both sides of a video call.
type VideoResult struct {
	A    SideVideo `json:"a"`
	B    SideVideo `json:"b"`
	AtoB *Wire     `json:"wireAtoB,omitempty"`
	BtoA *Wire     `json:"wireBtoA,omitempty"`
}

// wireFrom cuts a bridge direction's per-second counts to the call as the
// sender saw it, starting at its first STATS (unix seconds).
func wireFrom(d bridge.Direction, first float64, seconds int) *Wire {
	w := &Wire{}
	if p, err := netem.ParseProfile(d.Profile); err == nil && p.RateBps > 0 {
		w.CapKbps = float64(p.RateBps) / 1000
	}
	off := int(math.Floor(first - float64(d.Start.UnixNano())/1e9))
	for i := 0; i < seconds; i++ {
		v := 0.0
		if j := off + i; j >= 0 && j < len(d.OfferedKbps) {
			v = d.OfferedKbps[j]
		}
		w.OfferedKbps = append(w.OfferedKbps, v)
	}
	end := len(w.OfferedKbps) - 1 // the hang-up second is partial
	if len(d.Switched) > 0 {
		lift := int(math.Floor(float64(d.Switched[0].At.UnixNano())/1e9 - first))
		w.LiftS = &lift
		end = min(end, max(lift, 0))
	}
	var n int
	for i, v := range w.OfferedKbps {
		if i >= 5 && i < end {
			w.MeanAfter += v
			n++
		}
	}
	if n > 0 {
		w.MeanAfter /= float64(n)
	}
	if w.CapKbps > 0 {
		w.SettleS = 0
		// The last second is cut by the hang-up (or the cap lifted then);
		// judge the ones before.
		for i := end - 1; i >= 0; i-- {
			if w.OfferedKbps[i] > w.CapKbps {
				w.SettleS = i + 1
				break
			}
		}
		// Under the cap only as the call winds down is not settling.
		if w.SettleS >= end-2 {
			w.SettleS = -1
		}
	}
	return w
}

// readStats returns a side's STATS and the unix time of the first.
func readStats(path string) ([]Second, float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
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
			return nil, 0, fmt.Errorf("%s: STATS: %w", path, err)
		}
		t, err := parseTime(ev.Time)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		if len(out) == 0 {
			first = t
		}
		s.T = math.Round((t-first)*10) / 10
		out = append(out, s)
	}
	return out, first, sc.Err()
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
			if s.Fps < 5 {
				if s.RecvSuspended {
					v.Below5Suspended++
				} else {
					v.Below5Unnoticed++
				}
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
	br := fs.String("bridge", "", "the bridge's -stats FILE of the call: adds the wire rate per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *a == "" || *b == "" {
		return errors.New("video: -a and -b are required")
	}
	sa, firstA, err := readStats(*a)
	if err != nil {
		return err
	}
	sb, firstB, err := readStats(*b)
	if err != nil {
		return err
	}
	res := VideoResult{A: summarise(sa), B: summarise(sb)}
	if *br != "" {
		var st bridge.Stats
		if !readJSON(*br, &st) {
			return fmt.Errorf("video: cannot read %s", *br)
		}
		res.AtoB = wireFrom(st.AtoB, firstA, len(sa))
		res.BtoA = wireFrom(st.BtoA, firstB, len(sb))
	}
	for _, side := range []struct {
		v    *SideVideo
		secs []Second
		w    *Wire // the direction this side receives
	}{{&res.A, sa, res.BtoA}, {&res.B, sb, res.AtoB}} {
		if side.w != nil && side.w.LiftS != nil {
			side.v.FullSize, side.v.FullBackS = fullBack(side.secs, *side.w.LiftS)
		}
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
	for _, side := range []struct {
		name string
		v    SideVideo
	}{{"A", res.A}, {"B", res.B}} {
		fmt.Fprintf(stdout, "%s receives: fps mean %.1f min %.0f, %d s below 15 fps, %d s at 0 fps (longest %d), %d s below 5 fps suspended with notice, %d s without, %s; sends %.0f kbps (max %.0f) vs target %.0f\n",
			side.name, side.v.FpsMean, side.v.FpsMin, side.v.Below15, side.v.Frozen, side.v.LongestFrozen,
			side.v.Below5Suspended, side.v.Below5Unnoticed,
			resolutions(side.v.Resolutions), side.v.SendKbpsMean, side.v.SendKbpsMax, side.v.TargetKbpsMean)
		if b := side.v.FullBackS; b != nil {
			if *b < 0 {
				fmt.Fprintf(stdout, "%s receives: full size %s not back after the cap lifted\n", side.name, side.v.FullSize)
			} else {
				fmt.Fprintf(stdout, "%s receives: full size %s back %d s after the cap lifted\n", side.name, side.v.FullSize, *b)
			}
		}
	}
	for _, w := range []struct {
		name string
		w    *Wire
	}{{"A→B", res.AtoB}, {"B→A", res.BtoA}} {
		if w.w == nil {
			continue
		}
		settle := "no cap"
		switch {
		case w.w.CapKbps == 0:
		case w.w.SettleS < 0:
			settle = fmt.Sprintf("cap %.0f, never at or below it", w.w.CapKbps)
		default:
			settle = fmt.Sprintf("cap %.0f, at or below it from second %d on", w.w.CapKbps, w.w.SettleS)
		}
		fmt.Fprintf(stdout, "wire %s: %.0f kbps after 5 s (%s)\n", w.name, w.w.MeanAfter, settle)
	}
	fmt.Fprintln(stdout, "t(s)  A: fps WxH send/target kbps loss% wire | B: fps WxH send/target kbps loss% wire")
	for i := 0; i < max(len(sa), len(sb)); i++ {
		fmt.Fprintf(stdout, "%4d  %s %s | %s %s\n", i, row(sa, i), wireAt(res.AtoB, i), row(sb, i), wireAt(res.BtoA, i))
	}
	return nil
}

// fullBack finds the full size (the largest picture received) and the
// seconds after lift from which every second but the last (cut by the
// hang-up) shows it at a frame rate above 0; -1 when that never happens.
func fullBack(secs []Second, lift int) (string, *int) {
	best, full := 0, ""
	for _, s := range secs {
		if px := s.Width * s.Height; px > best {
			best, full = px, fmt.Sprintf("%dx%d", s.Width, s.Height)
		}
	}
	back := -1
	for i := len(secs) - 2; i >= max(lift, 0); i-- {
		if secs[i].Width*secs[i].Height != best || secs[i].Fps == 0 {
			break
		}
		back = i - lift
	}
	return full, &back
}

func row(s []Second, i int) string {
	if i >= len(s) {
		return "-"
	}
	x := s[i]
	return fmt.Sprintf("%4.0f %4dx%-4d %5.0f/%-5.0f %5.1f", x.Fps, x.Width, x.Height, x.SendKbps, x.Target, x.LossPct)
}

func wireAt(w *Wire, i int) string {
	if w == nil || i >= len(w.OfferedKbps) {
		return ""
	}
	return fmt.Sprintf("%5.0f", w.OfferedKbps[i])
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
