package audiocheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// PESQRate is the sample rate P.862.2 (wideband PESQ) scores at.
const PESQRate = 16000

// Cut returns the stretch of rec (PESQRate) that holds the reference when
// it starts at offsetMs: from 200 ms before to 500 ms after, so the
// scorer's own alignment has room for the delay to move.
func Cut(rec []int16, refLen int, offsetMs float64) []int16 {
	start := int(offsetMs*PESQRate/1000) - PESQRate/5
	end := start + refLen + PESQRate*7/10
	start = max(start, 0)
	end = min(end, len(rec))
	if start >= end {
		return nil
	}
	return rec[start:end]
}

var mosRE = regexp.MustCompile(`MOS-LQO\)?:?\s*=\s*(?:[-0-9.]+\s+)?([0-9.]+)`)

// ErrNoScore is returned when the scorer printed no MOS-LQO.
var ErrNoScore = errors.New("audiocheck: the PESQ scorer printed no MOS-LQO")

// PESQ runs an external ITU-T P.862 reference-style scorer as
// `tool +16000 +wb REF.raw DEG.raw` on 16 kHz mono PCM and returns the
// P.862.2 MOS-LQO it prints. The scorer is not part of this repository;
// point to one with the PESQ environment variable.
func PESQ(ctx context.Context, tool string, ref, deg []int16) (float64, error) {
	dir, err := os.MkdirTemp("", "pesq")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	refPath, degPath := filepath.Join(dir, "ref.raw"), filepath.Join(dir, "deg.raw")
	if err := writeRaw(refPath, ref); err != nil {
		return 0, err
	}
	if err := writeRaw(degPath, deg); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, "+16000", "+wb", refPath, degPath)
	cmd.Dir = dir // the reference tool appends a results file to its cwd
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("audiocheck: %s: %w: %s", tool, err, bytes.TrimSpace(out))
	}
	m := mosRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%w: %s", ErrNoScore, bytes.TrimSpace(out))
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func writeRaw(path string, pcm []int16) error {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, pcm); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
