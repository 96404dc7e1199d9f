package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// UseNonce records an admin request nonce. It returns used=true when the
// nonce was seen within NonceTTL. The key is a hash so any nonce text is a
// valid KV key.
func (s *Store) UseNonce(ctx context.Context, appKey, nonce string) (used bool, err error) {
	sum := sha256.Sum256([]byte(appKey + "\x00" + nonce))
	_, err = s.nonces.Create(ctx, hex.EncodeToString(sum[:16]), nil)
	if IsConflict(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("record nonce: %w", err)
	}
	return false, nil
}
