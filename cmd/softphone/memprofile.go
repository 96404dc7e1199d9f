package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
)

// writeMemProfile writes a heap profile to path and one line of memory
// figures to w: the Go runtime's own (heap in use, heap held but not
// returned, stacks, everything it mapped) next to the kernel's (resident
// anonymous and file-backed pages), so that what the Go heap does not
// explain — C allocations of libvpx, libopus, PortAudio — shows as the
// difference.
func writeMemProfile(path string, w io.Writer) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(w, "memprofile: %v\n", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintf(w, "memprofile: %v\n", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// The runtime's estimate of the CPU its collector used so far.
	gcCPU := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(gcCPU)
	var gcSec float64
	if gcCPU[0].Value.Kind() == metrics.KindFloat64 {
		gcSec = gcCPU[0].Value.Float64()
	}
	const mib = 1 << 20
	fmt.Fprintf(w, "memstats: go heap in use %.1f MiB, idle not released %.1f MiB, stacks %.1f MiB, go sys %.1f MiB, gc cycles %d, gc cpu %.3f s; %s\n",
		float64(ms.HeapInuse)/mib, float64(ms.HeapIdle-ms.HeapReleased)/mib, float64(ms.StackSys)/mib,
		float64(ms.Sys)/mib, ms.NumGC, gcSec, smapsRollup())
}

// smapsRollup returns the resident-set figures of /proc/self/smaps_rollup
// (Linux), or "" where there is none.
func smapsRollup() string {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		return ""
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		switch {
		case !ok:
		case k == "Rss", k == "Pss", k == "Anonymous", k == "Private_Clean", k == "Shared_Clean":
			out = append(out, strings.ToLower(k)+" "+strings.Join(strings.Fields(v), " "))
		}
	}
	return strings.Join(out, ", ")
}
