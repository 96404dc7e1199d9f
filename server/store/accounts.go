package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Account is one user. Only the SHA-256 of the token is kept.
type Account struct {
	Account   string    `json:"account"`
	Name      string    `json:"name,omitempty"`
	TokenHash string    `json:"tokenHash"`
	CreatedAt time.Time `json:"createdAt"`
	Contacts  []string  `json:"contacts,omitempty"`
	// Revoked lists contacts whose holder was removed after this account
	// listed them. They stay listed, but listing an account is consent to
	// its holder seeing one's presence, and that consent was given to the
	// previous holder: whoever holds the name now is not shown it until
	// this account adds them again.
	Revoked []string `json:"revoked,omitempty"`
	// PublicPresence shows the account's presence to everyone who lists
	// it, not only to mutual contacts (the built-in bots).
	PublicPresence bool `json:"publicPresence,omitempty"`
}

// Consents reports whether the account shares its presence with account:
// it lists it, and not from before its holder was removed.
func (a *Account) Consents(account string) bool {
	return slices.Contains(a.Contacts, account) && !slices.Contains(a.Revoked, account)
}

// Audience is every account the account shares its presence with (see
// Consents).
func (a *Account) Audience() []string {
	out := make([]string, 0, len(a.Contacts))
	for _, c := range a.Contacts {
		if !slices.Contains(a.Revoked, c) {
			out = append(out, c)
		}
	}
	return out
}

// Incarnation names this life of the account: an account removed and
// created again under the same name is another user, with its own call
// records. It is derived from the creation time, which every account has.
func (a *Account) Incarnation() string { return IncarnationOf(a.CreatedAt) }

// IncarnationOf is the incarnation of an account created at createdAt.
func IncarnationOf(createdAt time.Time) string {
	return strconv.FormatInt(createdAt.UnixNano(), 36)
}

// GetAccount returns the account and its revision.
func (s *Store) GetAccount(ctx context.Context, account string) (*Account, uint64, error) {
	e, err := s.accounts.Get(ctx, account)
	if err != nil {
		return nil, 0, fmt.Errorf("get account %s: %w", account, err)
	}
	var a Account
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		return nil, 0, fmt.Errorf("decode account %s: %w", account, err)
	}
	return &a, e.Revision(), nil
}

// CreateAccount stores a new account; it fails with a conflict if it exists.
func (s *Store) CreateAccount(ctx context.Context, a *Account) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode account: %w", err)
	}
	if _, err := s.accounts.Create(ctx, a.Account, b); err != nil {
		return fmt.Errorf("create account %s: %w", a.Account, err)
	}
	return nil
}

// UpdateAccount applies f to the current account and writes it back by
// compare-and-set, retrying when another writer got there first.
func (s *Store) UpdateAccount(ctx context.Context, account string, f func(*Account) error) (*Account, error) {
	for {
		a, rev, err := s.GetAccount(ctx, account)
		if err != nil {
			return nil, err
		}
		if err := f(a); err != nil {
			return nil, err
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode account: %w", err)
		}
		_, err = s.accounts.Update(ctx, account, b, rev)
		if err == nil {
			return a, nil
		}
		if !IsConflict(err) {
			return nil, fmt.Errorf("update account %s: %w", account, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// DeleteAccount removes an account; a missing account is a not-found error.
func (s *Store) DeleteAccount(ctx context.Context, account string) error {
	e, err := s.accounts.Get(ctx, account)
	if err != nil {
		return fmt.Errorf("delete account %s: %w", account, err)
	}
	if err := s.accounts.Delete(ctx, account, jetstream.LastRevision(e.Revision())); err != nil {
		return fmt.Errorf("delete account %s: %w", account, err)
	}
	return nil
}

// ListAccounts returns every account, sorted by id.
func (s *Store) ListAccounts(ctx context.Context) ([]*Account, error) {
	keys, err := s.accounts.keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var out []*Account
	for _, k := range keys {
		a, _, err := s.GetAccount(ctx, k)
		if IsNotFound(err) {
			continue // removed while listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out, nil
}

// AccountUpdate is one change seen by WatchAccounts; Account is nil when the
// account was deleted.
type AccountUpdate struct {
	ID      string
	Account *Account
}

// WatchAccounts streams changes of accounts made from now on until ctx
// ends. Gateways use it to end the sessions of a removed account.
func (s *Store) WatchAccounts(ctx context.Context) (<-chan AccountUpdate, error) {
	w, err := s.accounts.kv.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		return nil, fmt.Errorf("watch accounts: %w", err)
	}
	out := make(chan AccountUpdate, 64)
	s.known.watching(+1)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		defer s.known.watching(-1)
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				put := e.Operation() == jetstream.KeyValuePut
				u := AccountUpdate{ID: e.Key()}
				var a Account
				if put && json.Unmarshal(e.Value(), &a) == nil {
					u.Account = &a
				}
				inc := ""
				if u.Account != nil {
					inc = u.Account.Incarnation()
				}
				s.known.learn(e.Key(), e.Revision(), put, inc, 0, true)
				if put && u.Account == nil {
					continue
				}
				select {
				case out <- u:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
