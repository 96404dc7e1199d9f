package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

const sampleStatus = `Name:	softphone
VmPeak:	 1871232 kB
VmHWM:	   34568 kB
VmRSS:	   34012 kB
RssAnon:	    6572 kB
RssFile:	   27440 kB
RssShmem:	       0 kB
Threads:	9
`

func TestParseStatusFields(t *testing.T) {
	v, err := parseStatusFields(sampleStatus, 1, "VmHWM:", "RssAnon:", "RssFile:")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{34568 << 10, 6572 << 10, 27440 << 10}; v[0] != want[0] || v[1] != want[1] || v[2] != want[2] {
		t.Errorf("got %v, want %v", v, want)
	}
	// A field that is not there is an error naming it.
	if _, err := parseStatusFields(sampleStatus, 1, "VmHWM:", "RssHuge:"); err == nil || !strings.Contains(err.Error(), "RssHuge:") {
		t.Errorf("missing field: err %v", err)
	}
	if _, err := parseStatusFields("VmHWM:\tlots kB\n", 1, "VmHWM:"); err == nil {
		t.Error("unparsable value: no error")
	}
}

func TestUsageString(t *testing.T) {
	u := usage{cpu: 1500 * time.Millisecond, maxRSS: 34 << 20}
	if got, want := u.String(), "1.50 s / 34.0 MiB"; got != want {
		t.Errorf("without the split: %q, want %q", got, want)
	}
	u.maxAnon, u.maxFile = 6<<20+1<<19, 27<<20
	if got, want := u.String(), "1.50 s / 34.0 MiB (anon 6.5, file 27.0)"; got != want {
		t.Errorf("with the split: %q, want %q", got, want)
	}
}

// The peak watcher reads this process's own status: its peaks are
// positive and the high-water mark covers each part.
func TestWatchPeakSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	w := watchPeak(os.Getpid())
	time.Sleep(50 * time.Millisecond)
	var u usage
	w.result(&u)
	if u.maxRSS <= 0 || u.maxAnon <= 0 || u.maxFile <= 0 || u.maxRSS < u.maxAnon || u.maxRSS < u.maxFile {
		t.Errorf("peaks %+v", u)
	}
}
