package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFile in the data directory holds the PID of the `serve` that uses it.
const lockFile = "serve.lock"

// ErrDataDirInUse is returned when another process serves the data
// directory: two embedded NATS servers on one store would corrupt it.
var ErrDataDirInUse = errors.New("data directory in use")

// dataDirLock is an exclusive lock on a data directory, held while the
// server runs. The kernel drops it when the process exits, however it
// exits, so a crash leaves no stale lock behind.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the lock on dir or says which process holds it.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: data dir lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = "softphone serve (PID " + strconv.Itoa(pid) + ")"
			}
		}
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("server: %w: %s is used by %s; stop it or choose another --data", ErrDataDirInUse, dir, holder)
		}
		return nil, fmt.Errorf("server: data dir lock %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("server: data dir lock %s: %w", path, err)
	}
	return &dataDirLock{f: f}, nil
}

// release drops the lock. The PID stays in the file: it is read only while
// the lock is held by someone.
func (l *dataDirLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
