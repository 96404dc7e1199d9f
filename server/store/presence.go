package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Presence says where a device is connected. A device that disconnects keeps
// its entry with GoneAt set, so the sweeper can measure the reconnect grace.
type Presence struct {
	Node   string `json:"node"`
	Since  int64  `json:"since"`            // unix ms
	GoneAt int64  `json:"goneAt,omitempty"` // unix ms; 0 while connected
}

func presenceKey(account, device string) string { return account + "." + device }

// SetPresence records a device as connected (or gone) and returns the revision.
func (s *Store) SetPresence(ctx context.Context, account, device string, p Presence) (uint64, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode presence: %w", err)
	}
	rev, err := s.presence.Put(ctx, presenceKey(account, device), b)
	if err != nil {
		return 0, fmt.Errorf("put presence %s.%s: %w", account, device, err)
	}
	return rev, nil
}

// MarkGone rewrites a device's entry as gone if it is still at revision rev,
// so a stale session never marks a newer login of the same device gone.
func (s *Store) MarkGone(ctx context.Context, account, device string, p Presence, rev uint64) (uint64, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode presence: %w", err)
	}
	n, err := s.presence.Update(ctx, presenceKey(account, device), b, rev)
	if err != nil {
		return 0, fmt.Errorf("mark %s.%s gone: %w", account, device, err)
	}
	return n, nil
}

// ClearPresence deletes a device's entry if it is still at revision rev.
func (s *Store) ClearPresence(ctx context.Context, account, device string, rev uint64) error {
	err := s.presence.Delete(ctx, presenceKey(account, device), jetstream.LastRevision(rev))
	if err != nil && !IsConflict(err) && !IsNotFound(err) {
		return fmt.Errorf("clear presence %s.%s: %w", account, device, err)
	}
	return nil
}

// DevicePresence returns one device's entry.
func (s *Store) DevicePresence(ctx context.Context, account, device string) (*Presence, error) {
	e, err := s.presence.Get(ctx, presenceKey(account, device))
	if err != nil {
		return nil, fmt.Errorf("presence %s.%s: %w", account, device, err)
	}
	var p Presence
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return nil, fmt.Errorf("decode presence: %w", err)
	}
	return &p, nil
}

// AccountPresence returns every device entry of account, keyed by device.
func (s *Store) AccountPresence(ctx context.Context, account string) (map[string]*Presence, error) {
	lister, err := s.presence.ListKeysFiltered(ctx, account+".*")
	if err != nil {
		return nil, fmt.Errorf("list presence %s: %w", account, err)
	}
	out := map[string]*Presence{}
	for k := range lister.Keys() {
		device := strings.TrimPrefix(k, account+".")
		p, err := s.DevicePresence(ctx, account, device)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[device] = p
	}
	return out, nil
}
