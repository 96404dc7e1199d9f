package pionslog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLevelsShiftDown(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := Factory{Log: log}.NewLogger("ice")
	l.Warn("routine hiccup")
	l.Errorf("refused %d", 401)
	out := buf.String()
	if strings.Contains(out, "routine hiccup") {
		t.Errorf("pion warning logged at info: %q", out)
	}
	if !strings.Contains(out, "refused 401") || !strings.Contains(out, "level=INFO") || !strings.Contains(out, "pion=ice") {
		t.Errorf("pion error not logged at info with its scope: %q", out)
	}
	buf.Reset()
	Factory{Log: log, ErrorLevel: slog.LevelDebug}.NewLogger("turn").Error("stale nonce")
	if buf.Len() != 0 {
		t.Errorf("error level not honoured: %q", buf.String())
	}
}
