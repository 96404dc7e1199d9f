package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Presence says where a device is connected. A device that disconnects keeps
// its entry with GoneAt set, so the sweeper can measure the reconnect grace.
type Presence struct {
	Node    string `json:"node"`
	Session string `json:"session"`          // the login that owns the entry
	Since   int64  `json:"since"`            // unix ms
	GoneAt  int64  `json:"goneAt,omitempty"` // unix ms; 0 while connected
}

// The presence bucket holds one entry per account: its devices, keyed by
// device id. "Is the callee online?" — asked on every call setup — and the
// sweeper's "is this device gone?" are then one read each, where a key per
// device needed a key listing (a consumer created and deleted on the
// server) per question. Devices of one account share the entry and update
// it by compare-and-set; they rarely log in or out at the same moment.
type accountPresence map[string]Presence

func (s *Store) readPresence(ctx context.Context, account string) (accountPresence, uint64, error) {
	e, err := s.presence.Get(ctx, account)
	if IsNotFound(err) {
		return accountPresence{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("presence %s: %w", account, err)
	}
	ap := accountPresence{}
	if err := json.Unmarshal(e.Value(), &ap); err != nil {
		return nil, 0, fmt.Errorf("decode presence %s: %w", account, err)
	}
	return ap, e.Revision(), nil
}

// updatePresence applies f to account's entry and writes it back by
// compare-and-set (an empty entry is removed), retrying on a lost race. f
// returns false when nothing needs writing.
func (s *Store) updatePresence(ctx context.Context, account string, f func(accountPresence) bool) error {
	_, err := s.updatePresenceRev(ctx, account, f)
	return err
}

// updatePresenceRev is updatePresence that also returns the revision it
// wrote (0 when it wrote nothing or removed the entry).
func (s *Store) updatePresenceRev(ctx context.Context, account string, f func(accountPresence) bool) (uint64, error) {
	for {
		ap, rev, err := s.readPresence(ctx, account)
		if err != nil {
			return 0, err
		}
		if !f(ap) {
			return 0, nil
		}
		var written uint64
		switch {
		case len(ap) == 0 && rev != 0:
			err = s.presence.drop(ctx, account, rev)
		case len(ap) == 0:
			return 0, nil
		default:
			var b []byte
			if b, err = json.Marshal(ap); err != nil {
				return 0, fmt.Errorf("encode presence: %w", err)
			}
			if rev == 0 {
				written, err = s.presence.Create(ctx, account, b)
			} else {
				written, err = s.presence.Update(ctx, account, b, rev)
			}
		}
		if err == nil {
			return written, nil
		}
		if !IsConflict(err) || ctx.Err() != nil {
			return 0, fmt.Errorf("put presence %s: %w", account, err)
		}
	}
}

// SetPresence records a device as connected, replacing what an earlier
// login of the device left. It returns the bucket revision it wrote, which
// orders logins: revisions only grow, across nodes and across the removal
// of an account's entry.
func (s *Store) SetPresence(ctx context.Context, account, device string, p Presence) (uint64, error) {
	return s.SetPresenceAdmitted(ctx, account, device, p, nil)
}

// SetPresenceAdmitted is SetPresence for a device that admit lets in: it
// sees the account's other devices' entries, as of the write that follows
// (it runs again when a concurrent change forces a retry), and its error,
// if any, is returned and nothing is written.
func (s *Store) SetPresenceAdmitted(ctx context.Context, account, device string, p Presence,
	admit func(others map[string]Presence) error) (uint64, error) {
	var refused error
	rev, err := s.updatePresenceRev(ctx, account, func(ap accountPresence) bool {
		refused = nil
		if admit != nil {
			others := make(map[string]Presence, len(ap))
			for d, e := range ap {
				if d != device {
					others[d] = e
				}
			}
			if refused = admit(others); refused != nil {
				return false
			}
		}
		ap[device] = p
		return true
	})
	if refused != nil {
		return 0, refused
	}
	return rev, err
}

// MarkGone marks a device gone at goneAt if the login session still owns
// its entry, so a stale session never marks a newer login of the device
// gone. It reports whether it did.
func (s *Store) MarkGone(ctx context.Context, account, device, session string, goneAt int64) (bool, error) {
	marked := false
	err := s.updatePresence(ctx, account, func(ap accountPresence) bool {
		p, ok := ap[device]
		marked = ok && p.Session == session
		if !marked {
			return false
		}
		p.GoneAt = goneAt
		ap[device] = p
		return true
	})
	return marked && err == nil, err
}

// ClearPresence removes a device's entry if session still owns it and it is
// marked gone (the device did not come back).
func (s *Store) ClearPresence(ctx context.Context, account, device, session string) error {
	return s.updatePresence(ctx, account, func(ap accountPresence) bool {
		p, ok := ap[device]
		if !ok || p.Session != session || p.GoneAt == 0 {
			return false
		}
		delete(ap, device)
		return true
	})
}

// DevicePresence returns one device's entry; a missing device is a
// not-found error (IsNotFound).
func (s *Store) DevicePresence(ctx context.Context, account, device string) (*Presence, error) {
	ap, _, err := s.readPresence(ctx, account)
	if err != nil {
		return nil, err
	}
	p, ok := ap[device]
	if !ok {
		return nil, fmt.Errorf("presence %s.%s: %w", account, device, jetstream.ErrKeyNotFound)
	}
	return &p, nil
}

// AccountPresence returns every device entry of account, keyed by device.
func (s *Store) AccountPresence(ctx context.Context, account string) (map[string]Presence, error) {
	ap, _, err := s.readPresence(ctx, account)
	return ap, err
}
