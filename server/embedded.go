package server

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// embeddedNATS is the in-process NATS server with JetStream on the data
// directory. It listens on no port: the server talks to it in process.
type embeddedNATS struct {
	ns *natsserver.Server
}

func startEmbedded(dataDir, name string) (*embeddedNATS, error) {
	opts := &natsserver.Options{
		ServerName: name,
		DontListen: true,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "jetstream"),
		// Records must survive a crash once acknowledged: fsync every write.
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS: not ready after 10s")
	}
	return &embeddedNATS{ns: ns}, nil
}

func (e *embeddedNATS) connect(name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(e.ns), nats.Name("softphone-"+name))
}

func (e *embeddedNATS) shutdown() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}
