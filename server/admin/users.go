// Package admin is the account administration API of the server (HTTP,
// authenticated the way NetEase's server API is) and a Go client for it.
package admin

import (
	"context"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// User is an account as the admin API shows it. Token is only set when one
// was just issued (create, reset); the server never stores it.
type User struct {
	Account   string    `json:"account"`
	Name      string    `json:"name,omitempty"`
	Token     string    `json:"token,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// NewUser creates an account with a fresh token. An existing account is a
// 409, a bad id or name a 400.
func NewUser(ctx context.Context, st *store.Store, account, name string) (User, error) {
	if !protocol.ValidID(account) {
		return User{}, protocol.Errorf(protocol.CodeBadRequest, "account must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	if len(name) > protocol.MaxNickLength {
		return User{}, protocol.Errorf(protocol.CodeBadRequest, "name longer than %d bytes", protocol.MaxNickLength)
	}
	tok := auth.NewToken()
	a := &store.Account{Account: account, Name: name, TokenHash: auth.HashToken(tok), CreatedAt: time.Now().UTC()}
	if err := st.CreateAccount(ctx, a); err != nil {
		if store.IsConflict(err) {
			return User{}, protocol.Errorf(protocol.CodeConflict, "account %q already exists", account)
		}
		return User{}, err
	}
	return User{Account: account, Name: name, Token: tok, CreatedAt: a.CreatedAt}, nil
}

// ResetUserToken issues a new token; the old one stops working at once.
func ResetUserToken(ctx context.Context, st *store.Store, account string) (User, error) {
	tok := auth.NewToken()
	a, err := st.UpdateAccount(ctx, account, func(a *store.Account) error {
		a.TokenHash = auth.HashToken(tok)
		return nil
	})
	if store.IsNotFound(err) {
		return User{}, protocol.Errorf(protocol.CodeNotFound, "account %q not found", account)
	}
	if err != nil {
		return User{}, err
	}
	return User{Account: a.Account, Name: a.Name, Token: tok, CreatedAt: a.CreatedAt}, nil
}
