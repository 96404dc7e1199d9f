package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The busy bucket holds one key per account in a call (ringing or active);
// its value names the channel. Create is atomic, so two calls can never both
// take an account.
//
// A lock is taken while its call is being set up, possibly before the
// channel it names is stored (both writes are in flight at once). It
// therefore carries a lease: until the lease ends, a lock whose channel is
// missing still counts (the setup is under way); after it, such a lock is
// stale. A lock whose channel exists counts for as long as the call rings or
// runs, so no lock outlives its setup or its call.

// Lock is one account's busy lock.
type Lock struct {
	Channel string
	Lease   int64 // unix ms; 0 for locks written before leases existed
}

func (l Lock) encode() []byte {
	return []byte(l.Channel + " " + strconv.FormatInt(l.Lease, 10))
}

func decodeLock(b []byte) Lock {
	id, lease, ok := strings.Cut(string(b), " ")
	l := Lock{Channel: id}
	if ok {
		l.Lease, _ = strconv.ParseInt(lease, 10, 64)
	}
	return l
}

// Leased reports whether the lock's setup lease still runs at now.
func (l Lock) Leased(now time.Time) bool { return now.UnixMilli() < l.Lease }

// LockBusy takes account for channelID with a setup lease until lease. A
// conflict (IsConflict) means the account already holds a lock.
func (s *Store) LockBusy(ctx context.Context, account, channelID string, lease time.Time) error {
	if _, err := s.busy.Create(ctx, account, Lock{Channel: channelID, Lease: lease.UnixMilli()}.encode()); err != nil {
		return fmt.Errorf("lock %s: %w", account, err)
	}
	return nil
}

// BusyHolder returns account's lock and its revision; a missing lock is a
// not-found error.
func (s *Store) BusyHolder(ctx context.Context, account string) (Lock, uint64, error) {
	e, err := s.busy.Get(ctx, account)
	if err != nil {
		return Lock{}, 0, fmt.Errorf("busy %s: %w", account, err)
	}
	return decodeLock(e.Value()), e.Revision(), nil
}

// DropBusy deletes a lock at revision rev (used for stale locks); a newer
// lock of the account stays. It leaves no delete marker, which keeps the
// next LockBusy of the account a single write.
func (s *Store) DropBusy(ctx context.Context, account string, rev uint64) error {
	if err := s.busy.drop(ctx, account, rev); err != nil {
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
	if holder.Channel != channelID {
		return nil
	}
	return s.DropBusy(ctx, account, rev)
}
