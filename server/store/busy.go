package store

import (
	"context"
	"fmt"
)

// The busy bucket holds one key per account in a call (ringing or active);
// its value is the channel id. Create is atomic, so two calls can never both
// take an account.

// LockBusy takes account for channelID. A conflict (IsConflict) means the
// account already holds a lock.
func (s *Store) LockBusy(ctx context.Context, account, channelID string) error {
	if _, err := s.busy.Create(ctx, account, []byte(channelID)); err != nil {
		return fmt.Errorf("lock %s: %w", account, err)
	}
	return nil
}

// BusyHolder returns the channel holding account's lock and the lock's
// revision; a missing lock is a not-found error.
func (s *Store) BusyHolder(ctx context.Context, account string) (string, uint64, error) {
	e, err := s.busy.Get(ctx, account)
	if err != nil {
		return "", 0, fmt.Errorf("busy %s: %w", account, err)
	}
	return string(e.Value()), e.Revision(), nil
}

// DropBusy deletes a lock at revision rev (used for stale locks); a newer
// lock of the account stays. It leaves no delete marker, which keeps the
// next LockBusy of the account a single write.
func (s *Store) DropBusy(ctx context.Context, account string, rev uint64) error {
	if err := dropKey(ctx, s.busyStream, BucketBusy, account, rev); err != nil {
		return fmt.Errorf("unlock %s: %w", account, err)
	}
	return nil
}

// UnlockBusy releases account's lock if channelID still holds it.
func (s *Store) UnlockBusy(ctx context.Context, account, channelID string) error {
	holder, rev, err := s.BusyHolder(ctx, account)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if holder != channelID {
		return nil
	}
	return s.DropBusy(ctx, account, rev)
}
