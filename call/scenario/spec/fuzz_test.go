package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds the decoder arbitrary files: scenario files arrive with
// support tickets. It must never panic, and every rejection must be an
// *Error (ErrInvalid) naming the file.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	for _, p := range examples {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(header + "  - call: {as: alice, to: bob, type: video, attachment: {a: [1, {b: c}]}}\n  - expect_stats: {as: alice, mos: \">= 4\"}\n"))
	f.Add([]byte("accounts: {a: {devices: [x, y]}}\nsteps:\n  - wait: {as: a/x, event: INVITED, match: {k: v}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("accounts: {a: , b: }\nsteps:\n  - login: a\n  - login: b\n  - parallel:\n    - hangup: a\n    - {cancel: {as: b, expect_error: 20013}}\n"))
	f.Add([]byte("accounts:\n  a: \nsteps:\n  - {login: a, name: n}\n  - sleep: 1ms\n"))
	getenv := env(map[string]string{"ALICE_TOKEN": "t", "BOB_TOKEN": "t"})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data, Options{Getenv: getenv})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		// A valid file is internally consistent.
		if len(file.Steps) == 0 || len(file.Accounts) == 0 {
			t.Fatalf("valid file with %d steps, %d accounts", len(file.Steps), len(file.Accounts))
		}
		for i, s := range file.Steps {
			if s.Index != i+1 || s.Action == "" {
				t.Fatalf("step %d: %+v", i, s)
			}
			if s.Action != ActSleep && s.Action != ActParallel && s.Actor.Account == "" {
				t.Fatalf("step %d without actor: %+v", i, s)
			}
		}
	})
}
