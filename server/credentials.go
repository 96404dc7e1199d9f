package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// credentialsFile is written to the data directory so an operator can read
// the generated admin key pair.
const credentialsFile = "credentials.json"

// loadCredentials uses the configured key pair, or generates one once and
// keeps it in KV "meta" so every node of a cluster and every restart agree.
func (s *Server) loadCredentials(ctx context.Context) error {
	if s.cfg.AppKey != "" {
		s.appKey, s.appSecret = s.cfg.AppKey, s.cfg.AppSecret
		return nil
	}
	c, err := s.st.EnsureCredentials(ctx, func() store.Credentials {
		return store.Credentials{AppKey: auth.RandomID(32), AppSecret: auth.NewToken()}
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.appKey, s.appSecret = c.AppKey, c.AppSecret
	if s.cfg.DataDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("server: encode credentials: %w", err)
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("server: data dir: %w", err)
	}
	path := filepath.Join(s.cfg.DataDir, credentialsFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("server: write %s: %w", path, err)
	}
	// WriteFile keeps the mode of a file that existed: the secret is the
	// owner's alone whatever it was.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("server: chmod %s: %w", path, err)
	}
	return nil
}
