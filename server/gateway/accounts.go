package gateway

import (
	"context"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// A session acts only as the account it logged in to, with the token it
// logged in with. If that account is removed, removed and created again
// under the same name (a different user), or its token is reset, its
// sessions end on every node: EndSessions (revoke.go) asks every node before
// the admin API answers, and each gateway also watches the accounts bucket.

// accountLoop ends the local sessions of removed or recreated accounts and
// of accounts whose token was reset.
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

// checkAccount ends the local sessions of account that were not logged in
// to a (nil: no longer existing) with its current token.
func (g *Gateway) checkAccount(account string, a *store.Account) {
	if g.cfg.AccountChanged != nil {
		g.cfg.AccountChanged(account)
	}
	for _, s := range g.sessionsOf(account) {
		id := s.identity()
		if id.account != account {
			continue
		}
		if reason := endReason(id, a); reason != "" {
			g.log.Info("ending session", "account", account, "device", id.device, "reason", reason)
			s.end(reason)
		}
	}
}

// confirmAccount re-reads an account after the session became reachable by
// routing: a removal before that point is not seen by accountLoop (the
// session was not among the account's sessions yet), so it is caught here.
func (g *Gateway) confirmAccount(ctx context.Context, a *store.Account) error {
	cur, _, err := g.st.GetAccount(ctx, a.Account)
	if store.IsNotFound(err) || (err == nil && (!cur.CreatedAt.Equal(a.CreatedAt) || cur.TokenHash != a.TokenHash)) {
		return protocol.Errorf(protocol.CodeUnauthorized, "wrong account or token")
	}
	return err
}
