package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/impair"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
)

// VideoProfiles are the video part's rows (issue 10): each impairs both
// directions of an in-process video call with the product's own --impair.
var VideoProfiles = []struct{ Name, Spec string }{
	{"clean", ""},
	{"loss10", "loss=10%"},
	{"rate300", "rate=300kbps,queue=200ms"},
	{"rate150", "rate=150kbps,queue=200ms"},
	{"combo", "loss=5%,delay=80ms,jitter=20ms,rate=500kbps,queue=200ms"},
}

// videoSkip is how many seconds of each call the summary leaves out (ICE,
// DTLS, the first keyframe, the congestion controller's first overshoot).
const videoSkip = 3

// videoQuality runs one video call per profile between two in-process
// engines, both sending a test signal (audio) and the test pattern at the
// CLI's defaults (360×640@30, video 600–900 kbps), both directions
// impaired, and reports per direction: received frame rate, resolutions,
// frozen time, what was sent against the target, loss and the received
// audio's fidelity. The per-second figures go to video-PROFILE.txt in the
// working directory (--keep keeps it).
func (r *mediaRun) videoQuality(ctx context.Context) error {
	dur := r.plan.VideoDuration
	if dur <= 0 {
		dur = 30 * time.Second
	}
	fmt.Fprintf(r.out, "video: one %s video call per profile, both directions impaired, 360×640@30 test pattern and a test signal both ways, CLI bitrates\n", dur)
	for _, want := range r.plan.VideoProfiles {
		if !slices.ContainsFunc(VideoProfiles, func(p struct{ Name, Spec string }) bool { return p.Name == want }) {
			return fmt.Errorf("unknown video profile %q", want)
		}
	}
	var errs []error
	for _, p := range VideoProfiles {
		if len(r.plan.VideoProfiles) > 0 && !slices.Contains(r.plan.VideoProfiles, p.Name) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := r.videoProfile(ctx, p.Name, p.Spec, dur); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			fmt.Fprintf(r.out, "  %s: %v\n", p.Name, err)
		}
	}
	r.note("video rows: fps is decoded frames per second at the receiver, from second %d on; 'frozen' sums STATS freezeMs (a gap ≥ max(3× the average, average + 150 ms), WebRTC's rule) and gives the longest run; 'sent/target' is the sender's video RTP kbps against its encoder's target (videoTargetKbps) and its total against the estimate (targetKbps); audio is the median correlation of 250 ms windows of the received signal with the sent one, and the share of windows found", videoSkip)
	return errors.Join(errs...)
}

func (r *mediaRun) videoProfile(ctx context.Context, name, spec string, dur time.Duration) error {
	accts, err := r.users(ctx, "v", 2)
	if err != nil {
		return err
	}
	base := filepath.Join(r.dir, "video-"+name)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	secs := dur.Seconds() + 10
	sig := [2][]int16{audiocmp.Signal(secs, 0), audiocmp.Signal(secs, 1.7)}
	var engines [2]*engine
	for i := range engines {
		wav := filepath.Join(base, fmt.Sprintf("sent%d.wav", i))
		if err := writeWAV(wav, sig[i]); err != nil {
			return err
		}
		m := &call.MediaConfig{
			AudioIn: wav, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
			VideoWidth: 360, VideoHeight: 640, FPS: 30, MinBitrate: benchMinKbps, MaxBitrate: benchMaxKbps,
			RecordDir: filepath.Join(base, fmt.Sprintf("rec%d", i)),
		}
		if spec != "" {
			ic, err := impair.Parse(fmt.Sprintf("%s,seed=%d", spec, 100+i))
			if err != nil {
				return err
			}
			m.Net = ic.Net(nil)
		}
		e, err := r.newEngine(ctx, accts[i], m)
		if err != nil {
			if i == 1 {
				_ = engines[0].Close()
			}
			return err
		}
		engines[i] = e
	}
	if _, err := dialPair(ctx, engines[0], engines[1], protocol.CallVideo, nil); err != nil {
		hangup(ctx, engines[0], engines[1])
		return err
	}
	select {
	case <-time.After(dur):
	case <-ctx.Done():
	}
	hangup(ctx, engines[0], engines[1])

	var st [2][]call.CallStats
	for i, e := range engines {
		e.mu.Lock()
		st[i] = slices.Clone(e.stats)
		e.mu.Unlock()
	}
	f, err := os.Create(filepath.Join(r.dir, "video-"+name+".txt"))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "%s (%s, both directions)\nt  | A receives: fps WxH frozen-ms loss%% | A sends: kbps video/target total/estimate rtx | B receives … | B sends …\n", name, spec)
	for t := range min(len(st[0]), len(st[1])) {
		fmt.Fprintf(f, "%2d", t)
		for _, s := range []call.CallStats{st[0][t], st[1][t]} {
			fmt.Fprintf(f, " | %4.1f %dx%d %4.0f %4.1f | %4.0f/%4.0f %4.0f/%4.0f %3.0f",
				s.Fps, s.Width, s.Height, s.FreezeMs, s.LossPct, s.VideoSendKbps, s.VideoTargetKbps, s.SendKbps, s.TargetKbps, s.RtxKbps)
		}
		fmt.Fprintln(f)
	}
	for dir, ends := range [][2]int{{0, 1}, {1, 0}} {
		from, to := ends[0], ends[1]
		label := fmt.Sprintf("video %s %s→%s", name, "AB"[from:from+1], "AB"[to:to+1])
		v := summarise(st[from], st[to])
		audio := "–"
		if got, err := loadWAV(filepath.Join(base, fmt.Sprintf("rec%d", to), record.RemoteFile)); err == nil {
			al := audiocmp.NewAligner(sig[from], audiosrc.SampleRate/4)
			corr, found := fidelity(al, got)
			audio = fmt.Sprintf("corr %.2f, %.0f%% found", corr, 100*found)
		}
		r.add(label, fmt.Sprintf("%s; audio %s", v, audio), map[int]string{0: videoAnchor(name), 1: ""}[dir])
	}
	return nil
}

