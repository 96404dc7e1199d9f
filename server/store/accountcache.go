package store

import (
	"context"
	"sync"
)

// accountCache remembers which accounts exist, so that a call setup does
// not read the callee's account from the store on every call. It is only
// trusted while an accounts watch runs (WatchAccounts): the watch applies
// every later put and delete, so an entry can only be stale by the watch's
// delivery delay (a call to an account removed a moment ago may still ring
// it; its sessions are being closed by that same watch anyway).
//
// Entries carry the KV revision they were learnt at and are only replaced by
// newer ones, so a read that returns an account after the watch already
// applied its removal cannot resurrect it. A read started before the watch
// was running (or while it restarted) is not recorded: a removal between
// that read and the watch's start would never be seen.
type accountCache struct {
	mu       sync.Mutex
	watchers int    // running accounts watches
	gen      uint64 // bumped whenever watchers changes
	seen     map[string]accountSeen
}

type accountSeen struct {
	rev    uint64
	exists bool
	inc    string // Account.Incarnation of an existing account
}

// snapshot returns the generation a read starting now belongs to, and
// whether the cache may be used at all.
func (c *accountCache) snapshot() (gen uint64, live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.watchers > 0
}

// lookup reports that account is known to exist.
func (c *accountCache) lookup(account string) bool {
	_, ok := c.incarnation(account)
	return ok
}

// incarnation returns the incarnation of an account known to exist.
func (c *accountCache) incarnation(account string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.seen[account]
	return seen.inc, c.watchers > 0 && seen.exists && seen.inc != ""
}

// learn records account's state at revision rev. From a read, gen is the
// generation of the read's start; from the watch, watched is true.
func (c *accountCache) learn(account string, rev uint64, exists bool, inc string, gen uint64, watched bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watchers == 0 || (!watched && gen != c.gen) {
		return
	}
	if cur, ok := c.seen[account]; ok && cur.rev >= rev {
		return
	}
	if c.seen == nil {
		c.seen = make(map[string]accountSeen)
	}
	c.seen[account] = accountSeen{rev: rev, exists: exists, inc: inc}
}

// watching adds (+1) or removes (-1) a running watch. When none is left the
// cache is dropped: nothing keeps it current any more.
func (c *accountCache) watching(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers += delta
	c.gen++
	if c.watchers == 0 {
		c.seen = nil
	}
}

// AccountExists reports whether account exists. While an accounts watch runs
// it answers from memory for accounts seen before; otherwise (or on a miss)
// it reads the account.
func (s *Store) AccountExists(ctx context.Context, account string) (bool, error) {
	_, ok, err := s.AccountIncarnation(ctx, account)
	return ok, err
}

// AccountIncarnation returns the incarnation of account (Account.
// Incarnation) and whether it exists, from memory like AccountExists.
func (s *Store) AccountIncarnation(ctx context.Context, account string) (string, bool, error) {
	if inc, ok := s.known.incarnation(account); ok {
		return inc, true, nil
	}
	gen, live := s.known.snapshot()
	a, rev, err := s.GetAccount(ctx, account)
	if IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if live {
		s.known.learn(account, rev, true, a.Incarnation(), gen, false)
	}
	return a.Incarnation(), true, nil
}
