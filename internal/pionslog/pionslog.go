// Package pionslog routes pion's scoped loggers (webrtc, ice, dtls, turn)
// into log/slog, one level down, so nothing of pion's reaches the terminal
// on its own: the TUI owns the screen and headless --json output must stay
// one JSON object per line. pion logs routine ICE/DTLS hiccups and every
// refused TURN request as errors, hence the shift.
package pionslog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// levelTrace sits below slog's Debug for pion's Trace and Debug lines.
const levelTrace = slog.LevelDebug - 4

// Factory is a pion logging.LoggerFactory writing to Log. Pion's errors are
// logged at ErrorLevel (its zero value is slog.LevelInfo); warnings and info
// at Debug; debug and trace below Debug.
type Factory struct {
	Log        *slog.Logger
	ErrorLevel slog.Level
}

// NewLogger implements logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{log: f.Log.With("pion", scope), errLevel: f.ErrorLevel}
}

type logger struct {
	log      *slog.Logger
	errLevel slog.Level
}

func (l logger) at(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l logger) atf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l logger) Trace(msg string)                  { l.at(levelTrace, msg) }
func (l logger) Tracef(format string, args ...any) { l.atf(levelTrace, format, args...) }
func (l logger) Debug(msg string)                  { l.at(levelTrace, msg) }
func (l logger) Debugf(format string, args ...any) { l.atf(levelTrace, format, args...) }
func (l logger) Info(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l logger) Infof(format string, args ...any)  { l.atf(slog.LevelDebug, format, args...) }
func (l logger) Warn(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l logger) Warnf(format string, args ...any)  { l.atf(slog.LevelDebug, format, args...) }
func (l logger) Error(msg string)                  { l.at(l.errLevel, msg) }
func (l logger) Errorf(format string, args ...any) { l.atf(l.errLevel, format, args...) }