// videoAnchor is issue 10's target for a profile's rows.
func videoAnchor(name string) string {
	switch name {
	case "loss10":
		return "≥ 15 fps every second after 3, no freeze > 500 ms"
	case "rate300":
		return "≤ cap within 5 s, then ≥ 10 fps, no freeze > 500 ms"
	case "rate150":
		return "≥ 5 fps or paused with a notice"
	case "clean":
		return "the configured picture, no freeze"
	}
	return ""
}

// summarise describes one direction: the receiver's picture and the
// sender's rates, after videoSkip seconds.
func summarise(sender, receiver []call.CallStats) string {
	if len(receiver) <= videoSkip || len(sender) <= videoSkip {
		return "too short"
	}
	rx, tx := receiver[videoSkip:], sender[videoSkip:]
	var fps, minFps, frozen, longest, run, loss float64
	var vSent, vTarget, sent, target float64
	below15, paused := 0, 0
	sizes := map[string]int{}
	minFps = rx[0].Fps
	for _, s := range rx {
		fps += s.Fps / float64(len(rx))
		minFps = min(minFps, s.Fps)
		if s.Fps < 15 {
			below15++
		}
		if s.RecvSuspended {
			paused++
		}
		frozen += s.FreezeMs
		if s.FreezeMs > 0 {
			run += s.FreezeMs
			longest = max(longest, run)
		} else {
			run = 0
		}
		loss += s.LossPct / float64(len(rx))
		if s.Width > 0 {
			sizes[fmt.Sprintf("%dx%d", s.Width, s.Height)]++
		}
	}
	for _, s := range tx {
		n := float64(len(tx))
		vSent += s.VideoSendKbps / n
		vTarget += s.VideoTargetKbps / n
		sent += s.SendKbps / n
		target += s.TargetKbps / n
	}
	var res []string
	for _, k := range slices.Sorted(maps.Keys(sizes)) {
		res = append(res, fmt.Sprintf("%s %ds", k, sizes[k]))
	}
	out := fmt.Sprintf("fps %.1f (min %.0f, %d s < 15), %s; frozen %.0f ms (longest %.0f); sent video %.0f/%.0f, all %.0f/%.0f kbps; loss %.1f%%",
		fps, minFps, below15, strings.Join(res, " "), frozen, longest, vSent, vTarget, sent, target, loss)
	if paused > 0 {
		out += fmt.Sprintf("; paused %d s", paused)
	}
	return out
}

// fidelity aligns 250 ms windows of got (a recording of the far side's
// signal) with the signal and returns the median correlation and the share
// of audible windows that matched.
func fidelity(al *audiocmp.Aligner, got []int16) (median, found float64) {
	const win = audiosrc.SampleRate / 4
	var cs []float64
	audible := 0
	for off := 0; off+win <= len(got); off += win {
		w := got[off : off+win]
		if audiocmp.RMS(w) < 300 {
			continue
		}
		audible++
		if _, c := al.Align(w); c >= 0.5 {
			cs = append(cs, c)
		}
	}
	if audible == 0 || len(cs) == 0 {
		return 0, 0
	}
	slices.Sort(cs)
	return cs[len(cs)/2], float64(len(cs)) / float64(audible)
}
