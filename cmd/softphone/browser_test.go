package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/softphone/softphone/internal/chromium"
	"github.com/softphone/softphone/internal/webclient"
)

// TestBrowserScripts runs scripts in which the shipped web client, in a
// headless Chromium with a fake camera and microphone, calls and is called
// by the headless CLI. Without Chromium they are skipped, except in CI
// (CI=true), where that is a failure; scripts/test installs it.
func TestBrowserScripts(t *testing.T) {
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: scripts/test installs it", err)
		}
		t.Skipf("%v: run ./scripts/test (it installs it) for the browser scripts", err)
	}
	p := scriptParams("testdata/browser")
	p.Cmds["browser"] = cmdBrowser
	testscript.Run(t, p)
}

// browserTurn lets one script at a time have a browser: Chromium, the
// server and two clients of a call already fill the two cores.
var browserTurn = make(chan struct{}, 1)

// scriptBrowsers holds each running script's browser and tabs.
var scriptBrowsers sync.Map // *testscript.TestScript → *scriptBrowser

type scriptBrowser struct {
	b    *chromium.Browser
	tabs map[string]*webclient.Page
}

// browserTimeout bounds each browser step; it only turns a hang into a
// failure.
const browserTimeout = 30 * time.Second

// cmdBrowser drives the web client:
//
//	browser start [-pin CERT]      a Chromium for this script (CERT: trust that certificate's key)
//	browser open TAB URL [QUERY]   the client at URL in a fresh context
//	browser login TAB ACCOUNT TOKEN
//	browser click TAB ID           click the element with that id
//	browser contact TAB ACCOUNT audio|video
//	browser wait TAB EVENT [PRED]  wait for a kit event (PRED: JavaScript over d); prints its data (keys sorted)
//	browser stats TAB PRED         wait for STATS satisfying PRED; prints them
//	browser text TAB ID            prints the element's text
//	browser eval TAB EXPR          prints the expression's JSON value
//	browser waitfor TAB COND       wait for a JavaScript condition
func cmdBrowser(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: browser start|open|login|click|contact|wait|stats|text|eval|waitfor ...")
	}
	if args[0] == "start" {
		startScriptBrowser(ts, args[1:])
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	v, ok := scriptBrowsers.Load(ts)
	if !ok {
		ts.Fatalf("browser %s: no browser: use browser start first", args[0])
	}
	sb := v.(*scriptBrowser)
	if len(args) < 2 {
		ts.Fatalf("browser %s: missing tab name", args[0])
	}
	op, name, rest := args[0], args[1], args[2:]
	if op == "open" {
		if len(rest) < 1 || len(rest) > 2 {
			ts.Fatalf("usage: browser open TAB URL [QUERY]")
		}
		query := ""
		if len(rest) == 2 {
			query = rest[1]
		}
		p, err := webclient.Open(ctx, sb.b, name, rest[0], query)
		ts.Check(err)
		p.Timeout = browserTimeout
		sb.tabs[name] = p
		return
	}
	p := sb.tabs[name]
	if p == nil {
		ts.Fatalf("browser %s: no tab %q", op, name)
	}
	fail := func(err error) {
		if err != nil {
			ts.Fatalf("%v\nconsole:\n%s", err, strings.Join(p.Console(), "\n"))
		}
	}
	// printJSON writes v as compact JSON with text as text (the browser
	// escapes every non-ASCII character).
	printJSON := func(v any) {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		ts.Check(enc.Encode(v))
		fmt.Fprint(ts.Stdout(), b.String())
	}
	switch op {
	case "login":
		if len(rest) != 2 {
			ts.Fatalf("usage: browser login TAB ACCOUNT TOKEN")
		}
		fail(p.Login(ctx, "", rest[0], rest[1]))
	case "click":
		if len(rest) != 1 {
			ts.Fatalf("usage: browser click TAB ID")
		}
		fail(p.Click(ctx, rest[0]))
	case "contact":
		if len(rest) != 2 || (rest[1] != "audio" && rest[1] != "video") {
			ts.Fatalf("usage: browser contact TAB ACCOUNT audio|video")
		}
		fail(p.ClickContact(ctx, rest[0], rest[1] == "video"))
	case "wait":
		if len(rest) < 1 || len(rest) > 2 {
			ts.Fatalf("usage: browser wait TAB EVENT [PRED]")
		}
		pred := ""
		if len(rest) == 2 {
			pred = rest[1]
		}
		ev, err := p.WaitEvent(ctx, rest[0], pred)
		fail(err)
		var data any
		ts.Check(json.Unmarshal(ev.Data, &data))
		fmt.Fprintf(ts.Stdout(), "%s ", ev.Name)
		printJSON(data)
	case "stats":
		if len(rest) != 1 {
			ts.Fatalf("usage: browser stats TAB PRED")
		}
		st, err := p.WaitStats(ctx, rest[0])
		fail(err)
		printJSON(st)
	case "text":
		if len(rest) != 1 {
			ts.Fatalf("usage: browser text TAB ID")
		}
		s, err := p.Text(ctx, rest[0])
		fail(err)
		fmt.Fprintln(ts.Stdout(), s)
	case "eval":
		if len(rest) != 1 {
			ts.Fatalf("usage: browser eval TAB EXPR")
		}
		var v any
		fail(p.Eval(ctx, rest[0], &v))
		printJSON(v)
	case "waitfor":
		if len(rest) != 1 {
			ts.Fatalf("usage: browser waitfor TAB COND")
		}
		fail(p.WaitFor(ctx, rest[0]))
	default:
		ts.Fatalf("browser: unknown operation %q", op)
	}
}

// startScriptBrowser launches the script's Chromium, waiting for its turn;
// the script's end closes it.
func startScriptBrowser(ts *testscript.TestScript, args []string) {
	var extra []string
	switch {
	case len(args) == 2 && args[0] == "-pin":
		extra = append(extra, chromium.SPKIPin(spkiHash(ts, ts.MkAbs(args[1]))))
	case len(args) != 0:
		ts.Fatalf("usage: browser start [-pin CERT]")
	}
	if _, ok := scriptBrowsers.Load(ts); ok {
		ts.Fatalf("browser start: already started")
	}
	select {
	case browserTurn <- struct{}{}:
	case <-time.After(10 * time.Minute):
		ts.Fatalf("browser start: no turn for a browser within 10 minutes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancel()
	b, err := chromium.Launch(ctx, chromium.Options{ExtraArgs: extra, StartTimeout: 2 * browserTimeout})
	if err != nil {
		<-browserTurn
		ts.Fatalf("browser start: %v", err)
	}
	sb := &scriptBrowser{b: b, tabs: map[string]*webclient.Page{}}
	scriptBrowsers.Store(ts, sb)
	ts.Defer(func() {
		scriptBrowsers.Delete(ts)
		_ = b.Close()
		<-browserTurn
	})
}

// spkiHash is the SHA-256 of a PEM certificate's public key, what
// Chromium's certificate pin takes.
func spkiHash(ts *testscript.TestScript, path string) []byte {
	data, err := os.ReadFile(path)
	ts.Check(err)
	block, _ := pem.Decode(data)
	if block == nil {
		ts.Fatalf("%s: not PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	ts.Check(err)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return sum[:]
}
