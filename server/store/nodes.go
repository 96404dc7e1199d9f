package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A node's entry holds the time of its last heartbeat (unix ms), and
// ":down" after a clean shutdown. Entries stay for nodeRetention after the
// last heartbeat, so the calls of a node that died can be billed up to the
// moment it was last known alive rather than up to when a sweeper noticed.

// Heartbeat marks node alive for NodeTTL from now.
func (s *Store) Heartbeat(ctx context.Context, node string) error {
	if _, err := s.nodes.Put(ctx, node, []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))); err != nil {
		return fmt.Errorf("heartbeat %s: %w", node, err)
	}
	return nil
}

// NodeSeen returns when node last sent a heartbeat and whether it is alive:
// a heartbeat within NodeTTL and no clean shutdown since. A node never seen
// (or forgotten) is dead with a zero time.
func (s *Store) NodeSeen(ctx context.Context, node string) (time.Time, bool, error) {
	e, err := s.nodes.Get(ctx, node)
	if IsNotFound(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("node %s: %w", node, err)
	}
	v, down := strings.CutSuffix(string(e.Value()), ":down")
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, nil // not ours; the node counts as gone
	}
	seen := time.UnixMilli(ms)
	return seen, !down && time.Since(seen) < NodeTTL, nil
}

// NodeAlive reports whether node sent a heartbeat within NodeTTL.
func (s *Store) NodeAlive(ctx context.Context, node string) (bool, error) {
	_, alive, err := s.NodeSeen(ctx, node)
	return alive, err
}

// RemoveNode marks node down on a clean shutdown so its devices count as
// gone at once.
func (s *Store) RemoveNode(ctx context.Context, node string) error {
	v := strconv.FormatInt(time.Now().UnixMilli(), 10) + ":down"
	if _, err := s.nodes.Put(ctx, node, []byte(v)); err != nil {
		return fmt.Errorf("remove node %s: %w", node, err)
	}
	return nil
}

// Nodes lists the nodes whose heartbeat is current. The bucket also keeps
// nodes that stopped (for billing), which are left out.
func (s *Store) Nodes(ctx context.Context) ([]string, error) {
	keys, err := s.nodes.keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var out []string
	for _, k := range keys {
		if alive, err := s.NodeAlive(ctx, k); err != nil {
			return nil, err
		} else if alive {
			out = append(out, k)
		}
	}
	return out, nil
}
