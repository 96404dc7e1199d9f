package gateway

import (
	"context"
	"slices"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// contacts lists the account's contacts; the presence and nickname of those
// who list the account too.
func (s *session) contacts(ctx context.Context) (*protocol.ContactsReply, error) {
	a, _, err := s.g.st.GetAccount(ctx, s.account)
	if err != nil {
		return nil, err
	}
	return s.g.contactList(ctx, s.account, a.Contacts)
}

// addContact lists account. Whether it exists is not revealed: an unknown
// account is listed and answered like one that has not added this account
// back (pending). When it has, both now see each other's presence.
func (s *session) addContact(ctx context.Context, account string) (*protocol.ContactsReply, error) {
	g := s.g
	if account == s.account {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cannot add yourself as a contact")
	}
	a, err := g.st.UpdateAccount(ctx, s.account, func(a *store.Account) error {
		if slices.Contains(a.Contacts, account) {
			// Listed already; adding it again renews consent revoked by
			// the removal of its previous holder.
			a.Revoked = slices.DeleteFunc(a.Revoked, func(c string) bool { return c == account })
			return nil
		}
		if len(a.Contacts) >= protocol.MaxContacts {
			return protocol.Errorf(protocol.CodeTooLarge, "contact list is full (%d)", protocol.MaxContacts)
		}
		a.Contacts = append(a.Contacts, account)
		return nil
	})
	if err != nil {
		return nil, err
	}
	g.watch(s, []string{account})
	// If account lists us, its devices may see our presence from now on.
	g.publishPresence(s.account, g.presenceOf(ctx, s.account, map[string]nodeSeen{}), []string{account})
	return g.contactList(ctx, s.account, a.Contacts)
}

// removeContact unlists account; its devices that listed this account see
// it as pending from now on.
func (s *session) removeContact(ctx context.Context, account string) (*protocol.ContactsReply, error) {
	a, err := s.g.st.UpdateAccount(ctx, s.account, func(a *store.Account) error {
		a.Contacts = slices.DeleteFunc(a.Contacts, func(c string) bool { return c == account })
		a.Revoked = slices.DeleteFunc(a.Revoked, func(c string) bool { return c == account })
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.g.unwatch(s, []string{account})
	s.g.publishPresence(s.account, protocol.PresencePending, []string{account})
	return s.g.contactList(ctx, s.account, a.Contacts)
}

// contactList is owner's contact list as owner may see it: presence and
// nickname of the contacts that consent (list owner, see
// store.Account.Consents), pending for the others.
func (g *Gateway) contactList(ctx context.Context, owner string, accounts []string) (*protocol.ContactsReply, error) {
	out := &protocol.ContactsReply{Contacts: make([]protocol.Contact, 0, len(accounts))}
	alive := map[string]nodeSeen{}
	for _, acct := range accounts {
		c := protocol.Contact{Account: acct, Presence: protocol.PresencePending}
		if a, _, err := g.st.GetAccount(ctx, acct); err == nil && (a.PublicPresence || a.Consents(owner)) {
			c.NickName, c.Presence = a.Name, g.presenceOf(ctx, acct, alive)
		}
		out.Contacts = append(out.Contacts, c)
	}
	return out, nil
}

// presenceOf reports inCall when the account holds a busy lock, online when
// one of its devices is connected to a live node, else offline. alive caches
// node liveness across one reply.
func (g *Gateway) presenceOf(ctx context.Context, account string, alive map[string]nodeSeen) string {
	if _, _, err := g.st.BusyHolder(ctx, account); err == nil {
		return protocol.PresenceInCall
	}
	if g.accountOnlineCached(ctx, account, alive) {
		return protocol.PresenceOnline
	}
	return protocol.PresenceOffline
}

// accountOnline reports whether any device of account is connected.
func (g *Gateway) accountOnline(ctx context.Context, account string) bool {
	return g.accountOnlineCached(ctx, account, map[string]nodeSeen{})
}

func (g *Gateway) accountOnlineCached(ctx context.Context, account string, alive map[string]nodeSeen) bool {
	devices, err := g.st.AccountPresence(ctx, account)
	if err != nil {
		return false
	}
	for _, p := range devices {
		if p.GoneAt == 0 && g.nodeState(ctx, p.Node, alive).alive {
			return true
		}
	}
	return false
}
