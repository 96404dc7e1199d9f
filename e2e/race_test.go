//go:build race

package e2e

// raceEnabled: the race detector slows media work several times over.
const raceEnabled = true
