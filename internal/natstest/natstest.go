// Package natstest runs in-process NATS servers with JetStream for tests.
package natstest

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds the wait for a server to accept connections.
const readyTimeout = 10 * time.Second

// Run starts a NATS server with opts and shuts it down when the test ends.
func Run(t testing.TB, opts *natsserver.Options) *natsserver.Server {
	t.Helper()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// Shared runs a JetStream server on a loopback port that several softphone
// nodes (and the test) connect to, as they would to a cluster.
func Shared(t testing.TB) *natsserver.Server {
	t.Helper()
	return Run(t, &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir()})
}
