package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"slices"

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

// testSignal is non-periodic: two tones whose frequencies wander at
// incommensurate rates under a slow envelope (the e2e tests' signal), so
// every stretch has exactly one best alignment, and tonal enough for Opus.
func testSignal(seconds, seed float64) []int16 {
	n := int(seconds * audiosrc.SampleRate)
	out := make([]float32, n)
	var p1, p2 float64
	for i := range n {
		t := float64(i) / audiosrc.SampleRate
		f1 := 300 + 150*math.Sin(2*math.Pi*0.37*t+seed)
		f2 := 1100 + 400*math.Sin(2*math.Pi*0.23*t+1+seed)
		p1 += 2 * math.Pi * f1 / audiosrc.SampleRate
		p2 += 2 * math.Pi * f2 / audiosrc.SampleRate
		env := 0.6 + 0.4*math.Sin(2*math.Pi*0.53*t+2*seed)
		out[i] = float32(env * (0.3*math.Sin(p1) + 0.2*math.Sin(p2)))
	}
	return audiosrc.ToInt16(out)
}

func writeWAV(path string, pcm []int16) error {
	w, err := audiosrc.CreateWAV(path, audiosrc.SampleRate, 1)
	if err != nil {
		return err
	}
	if err := w.Write(pcm); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
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

// fft is an in-place radix-2 FFT (len(a) a power of two); inverse scales.
func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := 2 * math.Pi / float64(size)
		if !inverse {
			ang = -ang
		}
		wn := cmplx.Rect(1, ang)
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
				w *= wn
			}
		}
	}
	if inverse {
		for i := range a {
			a[i] /= complex(float64(n), 0)
		}
	}
}

// aligner finds where a window of audio sits in a reference signal:
// cross-correlation by FFT, normalised by the energy of each stretch of the
// reference.
type aligner struct {
	ref    []int16
	n      int
	refF   []complex128
	energy []float64
}

func newAligner(ref []int16, maxWin int) *aligner {
	n := 1
	for n < maxWin+len(ref) {
		n <<= 1
	}
	a := &aligner{ref: ref, n: n, refF: make([]complex128, n), energy: make([]float64, len(ref)+1)}
	for i, v := range ref {
		a.refF[i] = complex(float64(v), 0)
		a.energy[i+1] = a.energy[i] + float64(v)*float64(v)
	}
	fft(a.refF, false)
	return a
}

// align returns the best lag of win in the reference and the normalised
// correlation there.
func (a *aligner) align(win []int16) (lag int, corr float64) {
	b := make([]complex128, a.n)
	for i, v := range win {
		b[i] = complex(float64(v), 0)
	}
	fft(b, false)
	for i := range b {
		b[i] = a.refF[i] * cmplx.Conj(b[i])
	}
	fft(b, true)
	best := math.Inf(-1)
	for l := 0; l+len(win) <= len(a.ref); l++ {
		e := a.energy[l+len(win)] - a.energy[l]
		if e <= 0 {
			continue
		}
		if v := real(b[l]) / math.Sqrt(e); v > best {
			best, lag = v, l
		}
	}
	var sw, swr float64
	for i, v := range win {
		x := float64(v)
		sw += x * x
		swr += x * float64(a.ref[lag+i])
	}
	e := a.energy[lag+len(win)] - a.energy[lag]
	if sw == 0 || e == 0 {
		return lag, 0
	}
	return lag, swr / math.Sqrt(sw*e)
}

func rms(w []int16) float64 {
	var s float64
	for _, v := range w {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(w)))
}

// trackOffset aligns windows of an audible track with the signal it carries
// and returns the median of (track position − signal position) in samples,
// the median correlation and the number of windows used.
func trackOffset(al *aligner, got []int16) (offset float64, corr float64, n int, err error) {
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
		if rms(w) < 300 {
			break // the call or the signal ended here
		}
		l, c := al.align(w)
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
	sigA, sigB := testSignal(secs, 0), testSignal(secs, 1.7)
	base := filepath.Join(r.dir, "m2e")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	wavA, wavB := filepath.Join(base, "caller.wav"), filepath.Join(base, "callee.wav")
	if err := errors.Join(writeWAV(wavA, sigA), writeWAV(wavB, sigB)); err != nil {
		return err
	}
	alA, alB := newAligner(sigA, audiosrc.SampleRate/4), newAligner(sigB, audiosrc.SampleRate/4)
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
			own, peer         *aligner
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
