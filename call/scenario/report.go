package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/internal/termsafe"
)

// The live report: text lines, or with JSON one object per line
// ({"type":"start"|"step"|"end"|"event", ...}).

// write prints one report line. Descriptions, reasons and events carry
// what scenario files, peers and the server said: JSON lines get JSON
// escapes for anything a terminal would act on, text lines visible ones.
func (r *Runner) write(line string) {
	if r.Out == nil {
		return
	}
	if r.JSON {
		line = string(termsafe.JSON([]byte(line)))
	} else {
		line = termsafe.Text(line)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.Out, line)
}

func (r *Runner) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"type": "error", "error": err.Error()})
	}
	r.write(string(b))
}

func (r *Runner) emitStart(res *Result) {
	if r.JSON {
		r.writeJSON(struct {
			Type   string `json:"type"`
			File   string `json:"file"`
			Server string `json:"server"`
		}{"start", res.File, res.Server})
		return
	}
	r.write(fmt.Sprintf("RUN   %s (server %s)", res.File, res.Server))
}

func (r *Runner) emitStep(sr StepResult) {
	if r.JSON {
		r.writeJSON(struct {
			Type string `json:"type"`
			StepResult
		}{"step", sr})
		return
	}
	dur := "      "
	if sr.Status != Skip {
		dur = fmt.Sprintf("%5.2fs", sr.Duration.Seconds())
	}
	line := fmt.Sprintf("%3d  %s  %s  %s", sr.Index, sr.Status, dur, sr.Description)
	switch {
	case sr.Status == Fail:
		line += fmt.Sprintf("\n           line %d: %s", sr.Line, sr.Reason)
	case sr.Detail != "":
		line += "  [" + sr.Detail + "]"
	}
	r.write(line)
}

// counts tallies the steps of a file by status.
func (res *Result) counts() (pass, fail, skip int) {
	for _, s := range res.Steps {
		switch s.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		case Skip:
			skip++
		}
	}
	return pass, fail, skip
}

func (r *Runner) emitEnd(res *Result) {
	pass, fail, skip := res.counts()
	verdict := Pass
	if !res.Passed() {
		verdict = Fail
	}
	if r.JSON {
		r.writeJSON(struct {
			Type       string  `json:"type"`
			File       string  `json:"file"`
			Status     string  `json:"status"`
			Passed     int     `json:"passed"`
			Failed     int     `json:"failed"`
			Skipped    int     `json:"skipped"`
			DurationMs float64 `json:"durationMs"`
		}{"end", res.File, verdict, pass, fail, skip, float64(res.Duration.Microseconds()) / 1000})
		return
	}
	line := fmt.Sprintf("%s  %s: %d passed, %d failed, %d skipped in %.1fs", verdict, res.File, pass, fail, skip, res.Duration.Seconds())
	if f, ok := res.Failed(); ok {
		line += fmt.Sprintf("\n      first failure: step %d (line %d) %s: %s", f.Index, f.Line, f.Description, f.Reason)
	}
	r.write(line)
}

// WriteTotal reports the run of several files in one line (one object
// with JSON): files and steps passed and failed, the failed files named.
func (r *Runner) WriteTotal(results []*Result) {
	var files, failedFiles []string
	var pass, fail, skip int
	var took time.Duration
	for _, res := range results {
		p, f, s := res.counts()
		pass, fail, skip = pass+p, fail+f, skip+s
		took += res.Duration
		files = append(files, res.File)
		if !res.Passed() {
			failedFiles = append(failedFiles, res.File)
		}
	}
	verdict := Pass
	if len(failedFiles) > 0 {
		verdict = Fail
	}
	if r.JSON {
		r.writeJSON(struct {
			Type        string   `json:"type"`
			Status      string   `json:"status"`
			Files       int      `json:"files"`
			FailedFiles []string `json:"failedFiles"`
			Passed      int      `json:"passed"`
			Failed      int      `json:"failed"`
			Skipped     int      `json:"skipped"`
			DurationMs  float64  `json:"durationMs"`
		}{"total", verdict, len(files), append([]string{}, failedFiles...), pass, fail, skip, float64(took.Microseconds()) / 1000})
		return
	}
	line := fmt.Sprintf("%s  %d files, %d failed: %d steps passed, %d failed, %d skipped in %.1fs",
		verdict, len(files), len(failedFiles), pass, fail, skip, took.Seconds())
	if len(failedFiles) > 0 {
		line += " (" + strings.Join(failedFiles, ", ") + ")"
	}
	r.write(line)
}

func (r *Runner) emitEvent(who string, ev call.Event) {
	if r.Events == nil {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	b = termsafe.JSON(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.JSON && r.Events == r.Out {
		fmt.Fprintf(r.Events, "{\"type\":\"event\",\"device\":%q,\"event\":%s}\n", who, b)
		return
	}
	fmt.Fprintf(r.Events, "        · %s %s %s\n", ev.Time.Format("15:04:05.000"), who, b)
}

// JUnit XML: one testsuite per file, one testcase per step.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	File      string      `xml:"file,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *struct{}     `xml:"skipped"`
	SysOut    string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the results as a JUnit XML report.
func WriteJUnit(w io.Writer, results []*Result) error {
	var all junitSuites
	var total time.Duration
	for _, res := range results {
		s := junitSuite{Name: res.Name, File: res.File, Time: secs(res.Duration), Timestamp: res.Start.UTC().Format("2006-01-02T15:04:05")}
		for _, sr := range res.Steps {
			c := junitCase{
				Name:      fmt.Sprintf("%03d %s", sr.Index, sr.Description),
				Classname: "scenario." + res.Name,
				Time:      secs(sr.Duration),
				File:      res.File,
				Line:      sr.Line,
				SysOut:    sr.Detail,
			}
			switch sr.Status {
			case Fail:
				s.Failures++
				c.Failure = &junitFailure{Message: sr.Reason, Type: sr.Action,
					Text: fmt.Sprintf("%s:%d: step %d %s: %s", res.File, sr.Line, sr.Index, sr.Description, sr.Reason)}
			case Skip:
				s.Skipped++
				c.Skipped = &struct{}{}
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		all.Tests += s.Tests
		all.Failures += s.Failures
		total += res.Duration
		all.Suites = append(all.Suites, s)
	}
	all.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Summary is a one-line verdict for several results.
func Summary(results []*Result) string {
	var failed []string
	for _, r := range results {
		if !r.Passed() {
			failed = append(failed, r.File)
		}
	}
	if len(failed) == 0 {
		return fmt.Sprintf("all %d scenario(s) passed", len(results))
	}
	return fmt.Sprintf("%d of %d scenario(s) failed: %s", len(failed), len(results), strings.Join(failed, ", "))
}
