package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands that look into the NATS cluster under the cluster
// scripts, the way an operator would with the nats CLI.

// softphoneStreams are the streams `serve` creates.
var softphoneStreams = []string{"KV_accounts", "KV_channels", "KV_busy", "KV_presence", "KV_nodes", "KV_nonces", "KV_meta", "records"}

// jsStreams connects to url and calls f with every softphone stream's
// info, retrying until f accepts them all or pollTimeout passes.
func jsStreams(ts *testscript.TestScript, url string, f func(*jetstream.StreamInfo) error) {
	js := jsConnect(ts, url)
	defer js.Conn().Close()
	deadline := time.Now().Add(pollTimeout)
	for {
		var err error
		for _, name := range softphoneStreams {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			var info *jetstream.StreamInfo
			if s, serr := js.Stream(ctx, name); serr != nil {
				err = fmt.Errorf("stream %s: %w", name, serr)
			} else if info, err = s.Info(ctx); err == nil {
				err = f(info)
			}
			cancel()
			if err != nil {
				break
			}
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("after %s: %v", pollTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// jsConnect connects to the cluster at url; the caller closes js.Conn().
func jsConnect(ts *testscript.TestScript, url string) jetstream.JetStream {
	nc, err := nats.Connect(url)
	ts.Check(err)
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		ts.Fatalf("jetstream: %v", err)
	}
	return js
}

// cmdJSReplicas checks that every softphone stream is configured with N
// replicas: `jsreplicas URL N`, and with `current` also that they are all
// online and caught up (waiting for it).
func cmdJSReplicas(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 || (len(args) == 3 && args[2] != "current") {
		ts.Fatalf("usage: jsreplicas URL N [current]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	jsStreams(ts, args[0], func(info *jetstream.StreamInfo) error {
		if info.Config.Replicas != want {
			// A configured count is not a transient state: fail at once.
			ts.Fatalf("stream %s has %d replicas, want %d", info.Config.Name, info.Config.Replicas, want)
		}
		if len(args) == 3 && want > 1 {
			c := info.Cluster
			if c == nil || c.Leader == "" {
				return fmt.Errorf("stream %s has no leader", info.Config.Name)
			}
			var lagging []string
			for _, p := range c.Replicas {
				if !p.Current || p.Offline {
					lagging = append(lagging, p.Name)
				}
			}
			if len(c.Replicas) != want-1 || len(lagging) > 0 {
				return fmt.Errorf("stream %s: leader %s, %d followers, lagging %v", info.Config.Name, c.Leader, len(c.Replicas), lagging)
			}
		}
		return nil
	})
	ts.Logf("every stream has %d replicas", want)
}

// cmdJSLeader sets VAR to the name of the server leading STREAM: `jsleader
// URL STREAM VAR`.
func cmdJSLeader(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jsleader URL STREAM VAR")
	}
	js := jsConnect(ts, args[0])
	defer js.Conn().Close()
	deadline := time.Now().Add(pollTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := js.Stream(ctx, args[1])
		var leader string
		if err == nil && s.CachedInfo().Cluster != nil {
			leader = s.CachedInfo().Cluster.Leader
		}
		cancel()
		if leader != "" {
			ts.Setenv(args[2], leader)
			ts.Logf("%s is led by %s", args[1], leader)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("stream %s has no leader after %s (%v)", args[1], pollTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cmdSleep pauses the script: `sleep DURATION`. Only for giving a
// background process time to get somewhere it cannot tell the script about.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}
