package turn

import (
	"net"
	"sync"

	"github.com/pion/turn/v5"
)

// MaxAllocationsPerAccount bounds the live allocations one account holds on
// a relay. Each holds a relay port and a socket until it expires (10
// minutes unless refreshed), so without a bound one set of credentials
// could take every port of the host. An account is in one call at a time,
// and a call's device allocates once per TURN URL (at most three); the
// rest is headroom for allocations a crashed client left to expire.
const MaxAllocationsPerAccount = 64

// quota counts live allocations per account (the user id the auth handler
// returns) and refuses new ones past the bound with 486 (Allocation Quota
// Reached).
type quota struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newQuota(max int) *quota { return &quota{max: max, n: map[string]int{}} }

// admit is pion's QuotaHandler, asked before an allocation is made.
func (q *quota) admit(account, _ string, _ net.Addr) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n[account] < q.max
}

func (q *quota) add(account string, d int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n[account] += d; q.n[account] <= 0 {
		delete(q.n, account)
	}
}

// events keeps the counts: pion reports every allocation made and removed.
func (q *quota) events() turn.EventHandler {
	return turn.EventHandler{
		OnAllocationCreated: func(_, _ net.Addr, _, account, _ string, _ net.Addr, _ int) { q.add(account, 1) },
		OnAllocationDeleted: func(_, _ net.Addr, _, account, _ string) { q.add(account, -1) },
	}
}
