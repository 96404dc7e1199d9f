package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Heartbeat marks node alive for NodeTTL.
func (s *Store) Heartbeat(ctx context.Context, node string) error {
	if _, err := s.nodes.Put(ctx, node, []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))); err != nil {
		return fmt.Errorf("heartbeat %s: %w", node, err)
	}
	return nil
}

// NodeAlive reports whether node sent a heartbeat within NodeTTL.
func (s *Store) NodeAlive(ctx context.Context, node string) (bool, error) {
	_, err := s.nodes.Get(ctx, node)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("node %s: %w", node, err)
	}
	return true, nil
}

// RemoveNode deletes node's heartbeat on a clean shutdown so its devices
// count as gone at once.
func (s *Store) RemoveNode(ctx context.Context, node string) error {
	if err := s.nodes.Delete(ctx, node); err != nil {
		return fmt.Errorf("remove node %s: %w", node, err)
	}
	return nil
}

// Nodes lists the nodes whose heartbeat is current.
func (s *Store) Nodes(ctx context.Context) ([]string, error) {
	lister, err := s.nodes.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var out []string
	for k := range lister.Keys() {
		out = append(out, k)
	}
	return out, nil
}
