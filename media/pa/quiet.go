package pa

import (
	"os"

	"golang.org/x/sys/unix"
)

// quietly runs fn with fd 2 pointing at /dev/null, unless verbose. ALSA-lib
// and libjack write straight to fd 2 from C, so redirecting os.Stderr would
// not help; the descriptor itself has to move. The caller holds libMu, which
// keeps two redirections from interleaving. Anything else the process writes
// to stderr meanwhile is lost, which is why the window is kept to the
// PortAudio calls that are known to be chatty.
func quietly(verbose bool, fn func()) {
	if verbose {
		fn()
		return
	}
	restore, err := silenceStderr()
	if err != nil {
		// Chatter is cosmetic; never fail the audio operation because of it.
		fn()
		return
	}
	defer restore()
	fn()
}

func silenceStderr() (restore func(), err error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devNull.Close()
	saved, err := unix.Dup(2)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(saved)
	if err := unix.Dup2(int(devNull.Fd()), 2); err != nil {
		unix.Close(saved)
		return nil, err
	}
	return func() {
		_ = unix.Dup2(saved, 2)
		unix.Close(saved)
	}, nil
}
