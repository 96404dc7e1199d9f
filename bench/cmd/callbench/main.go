// Command callbench is the black-box call-quality instrument: an impairing
// bridge between two network namespaces (bridge), the analysis of the
// audio two headless softphones recorded over it (audio), the per-second
// video figures of their STATS (video), and the table of a whole run
// (report). scripts/bench-bridge drives it; docs/benchmarks.md explains the
// method. It is a separate main so nothing of it enters the softphone
// binary.
//
//	callbench bridge -a IF -b IF [-ab SPEC] [-ba SPEC] [-stats FILE] [-all]
//	callbench audio -ref REF.wav -a DIR -b DIR [-ref-b REF.wav] [-pesq PATH] [-out FILE]
//	callbench video -a A.jsonl -b B.jsonl [-out FILE]
//	callbench report DIR
//	callbench wavinfo FILE.wav
//	callbench pad -in FILE.wav -lead 20s -out PADDED.wav
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: callbench bridge|audio|video|report|wavinfo|pad [flags]")
		return 2
	}
	var err error
	switch args[0] {
	case "bridge":
		err = runBridge(args[1:], stdout, stderr)
	case "audio":
		err = runAudio(args[1:], stdout)
	case "video":
		err = runVideo(args[1:], stdout)
	case "report":
		err = runReport(args[1:], stdout)
	case "wavinfo":
		err = runWAVInfo(args[1:], stdout)
	case "pad":
		err = runPad(args[1:])
	default:
		fmt.Fprintf(stderr, "callbench: unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "callbench:", err)
		return 1
	}
	return 0
}
