package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
)

// Mouth-to-ear, black box, file to file. Each peer is a `softphone call` /
// `softphone answer` process sending its own WAV (a non-periodic test
// signal) and recording with --record. A recording puts local.wav (what
// went into the engine) and remote.wav (what was played) on one timeline,
// so for peer X the offset of the received signal minus the offset of its
// own sent signal is
//
//	d_X = (start of the peer's source − start of X's source) + latency(peer → X)
//
// The unknown difference of the two sources' start times cancels in
// d_A + d_B, the round trip; one way is half of it (both directions run the
// same pipeline). "Mouth" is the chunk entering the engine (the microphone
// tap), "ear" is the playout pull (no device buffers with --audio-out none).

func writeWAV(path string, pcm []int16) error {
	return audiosrc.WriteWAVFile(path, audiosrc.SampleRate, pcm)
}

func loadWAV(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcm, _, err := audiosrc.LoadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return pcm, nil
}

// trackOffset aligns windows of an audible track with the signal it carries
// and returns the median of (track position − signal position) in samples,
// the median correlation and the number of windows used.
func trackOffset(al *audiocmp.Aligner, got []int16) (offset float64, corr float64, n int, err error) {
	const win = audiosrc.SampleRate / 4
	const maxWindows = 24
	start := slices.IndexFunc(got, func(v int16) bool { return v > 300 || v < -300 })
	if start < 0 {
		return 0, 0, 0, fmt.Errorf("track is silent (%d samples)", len(got))
	}
	var offs, cs []float64
	// Skip the first window: the playout buffer settles there.
	for off := start + win; off+win <= len(got) && len(offs) < maxWindows; off += win {
		w := got[off : off+win]
		if audiocmp.RMS(w) < 300 {
			break // the call or the signal ended here
		}
		l, c := al.Align(w)
		if c < 0.5 {
			continue // a concealed or dropped stretch: no clean match
		}
		offs = append(offs, float64(off-l))
		cs = append(cs, c)
	}
	if len(offs) == 0 {
		return 0, 0, 0, errors.New("no window matches the sent signal")
	}
	slices.Sort(offs)
	slices.Sort(cs)
	return offs[len(offs)/2], cs[len(cs)/2], len(offs), nil
}

// mouthToEar runs M2ECalls audio calls between two CLI processes and
// derives the one-way latency from the two recordings.
func (r *mediaRun) mouthToEar(ctx context.Context) error {
	dur := r.plan.M2EDuration
	fmt.Fprintf(r.out, "m2e: %d audio calls of %s, `softphone call` and `softphone answer` processes with --audio-in WAV --record DIR\n", r.plan.M2ECalls, dur)
	secs := dur.Seconds() + 6 // longer than the call: no loop, no ambiguity
	sigA, sigB := audiocmp.Signal(secs, 0), audiocmp.Signal(secs, 1.7)
	base := filepath.Join(r.dir, "m2e")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	wavA, wavB := filepath.Join(base, "caller.wav"), filepath.Join(base, "callee.wav")
	if err := errors.Join(writeWAV(wavA, sigA), writeWAV(wavB, sigB)); err != nil {
		return err
	}
	alA, alB := audiocmp.NewAligner(sigA, audiosrc.SampleRate/4), audiocmp.NewAligner(sigB, audiosrc.SampleRate/4)
	var oneWay []float64
	for i := range r.plan.M2ECalls {
		accts, err := r.users(ctx, "m", 2)
		if err != nil {
			return err
		}
		recA, recB := filepath.Join(base, fmt.Sprintf("call%d-caller", i+1)), filepath.Join(base, fmt.Sprintf("call%d-callee", i+1))
		pc := peerCall{
			callerArgs: []string{"--audio-in", wavA, "--audio-out", "none", "--record", recA},
			calleeArgs: []string{"--audio-in", wavB, "--audio-out", "none", "--record", recB},
			typ:        "audio",
			dur:        dur,
		}
		if _, _, err := r.runPeerCall(ctx, accts, pc, fmt.Sprintf("m2e%d", i+1)); err != nil {
			return fmt.Errorf("call %d: %w", i+1, err)
		}
		var d [2]float64
		for k, side := range []struct {
			name              string
			dir               string
			own, peer         *audiocmp.Aligner
			ownName, peerName string
		}{
			{"caller", recA, alA, alB, "caller.wav", "callee.wav"},
			{"callee", recB, alB, alA, "callee.wav", "caller.wav"},
		} {
			local, err := loadWAV(filepath.Join(side.dir, record.LocalFile))
			if err != nil {
				return err
			}
			remote, err := loadWAV(filepath.Join(side.dir, record.RemoteFile))
			if err != nil {
				return err
			}
			oL, cL, nL, err := trackOffset(side.own, local)
			if err != nil {
				return fmt.Errorf("call %d %s local.wav vs %s: %w", i+1, side.name, side.ownName, err)
			}
			oR, cR, nR, err := trackOffset(side.peer, remote)
			if err != nil {
				return fmt.Errorf("call %d %s remote.wav vs %s: %w", i+1, side.name, side.peerName, err)
			}
			d[k] = (oR - oL) / audiosrc.SampleRate * 1000
			fmt.Fprintf(r.out, "  call %d %s: local.wav offset %.1f ms (corr %.3f, %d windows), remote.wav offset %.1f ms (corr %.3f, %d windows)\n",
				i+1, side.name, oL/48, cL, nL, oR/48, cR, nR)
		}
		rt := d[0] + d[1]
		fmt.Fprintf(r.out, "  call %d: round trip %.1f ms → one way %.1f ms\n", i+1, rt, rt/2)
		oneWay = append(oneWay, rt/2)
	}
	r.add("mouth-to-ear, one way (engine in → played, file to file)", p50(oneWay), "Opus 26.5 ms + pipeline < 1 ms; target ≤ 50 ms")
	r.note("mouth-to-ear = half the round trip from both recordings' local.wav/remote.wav alignment, from a chunk entering the engine to its playout pull. A file source hands each 20 ms chunk over at its first sample's time; a microphone hands it over 20 ms later, when the last sample is in, so with a microphone add 20 ms, plus the capture and playback devices' own buffers")
	return nil
}
