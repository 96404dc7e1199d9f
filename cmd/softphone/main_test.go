package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/softphone/softphone/media/audiosrc"
)

// pollTimeout bounds the script helpers that wait for something to appear;
// it only turns a hang into a failure, no timing is asserted.
const pollTimeout = 30 * time.Second

// TestMain makes the test binary double as the softphone command, so scripts
// run the real CLI as a subprocess. exitcode wraps it to assert the exact exit
// status (testscript itself only tells zero from non-zero).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"softphone": func() {
			os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
		},
		"exitcode": func() { os.Exit(exitcodeMain(os.Args[1:])) },
	})
}

// exitcodeMain is `exitcode [-out FILE] N softphone ARGS...`: it runs the CLI
// in this process (so signals sent to it reach the CLI) and succeeds only if
// the CLI exits with status N. -out also copies stdout into FILE as it is
// written, so a script can wait for an event of a background process.
func exitcodeMain(args []string) int {
	var out string
	if len(args) >= 2 && args[0] == "-out" {
		out, args = args[1], args[2:]
	}
	if len(args) < 2 || args[1] != "softphone" {
		fmt.Fprintln(os.Stderr, "usage: exitcode [-out FILE] N softphone ARGS...")
		return 2
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "exitcode: bad status %q\n", args[0])
		return 2
	}
	stdout := io.Writer(os.Stdout)
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "exitcode: %v\n", err)
			return 2
		}
		defer f.Close()
		stdout = io.MultiWriter(os.Stdout, f)
	}
	if got := run(context.Background(), args[2:], stdout, os.Stderr, os.Getenv); got != want {
		fmt.Fprintf(os.Stderr, "exitcode: softphone exited with status %d, want %d\n", got, want)
		return 1
	}
	return 0
}

func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("testdata/script"))
}

// TestClusterScripts runs scripts that need an external nats-server binary
// (scripts/test installs it). Without one the test is skipped, except in CI
// (CI=true), where a missing binary is a failure.
func TestClusterScripts(t *testing.T) {
	if _, err := exec.LookPath("nats-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nats-server not on PATH; scripts/test installs it into bin/")
		}
		t.Skip("nats-server not on PATH: run ./scripts/test (it installs it) for the cluster test")
	}
	testscript.Run(t, scriptParams("testdata/cluster"))
}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			// Keep every default path (serve's data dir, the config file)
			// inside the script's work directory.
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, ".data"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("HOME", env.WorkDir)
			// Scripts run in parallel and some start several servers: each
			// TURN relay gets a free port instead of the default 3478.
			env.Setenv("SOFTPHONE_SERVE_TURN", "127.0.0.1:0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"freeport":   cmdFreeport,
			"waitfor":    cmdWaitFor,
			"waitmatch":  cmdWaitMatch,
			"setjson":    cmdSetJSON,
			"mkwav":      cmdMkWAV,
			"wavlevel":   cmdWAVLevel,
			"jsreplicas": cmdJSReplicas,
			"jsleader":   cmdJSLeader,
			"sleep":      cmdSleep,
			"mkcert":     cmdMkCert,
		},
	}
}

// cmdFreeport sets each named variable to a free TCP port on 127.0.0.1.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: freeport VAR...")
	}
	for _, name := range args {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		ts.Setenv(name, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		ts.Check(l.Close())
	}
}

// cmdWaitFor polls an HTTP URL until it answers 200: `waitfor [-ca FILE]
// URL`, where FILE holds the CA of an https server's certificate.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	hc := &http.Client{Timeout: time.Second}
	if len(args) == 3 && args[0] == "-ca" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ts.ReadFile(args[1]))) {
			ts.Fatalf("%s: no PEM certificate", args[1])
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		args = args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfor [-ca FILE] URL")
	}
	deadline := time.Now().Add(pollTimeout)
	for {
		resp, err := hc.Get(args[0])
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s not ready after %s: %v", args[0], pollTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdWaitMatch polls a file until its content matches a regular expression.
func cmdWaitMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitmatch FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(pollTimeout)
	for {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s does not match %q after %s; content:\n%s", args[0], args[1], pollTimeout, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdSetJSON sets VAR to a string field of the JSON object on the last
// command's stdout: `setjson ALICE_TOKEN token`.
func cmdSetJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: setjson VAR FIELD")
	}
	var obj map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &obj))
	v, ok := obj[args[1]].(string)
	if !ok {
		ts.Fatalf("stdout has no string field %q", args[1])
	}
	ts.Setenv(args[0], v)
}

// cmdMkWAV writes a WAV file of a sine sweep: `mkwav FILE SECONDS`.
func cmdMkWAV(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkwav FILE SECONDS")
	}
	secs, err := strconv.ParseFloat(args[1], 64)
	ts.Check(err)
	n := int(secs * audiosrc.SampleRate)
	pcm := make([]float32, n)
	var ph float64
	for i := range pcm {
		t := float64(i) / audiosrc.SampleRate
		ph += 2 * math.Pi * (400 + 300*math.Sin(2*math.Pi*0.3*t)) / audiosrc.SampleRate
		pcm[i] = float32(0.3 * math.Sin(ph))
	}
	ts.Check(audiosrc.WriteWAVFile(ts.MkAbs(args[0]), audiosrc.SampleRate, audiosrc.ToInt16(pcm)))
}

// cmdWAVLevel checks that a WAV file holds at least SECONDS of audio whose
// RMS over the loudest second reaches MIN: `wavlevel FILE SECONDS MIN`.
func cmdWAVLevel(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: wavlevel FILE SECONDS MIN")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	pcm, _, err := audiosrc.LoadWAV(f)
	ts.Check(err)
	secs, err := strconv.ParseFloat(args[1], 64)
	ts.Check(err)
	minRMS, err := strconv.ParseFloat(args[2], 64)
	ts.Check(err)
	best := 0.0
	for off := 0; off+audiosrc.SampleRate <= len(pcm); off += audiosrc.SampleRate / 2 {
		var sum float64
		for _, v := range pcm[off : off+audiosrc.SampleRate] {
			sum += float64(v) * float64(v)
		}
		best = max(best, math.Sqrt(sum/audiosrc.SampleRate))
	}
	ok := float64(len(pcm)) >= secs*audiosrc.SampleRate && best >= minRMS
	if ok == neg {
		ts.Fatalf("%s: %.2f s, loudest second RMS %.0f (want ≥ %s s, RMS ≥ %s)", args[0], float64(len(pcm))/audiosrc.SampleRate, best, args[1], args[2])
	}
}
