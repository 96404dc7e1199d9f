package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
)

// Audio quality under impaired networks (`softphone bench quality`):
// softphone calls softphone, both as `call` / `answer` processes sending
// speech from a WAV and recording what they play, both directions impaired
// by --impair as the profiles say (each side impairs what it
// sends). Per profile it reports the received speech's fidelity (our
// spectral measure, media/audiocmp.Compare; optionally P.862.2 from an
// external scorer), the time shifts a listener hears, the concealed and
// stretched shares and the STATS mos each side reports, and mouth-to-ear.

// QualityProfile is one network condition.
type QualityProfile struct {
	Name   string
	Impair string // --impair spec for both directions ("" clean)
}

// QualityProfiles are issue 9's profiles.
var QualityProfiles = []QualityProfile{
	{"clean", ""},
	{"loss5", "loss=5%"},
	{"loss10", "loss=10%"},
	{"jitter", "delay=40ms,jitter=20ms,dist=normal"},
	{"loss5-jitter", "loss=5%,delay=40ms,jitter=20ms,dist=normal"},
	{"bursty", "ge=1%/30%"},
}

// QualityPlan describes one `softphone bench quality` run.
type QualityPlan struct {
	Exe      string   // the softphone binary
	Profiles []string // profile names to run; empty: all
	Calls    int      // calls per profile
	Duration time.Duration
	// Speech is a WAV file both sides send (the callee from its middle);
	// empty sends synthetic speech.
	Speech string
	// PESQ is an external ITU-T P.862.2 scorer run as
	// `PESQ +16000 +wb REF.wav DEG.wav`, printing "... = SCORE" last; empty
	// skips it.
	PESQ         string
	ServeLogPath string
	KeepDir      bool
}

// qualityCall is what one direction of one call measured.
type qualityCall struct {
	fid      audiocmp.Comparison
	pesq     float64 // 0 without a scorer
	oneWayMs float64
	stats    call.CallStats // the receiver's last STATS
}

// RunQuality runs the profiles and prints a table.
func RunQuality(ctx context.Context, p QualityPlan, out io.Writer) error {
	profiles := QualityProfiles
	if len(p.Profiles) > 0 {
		profiles = nil
		for _, name := range p.Profiles {
			i := slices.IndexFunc(QualityProfiles, func(q QualityProfile) bool { return q.Name == name })
			if i < 0 {
				return fmt.Errorf("unknown profile %q (profiles: %s)", name, strings.Join(qualityNames(), ", "))
			}
			profiles = append(profiles, QualityProfiles[i])
		}
	}
	if p.Calls <= 0 {
		p.Calls = 3
	}
	if p.Duration < 8*time.Second {
		return errors.New("calls shorter than 8 s leave too little speech to judge")
	}
	dir, srv, done, err := benchServe(ctx, "quality", p.Exe, p.KeepDir, p.ServeLogPath, out)
	if err != nil {
		return err
	}
	defer done()
	r := &mediaRun{plan: MediaPlan{Exe: p.Exe}, srv: srv, dir: dir, out: out, log: slog.New(slog.DiscardHandler)}

	sigA, sigB, err := qualitySpeech(p.Speech, p.Duration+6*time.Second)
	if err != nil {
		return err
	}
	wavA, wavB := filepath.Join(dir, "caller.wav"), filepath.Join(dir, "callee.wav")
	if err := errors.Join(writeWAV(wavA, sigA), writeWAV(wavB, sigB)); err != nil {
		return err
	}
	alA, alB := audiocmp.NewAligner(sigA, audiosrc.SampleRate/4), audiocmp.NewAligner(sigB, audiosrc.SampleRate/4)
	var rows []string
	for _, prof := range profiles {
		var res []qualityCall
		for i := range p.Calls {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rs, err := r.qualityCall(ctx, p, prof, i, [2]string{wavA, wavB}, [2][]int16{sigA, sigB}, [2]*audiocmp.Aligner{alA, alB})
			if err != nil {
				return fmt.Errorf("%s call %d: %w", prof.Name, i+1, err)
			}
			for k, q := range rs {
				pe := ""
				if q.pesq > 0 {
					pe = fmt.Sprintf(" PESQ %.2f", q.pesq)
				}
				fmt.Fprintf(out, "  %s call %d %s: fidelity %.2f%s, %d shifts, concealed %.2f%%, stretched %.2f%% (%d times), STATS mos %.2f (call %.2f), one way %.0f ms\n",
					prof.Name, i+1, [2]string{"caller→callee", "callee→caller"}[k], q.fid.Score, pe, q.fid.Shifts,
					q.stats.CallConcealedPct, q.stats.CallStretchPct, q.stats.CallTimeStretches, q.stats.Mos, q.stats.CallMos, q.oneWayMs)
			}
			res = append(res, rs[:]...)
		}
		rows = append(rows, qualityRow(prof, res))
	}
	fmt.Fprintf(out, "\n| profile | --impair (both ways) | fidelity mean (min) | PESQ-WB mean (min) | time shifts per call (max) | concealed %% | stretched %% | STATS mos mean (±dev from PESQ or fidelity) | mouth-to-ear ms |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		fmt.Fprintln(out, row)
	}
	fmt.Fprintln(out, "\nfidelity: media/audiocmp.Compare, critical-band loudness distance of the received speech after alignment, mapped to 1–4.5; shifts: lasting moves (> 1 ms) of the delay between 200 ms speech windows; concealed / stretched / mos: the receiver's last STATS (callConcealedPct, callStretchPct, mos); mouth-to-ear: half the round trip from both recordings.")
	return nil
}

