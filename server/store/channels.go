package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/softphone/softphone/call/protocol"
)

// PendingSwitch is an audio→video request waiting for the peer's answer.
type PendingSwitch struct {
	By       string            `json:"by"`
	CallType protocol.CallType `json:"callType"`
}

// Channel is one call. Every transition is a compare-and-set on its KV
// revision, so exactly one actor (device or node) wins each decision.
type Channel struct {
	ID          string            `json:"id"`
	RequestID   string            `json:"requestId"`
	Name        string            `json:"name"`
	State       string            `json:"state"` // protocol.ChannelRinging / Active / Ended
	From        string            `json:"from"`
	FromNick    string            `json:"fromNick,omitempty"`
	FromDevice  string            `json:"fromDevice"`
	To          string            `json:"to"`
	ToDevice    string            `json:"toDevice,omitempty"` // the accepting device
	CallType    protocol.CallType `json:"callType"`
	Attachment  json.RawMessage   `json:"attachment,omitempty"`
	CreatedAt   int64             `json:"createdAt"` // unix ms
	ExpiresAt   int64             `json:"expiresAt"` // ring deadline, unix ms
	AcceptedAt  int64             `json:"acceptedAt,omitempty"`
	EndedAt     int64             `json:"endedAt,omitempty"`
	Status      int               `json:"status,omitempty"`      // record status once ended
	EndedBy     string            `json:"endedBy,omitempty"`     // account that ended it (empty: the server)
	EndedDevice string            `json:"endedDevice,omitempty"` // device that ended it
	EndReason   string            `json:"endReason,omitempty"`   // hangup, peerGone, timeout, busy
	Node        string            `json:"node"`                  // node that created it (arms the ring timer)
	Switch      *PendingSwitch    `json:"switch,omitempty"`
	// RecordPending is set by the terminal transition and cleared once the
	// call's record is in the records stream, so a record whose writer
	// died in between is written later by a sweeper.
	RecordPending bool `json:"recordPending,omitempty"`
	// SetupUntil (unix ms) is set while the call is being set up: the
	// channel exists but INVITED has not gone out. The setup clears it
	// before inviting; a channel still carrying it past that moment is the
	// debris of a setup that failed and could not clean up after itself,
	// and is removed without a trace (no events, no record).
	SetupUntil int64 `json:"setupUntil,omitempty"`
	// FromInc and ToInc are the parties' account incarnations (see
	// Account.Incarnation): the call's records belong to them, not to an
	// account created later under the same name.
	FromInc string `json:"fromInc,omitempty"`
	ToInc   string `json:"toInc,omitempty"`
}

// SetupFailed reports a channel left behind by a setup that never
// completed: past its setup lease and still unconfirmed.
func (c *Channel) SetupFailed(now time.Time) bool {
	return c.SetupUntil != 0 && now.UnixMilli() >= c.SetupUntil
}

// Incarnation returns the incarnation of account's side of the call.
func (c *Channel) Incarnation(account string) string {
	if account == c.From {
		return c.FromInc
	}
	return c.ToInc
}

// Party reports whether account is the caller or the callee.
func (c *Channel) Party(account string) bool { return account == c.From || account == c.To }

// Peer returns the other party of account.
func (c *Channel) Peer(account string) string {
	if account == c.From {
		return c.To
	}
	return c.From
}

// DeviceOf returns the device of account in the channel: the calling device
// for the caller, the accepting device (once active) for the callee.
func (c *Channel) DeviceOf(account string) string {
	if account == c.From {
		return c.FromDevice
	}
	return c.ToDevice
}

// CreateChannel stores a new channel and returns its revision.
func (s *Store) CreateChannel(ctx context.Context, c *Channel) (uint64, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return 0, fmt.Errorf("encode channel: %w", err)
	}
	rev, err := s.channels.Create(ctx, c.ID, b)
	if err != nil {
		return 0, fmt.Errorf("create channel: %w", err)
	}
	return rev, nil
}

// GetChannel returns a channel and its revision.
func (s *Store) GetChannel(ctx context.Context, id string) (*Channel, uint64, error) {
	e, err := s.channels.Get(ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("get channel %s: %w", id, err)
	}
	return decodeChannel(e)
}

func decodeChannel(e jetstream.KeyValueEntry) (*Channel, uint64, error) {
	var c Channel
	if err := json.Unmarshal(e.Value(), &c); err != nil {
		return nil, 0, fmt.Errorf("decode channel %s: %w", e.Key(), err)
	}
	return &c, e.Revision(), nil
}

// UpdateChannel writes c if the stored revision is still rev. A lost race
// is reported as a conflict (IsConflict).
func (s *Store) UpdateChannel(ctx context.Context, c *Channel, rev uint64) (uint64, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return 0, fmt.Errorf("encode channel: %w", err)
	}
	n, err := s.channels.Update(ctx, c.ID, b, rev)
	if err != nil {
		return 0, fmt.Errorf("update channel %s: %w", c.ID, err)
	}
	return n, nil
}

// DeleteChannel removes a channel if it is still at revision rev (0: at any
// revision, for a channel whose creation may or may not have landed). It leaves
// no delete marker behind: a marker per call would stay in the bucket for
// good (one subject per channel id ever used), so channel watchers never
// see the removal and drop their copy by age instead.
func (s *Store) DeleteChannel(ctx context.Context, id string, rev uint64) error {
	if err := s.channels.drop(ctx, id, rev); err != nil {
		return fmt.Errorf("delete channel %s: %w", id, err)
	}
	return nil
}

// ChannelUpdate is one change seen by WatchChannels; Channel is nil when the
// key was deleted.
type ChannelUpdate struct {
	ID       string
	Revision uint64
	Channel  *Channel
}

// WatchChannels streams every channel (initial values, then changes) until
// ctx ends. The gateway's sweeper keeps its index of live channels from it.
func (s *Store) WatchChannels(ctx context.Context) (<-chan ChannelUpdate, error) {
	w, err := s.channels.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch channels: %w", err)
	}
	out := make(chan ChannelUpdate, 256)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue // marks the end of the initial values
				}
				u := ChannelUpdate{ID: e.Key(), Revision: e.Revision()}
				if e.Operation() == jetstream.KeyValuePut {
					c, _, err := decodeChannel(e)
					if err != nil {
						continue
					}
					u.Channel = c
				}
				select {
				case out <- u:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
