package gateway

import (
	"context"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// A session acts only as the account it logged in to. If that account is
// removed, or removed and created again under the same name (a different
// user), its sessions are closed on every node: each gateway watches the
// accounts bucket. A token reset alone leaves live sessions alone; the old
// token stops working at their next login.

// accountLoop closes the local sessions of removed or recreated accounts.
func (g *Gateway) accountLoop(updates <-chan store.AccountUpdate) {
	for {
		select {
		case <-g.ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			g.checkAccount(u.ID, u.Account)
		}
	}
}

// checkAccount closes local sessions of account that were not logged in to
// a (nil: no longer existing).
func (g *Gateway) checkAccount(account string, a *store.Account) {
	for _, s := range g.sessionsOf(account) {
		id := s.identity()
		if id.account != account || (a != nil && a.CreatedAt.Equal(id.created)) {
			continue
		}
		g.log.Info("closing session: its account was removed", "account", account, "device", id.device)
		s.close()
	}
}

// confirmAccount re-reads an account after the session became reachable by
// routing: a removal before that point is not seen by accountLoop (the
// session was not among the account's sessions yet), so it is caught here.
func (g *Gateway) confirmAccount(ctx context.Context, a *store.Account) error {
	cur, _, err := g.st.GetAccount(ctx, a.Account)
	if store.IsNotFound(err) || (err == nil && !cur.CreatedAt.Equal(a.CreatedAt)) {
		return protocol.Errorf(protocol.CodeUnauthorized, "wrong account or token")
	}
	return err
}