func qualityNames() []string {
	var n []string
	for _, q := range QualityProfiles {
		n = append(n, q.Name)
	}
	return n
}

// qualitySpeech returns what the caller and the callee send, at least d
// long and never repeating (a repeat would make the delay ambiguous): the
// WAV followed by synthetic speech for the caller, synthetic speech then
// the WAV for the callee; synthetic speech alone without a WAV.
func qualitySpeech(path string, d time.Duration) ([]int16, []int16, error) {
	n := int(d.Seconds() * audiosrc.SampleRate)
	a, b := audiocmp.Speech(n, audiosrc.SampleRate, 1), audiocmp.Speech(n, audiosrc.SampleRate, 2)
	if path == "" {
		return a, b, nil
	}
	pcm, err := loadWAV(path)
	if err != nil {
		return nil, nil, err
	}
	if len(pcm) < audiosrc.SampleRate {
		return nil, nil, fmt.Errorf("%s: less than a second of audio", path)
	}
	lead := audiosrc.SampleRate * 2
	return slices.Concat(pcm, a)[:n], slices.Concat(b[:lead], pcm, b[lead:])[:n], nil
}

// qualityCall runs one impaired call and measures both directions.
func (r *mediaRun) qualityCall(ctx context.Context, p QualityPlan, prof QualityProfile, i int, wavs [2]string, sigs [2][]int16, als [2]*audiocmp.Aligner) ([2]qualityCall, error) {
	var res [2]qualityCall
	accts, err := r.users(ctx, "q", 2)
	if err != nil {
		return res, err
	}
	tag := fmt.Sprintf("%s-%d", prof.Name, i+1)
	recs := [2]string{filepath.Join(r.dir, tag+"-caller"), filepath.Join(r.dir, tag+"-callee")}
	args := func(k int) []string {
		a := []string{"--audio-in", wavs[k], "--audio-out", "none", "--record", recs[k]}
		if prof.Impair != "" {
			// Each side impairs what it sends, with its own seed.
			a = append(a, "--impair", prof.Impair+",seed="+strconv.Itoa(100*i+k+1))
		}
		return a
	}
	pc := peerCall{callerArgs: args(0), calleeArgs: args(1), typ: "audio", dur: p.Duration}
	if _, _, err := r.runPeerCall(ctx, accts, pc, tag); err != nil {
		return res, err
	}
	var own, lag [2]float64 // samples: own signal in local.wav; ms: peer signal in remote.wav
	for k := range 2 {
		local, err := loadWAV(filepath.Join(recs[k], record.LocalFile))
		if err != nil {
			return res, err
		}
		remote, err := loadWAV(filepath.Join(recs[k], record.RemoteFile))
		if err != nil {
			return res, err
		}
		o, _, _, err := trackOffset(als[k], local)
		if err != nil {
			return res, fmt.Errorf("local.wav: %w", err)
		}
		own[k] = o
		peer := sigs[1-k]
		q := &res[1-k] // direction peer → k
		q.fid = audiocmp.Compare(peer, remote, audiosrc.SampleRate, 10*audiosrc.SampleRate)
		lag[k] = q.fid.LagMs
		q.stats, _ = lastStats(filepath.Join(r.dir, tag+"-"+[2]string{"caller", "callee"}[k]+".log"))
		if p.PESQ != "" {
			if q.pesq, err = r.scorePESQ(ctx, p.PESQ, peer, remote, q.fid.LagMs, tag, k); err != nil {
				return res, err
			}
		}
	}
	rt := (lag[0] - own[0]*1000/audiosrc.SampleRate) + (lag[1] - own[1]*1000/audiosrc.SampleRate)
	res[0].oneWayMs, res[1].oneWayMs = rt/2, rt/2
	return res, nil
}

