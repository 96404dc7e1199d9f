package server

import (
	"context"
	"sync"
	"time"

	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// accountEpochs tells the TURN relay each account's current epoch (its
// incarnation and token, auth.Epoch), so credentials issued before a token
// reset or an account removal stop working. The relay asks on every
// authenticated TURN request, so answers are kept in memory: filled by a
// read on a miss (an unknown account is remembered as such), and kept
// current by an accounts watch. A read that a change overtook is used but
// not kept, so a stale answer is never remembered.
type accountEpochs struct {
	st *store.Store

	mu      sync.Mutex
	known   map[string]string // account → epoch; "" = no such account
	changes uint64            // bumped by every change the watch applies
}

// maxKnownEpochs bounds the memory: past it, answers are read, not kept.
const maxKnownEpochs = 100_000

// epochReadTimeout bounds a read on a miss (the relay waits for it).
const epochReadTimeout = 2 * time.Second

func newAccountEpochs(st *store.Store) *accountEpochs {
	return &accountEpochs{st: st, known: map[string]string{}}
}

// Epoch implements turn.Epochs. A store failure refuses (fails closed).
func (e *accountEpochs) Epoch(account string) (string, bool) {
	e.mu.Lock()
	if epoch, ok := e.known[account]; ok {
		e.mu.Unlock()
		return epoch, epoch != ""
	}
	seen := e.changes
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), epochReadTimeout)
	defer cancel()
	a, _, err := e.st.GetAccount(ctx, account)
	epoch := ""
	switch {
	case err == nil:
		epoch = auth.Epoch(a.CreatedAt, a.TokenHash)
	case !store.IsNotFound(err):
		return "", false
	}
	e.mu.Lock()
	if e.changes == seen && len(e.known) < maxKnownEpochs {
		e.known[account] = epoch
	}
	e.mu.Unlock()
	return epoch, epoch != ""
}

// run applies the accounts watch until it ends.
func (e *accountEpochs) run(updates <-chan store.AccountUpdate) {
	for u := range updates {
		e.mu.Lock()
		e.changes++
		if _, ok := e.known[u.ID]; ok {
			if u.Account == nil {
				e.known[u.ID] = ""
			} else {
				e.known[u.ID] = auth.Epoch(u.Account.CreatedAt, u.Account.TokenHash)
			}
		}
		e.mu.Unlock()
	}
}

// forget drops what is known of account, so the next question reads it;
// reads in flight are not kept. The gateway calls it before it confirms a
// token reset or removal, so the relay refuses old credentials at once,
// without waiting for the watch.
func (e *accountEpochs) forget(account string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.changes++
	delete(e.known, account)
}
