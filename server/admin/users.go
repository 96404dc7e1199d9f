// Package admin is the account administration API of the server (HTTP,
// authenticated the way NetEase's server API is) and a Go client for it.
package admin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
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
	// Nicknames reach other users' terminals. Clients escape what they
	// print anyway; a server refuses to store such a name in the first place.
	if !termsafe.Safe(name) {
		return User{}, protocol.Errorf(protocol.CodeBadRequest,
			"name must be printable UTF-8 text: no control characters, escape sequences or bidi overrides (got %s)", termsafe.String(name))
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

// resetToken issues a new token; the old one stops working at once for new
// logins (the handler also ends the live sessions). It returns the account
// as it now is.
func resetToken(ctx context.Context, st *store.Store, account string) (User, *store.Account, error) {
	tok := auth.NewToken()
	a, err := st.UpdateAccount(ctx, account, func(a *store.Account) error {
		a.TokenHash = auth.HashToken(tok)
		return nil
	})
	if store.IsNotFound(err) {
		return User{}, nil, protocol.Errorf(protocol.CodeNotFound, "account %q not found", account)
	}
	if err != nil {
		return User{}, nil, err
	}
	return User{Account: a.Account, Name: a.Name, Token: tok, CreatedAt: a.CreatedAt}, a, nil
}

// revokeConsents marks account revoked in every contact list that holds it
// (store.Account.Revoked): the consent those lists gave was the removed
// holder's, not that of whoever gets the name next. It is idempotent, so a
// removal whose revocation failed halfway is completed by removing again.
func revokeConsents(ctx context.Context, st *store.Store, account string) error {
	accts, err := st.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if !slices.Contains(a.Contacts, account) || slices.Contains(a.Revoked, account) {
			continue
		}
		_, err := st.UpdateAccount(ctx, a.Account, func(a *store.Account) error {
			if slices.Contains(a.Contacts, account) && !slices.Contains(a.Revoked, account) {
				a.Revoked = append(a.Revoked, account)
			}
			return nil
		})
		if err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("revoke %s in the contacts of %s: %w", account, a.Account, err)
		}
	}
	return nil
}
