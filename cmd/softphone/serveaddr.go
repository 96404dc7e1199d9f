package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// serveAddrFile in a data directory records where the `serve` using it
// listens, so `softphone user --data DIR` reaches that server without
// --server. serve removes it when it stops.
const serveAddrFile = "serve.json"

type serveAddr struct {
	URL   string `json:"url"`
	Admin string `json:"admin"`
	PID   int    `json:"pid"`
}

func writeServeAddr(dir, url, admin string) error {
	b, err := json.Marshal(serveAddr{URL: url, Admin: admin, PID: os.Getpid()})
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, serveAddrFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, serveAddrFile))
}

func removeServeAddr(dir string) { _ = os.Remove(filepath.Join(dir, serveAddrFile)) }

// readServeAddr returns the signaling URL of the serve running on dir.
func readServeAddr(dir string) (string, error) {
	path := filepath.Join(dir, serveAddrFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no server address: no softphone serve is running with data directory %s; give --server URL", dir)
	}
	if err != nil {
		return "", fmt.Errorf("server address: %w", err)
	}
	var a serveAddr
	if err := json.Unmarshal(b, &a); err != nil || a.URL == "" {
		return "", fmt.Errorf("server address: %s is not a serve address file; give --server URL", path)
	}
	return a.URL, nil
}
