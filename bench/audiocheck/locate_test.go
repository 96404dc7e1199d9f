package audiocheck

import (
	"math"
	"testing"

	"github.com/softphone/softphone/media/audiocmp"
)

// speechLike is the aligner's test signal at AlignRate with pauses cut in,
// so windows of silence are skipped as in real speech.
func speechLike(seconds float64) []int16 {
	s := Downsample(audiocmp.Signal(seconds, 1.3), 48000, AlignRate)
	for i := range s {
		if int(float64(i)/AlignRate/1.5)%3 == 2 { // every third 1.5 s is a pause
			s[i] = 0
		}
	}
	return s
}

func silence(ms int) []int16 { return make([]int16, ms*AlignRate/1000) }

func cat(parts ...[]int16) []int16 {
	var out []int16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLocateConstantDelay(t *testing.T) {
	ref := speechLike(4.5) // ends with a pause: no window runs past its end
	rec := cat(silence(730), ref, silence(500))
	p, ok := Locate(ref, rec, Options{})
	if !ok {
		t.Fatal("not found")
	}
	if math.Abs(p.OffsetMs-730) > 0.5 || math.Abs(p.FirstOffsetMs-730) > 0.5 {
		t.Errorf("offset %.2f ms (first %.2f), want 730", p.OffsetMs, p.FirstOffsetMs)
	}
	if len(p.Shifts) != 0 || p.DriftMs > 0.5 {
		t.Errorf("shifts %v drift %.2f on a constant delay", p.Shifts, p.DriftMs)
	}
	if p.Coverage() < 0.85 { // windows at a pause edge may match elsewhere better
		t.Errorf("coverage %.2f", p.Coverage())
	}
}

func TestLocateCountsInsertedAndDroppedFrames(t *testing.T) {
	ref := speechLike(7)
	at := func(s float64) int { return int(s * AlignRate) }
	frame := silence(20)
	// A 20 ms frame inserted inside speech at 0.7 s, one dropped inside
	// speech at 5.0 s (lag back where it was); 3–4.5 s is a pause.
	rec := cat(silence(300), ref[:at(0.7)], frame, ref[at(0.7):at(5.0)], ref[at(5.02):], silence(300))
	p, ok := Locate(ref, rec, Options{})
	if !ok {
		t.Fatal("not found")
	}
	all, in := p.ShiftCounts()
	if all != 2 || in != 2 {
		t.Fatalf("shifts %+v, want +20 ms and −20 ms in speech", p.Shifts)
	}
	if math.Abs(p.Shifts[0].DeltaMs-20) > 1 || math.Abs(p.Shifts[1].DeltaMs+20) > 1 {
		t.Errorf("shift sizes %+v", p.Shifts)
	}
	if math.Abs(p.DriftMs-20) > 1 {
		t.Errorf("drift %.2f, want 20", p.DriftMs)
	}
}

func TestLocateNothingToFind(t *testing.T) {
	ref := speechLike(3)
	if _, ok := Locate(ref, silence(4000), Options{}); ok {
		t.Error("found speech in silence")
	}
	other := Downsample(audiocmp.Signal(4, 7.9), 48000, AlignRate)
	if p, ok := Locate(ref, other, Options{}); ok && p.Found > p.Speech/4 {
		t.Errorf("a different signal matched in %d of %d windows", p.Found, p.Speech)
	}
	if _, ok := Locate(ref, silence(100), Options{}); ok {
		t.Error("a recording shorter than a window matched")
	}
}

func TestMouthToEarCancelsStartOffsets(t *testing.T) {
	// Side A's recorder starts 137 ms before side B's. A's speech leaves at
	// A's 250 ms (its local.wav) and plays at B 60 ms later; B's leaves at
	// B's 400 ms and plays at A 80 ms later.
	refA, refB := speechLike(4), Downsample(audiocmp.Signal(4, 4.2), 48000, AlignRate)
	const startGap, m2eAB, m2eBA = 137, 60, 80
	localA := cat(silence(250), refA, silence(1000))
	remoteB := cat(silence(250-startGap+m2eAB), refA, silence(1000))
	localB := cat(silence(400), refB, silence(1000))
	remoteA := cat(silence(400+startGap+m2eBA), refB, silence(1000))
	off := func(ref, rec []int16) float64 {
		p, ok := Locate(ref, rec, Options{})
		if !ok {
			t.Fatal("not found")
		}
		return p.OffsetMs
	}
	got := (off(refA, remoteB) - off(refA, localA) + off(refB, remoteA) - off(refB, localB)) / 2
	if math.Abs(got-(m2eAB+m2eBA)/2.0) > 0.5 {
		t.Errorf("mouth-to-ear %.2f ms, want %.1f", got, (m2eAB+m2eBA)/2.0)
	}
}

func TestCut(t *testing.T) {
	rec := make([]int16, 10*PESQRate)
	for i := range rec {
		rec[i] = int16(i % 1000)
	}
	c := Cut(rec, 2*PESQRate, 1000)
	if len(c) != 2*PESQRate+PESQRate*7/10 || c[0] != rec[PESQRate*8/10] {
		t.Errorf("cut %d samples from %d", len(c), c[0])
	}
	if c := Cut(rec, 2*PESQRate, 0); len(c) != 2*PESQRate+PESQRate/2 || c[0] != rec[0] {
		t.Errorf("cut at the start: %d samples", len(c))
	}
	if c := Cut(rec, 2*PESQRate, 20000); c != nil {
		t.Errorf("cut past the end: %d samples", len(c))
	}
}
