package audiocheck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeScorer writes a script that prints what a P.862 tool prints.
func fakeScorer(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scorer")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPESQParsesTheScorer(t *testing.T) {
	pcm := make([]int16, PESQRate)
	tests := []struct {
		out  string
		want float64
	}{
		{`echo "P.862.2 Prediction (MOS-LQO):  = 3.456"`, 3.456},
		{`printf 'Reading...\nP.862 Prediction (Raw MOS, MOS-LQO):  = 3.100\t2.871\n'`, 2.871},
		// The arguments arrive as the reference CLI wants them.
		{`[ "$1 $2" = "+16000 +wb" ] && [ -s "$3" ] && [ -s "$4" ] && echo "(MOS-LQO):  = 1.5"`, 1.5},
	}
	for _, tt := range tests {
		got, err := PESQ(context.Background(), fakeScorer(t, tt.out), pcm, pcm)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.out, got, err, tt.want)
		}
	}
	if _, err := PESQ(context.Background(), fakeScorer(t, "echo nothing"), pcm, pcm); !errors.Is(err, ErrNoScore) {
		t.Errorf("no score: %v", err)
	}
	if _, err := PESQ(context.Background(), fakeScorer(t, "exit 3"), pcm, pcm); err == nil {
		t.Error("a failing scorer gave no error")
	}
}