// lastStats returns the last STATS a peer process printed (--json).
func lastStats(logPath string) (call.CallStats, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return call.CallStats{}, err
	}
	defer f.Close()
	var last call.CallStats
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' || !strings.Contains(string(line), `"event":"STATS"`) {
			continue
		}
		var ev struct {
			Data call.CallStats `json:"data"`
		}
		if json.Unmarshal(line, &ev) == nil {
			last = ev.Data
		}
	}
	return last, sc.Err()
}

// scorePESQ cuts the received speech and what was sent to the same
// stretch (the received track from its first speech, the sent signal at
// the measured delay), writes both at 16 kHz and runs the scorer.
func (r *mediaRun) scorePESQ(ctx context.Context, cmd string, sent, got []int16, lagMs float64, tag string, k int) (float64, error) {
	start := slices.IndexFunc(got, func(v int16) bool { return v > 300 || v < -300 })
	if start < 0 {
		return 0, errors.New("nothing received")
	}
	lag := int(lagMs * audiosrc.SampleRate / 1000)
	from := max(start, lag)
	n := min(len(got)-from, len(sent)-(from-lag))
	if n < 4*audiosrc.SampleRate {
		return 0, errors.New("less than 4 s of received speech to score")
	}
	to16 := func(pcm []int16) []int16 {
		f := make([]float32, len(pcm))
		for i, v := range pcm {
			f[i] = float32(v) / 32768
		}
		return audiosrc.ToInt16(audiosrc.Resample(f, audiosrc.SampleRate, 16000))
	}
	ref := filepath.Join(r.dir, fmt.Sprintf("%s-%d-ref16k.wav", tag, k))
	deg := filepath.Join(r.dir, fmt.Sprintf("%s-%d-deg16k.wav", tag, k))
	if err := errors.Join(audiosrc.WriteWAVFile(ref, 16000, to16(sent[from-lag:from-lag+n])), audiosrc.WriteWAVFile(deg, 16000, to16(got[from:from+n]))); err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, cmd, "+16000", "+wb", ref, deg).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", cmd, err, out)
	}
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "="); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s printed no score: %q", cmd, out)
	}
	return v, nil
}

// qualityRow is a profile's line of the table.
func qualityRow(prof QualityProfile, res []qualityCall) string {
	var fid, pesq, conc, str, mos, dev, m2e []float64
	maxShift := 0
	shifts := 0
	for _, q := range res {
		fid = append(fid, q.fid.Score)
		listen := q.fid.Score
		if q.pesq > 0 {
			pesq = append(pesq, q.pesq)
			listen = q.pesq
		}
		conc = append(conc, q.stats.CallConcealedPct)
		str = append(str, q.stats.CallStretchPct)
		mos = append(mos, q.stats.Mos)
		dev = append(dev, q.stats.Mos-listen)
		m2e = append(m2e, q.oneWayMs)
		shifts += q.fid.Shifts
		maxShift = max(maxShift, q.fid.Shifts)
	}
	meanMin := func(v []float64) string {
		if len(v) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f (%.2f)", meanOf(v), slices.Min(v))
	}
	spec := prof.Impair
	if spec == "" {
		spec = "(none)"
	}
	worst := 0.0
	for _, d := range dev {
		if d*d > worst*worst {
			worst = d
		}
	}
	slices.Sort(m2e)
	return fmt.Sprintf("| %s | `%s` | %s | %s | %.1f (%d) | %.2f | %.2f | %.2f (worst %+.2f) | %.0f |",
		prof.Name, spec, meanMin(fid), meanMin(pesq), float64(shifts)/float64(max(len(res)/2, 1)), maxShift,
		meanOf(conc), meanOf(str), meanOf(mos), worst, m2e[len(m2e)/2])
}

func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
