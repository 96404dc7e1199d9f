package gateway

import (
	"context"
	"time"
)

// nodeSeen is a gateway node's liveness and last heartbeat.
type nodeSeen struct {
	seen  time.Time
	alive bool
}

// nodeState looks a node up once per cache (one reply, one sweep).
func (g *Gateway) nodeState(ctx context.Context, node string, cache map[string]nodeSeen) nodeSeen {
	if node == g.node {
		return nodeSeen{seen: time.Now(), alive: true}
	}
	if v, ok := cache[node]; ok {
		return v
	}
	seen, alive, err := g.st.NodeSeen(ctx, node)
	if err != nil {
		alive = true // unknown: do not declare devices gone on a store hiccup
	}
	v := nodeSeen{seen: seen, alive: alive}
	cache[node] = v
	return v
}
