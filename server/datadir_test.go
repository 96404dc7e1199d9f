package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/softphone/softphone/server"
)

// TestDataDirLocked: a second server on a data directory in use refuses to
// start and names the holder's PID; once the first stops, it starts.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, func(c *server.Config) { c.DataDir = dir })
	second, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(context.Background())
	if !errors.Is(err, server.ErrDataDirInUse) {
		t.Fatalf("second server on the same data directory: %v, want ErrDataDirInUse", err)
	}
	if want := "(PID " + strconv.Itoa(os.Getpid()) + ")"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q names neither the directory nor %s", err, want)
	}
	// The refused server touched nothing: the first still serves.
	mustUser(t, first, "alice")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "serve.lock")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file %q, %v", b, err)
	}
	third := startServer(t, func(c *server.Config) { c.DataDir = dir })
	if _, err := third.CreateUser(context.Background(), "alice", ""); err == nil {
		t.Fatal("the data written under the first server is gone")
	}
}

// TestCredentialsFileIsPrivate: the admin key pair file is the owner's
// alone, even when it existed with a wider mode.
func TestCredentialsFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, func(c *server.Config) { c.DataDir = dir })
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("credentials.json mode %o, want 600", mode)
	}
}
