package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestScenarioExampleCopies keeps the copies of examples/ that scripts
// carry (a script cannot reach files outside its archive) equal to the
// originals.
func TestScenarioExampleCopies(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range scripts {
		ar, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			orig, err := os.ReadFile(filepath.Join("..", "..", "examples", f.Name))
			if err != nil {
				continue // not a copy of an example
			}
			checked++
			if string(orig) != string(f.Data) {
				t.Errorf("%s: %s differs from examples/%s; copy it again", s, f.Name, f.Name)
			}
		}
	}
	if checked == 0 {
		t.Error("no script carries an example")
	}
}
