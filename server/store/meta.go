package store

import (
	"context"
	"encoding/json"
	"fmt"
)

const metaCredentials = "credentials"

// Credentials are the admin API key pair generated on first start.
type Credentials struct {
	AppKey    string `json:"appKey"`
	AppSecret string `json:"appSecret"`
}

// EnsureCredentials returns the stored credentials, storing gen() first if
// there are none. When several processes start at once the first Create
// wins and everyone reads its value.
func (s *Store) EnsureCredentials(ctx context.Context, gen func() Credentials) (Credentials, error) {
	for range 3 {
		e, err := s.meta.Get(ctx, metaCredentials)
		if err == nil {
			var c Credentials
			if err := json.Unmarshal(e.Value(), &c); err != nil {
				return Credentials{}, fmt.Errorf("decode credentials: %w", err)
			}
			return c, nil
		}
		if !IsNotFound(err) {
			return Credentials{}, fmt.Errorf("get credentials: %w", err)
		}
		b, err := json.Marshal(gen())
		if err != nil {
			return Credentials{}, fmt.Errorf("encode credentials: %w", err)
		}
		if _, err := s.meta.Create(ctx, metaCredentials, b); err != nil && !IsConflict(err) {
			return Credentials{}, fmt.Errorf("store credentials: %w", err)
		}
	}
	return Credentials{}, fmt.Errorf("credentials: lost the creation race repeatedly")
}
