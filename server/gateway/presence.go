package gateway

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/call/protocol"
)

// Live PRESENCE events: a change of an account's presence is published once
// on sp.presence.<account>; every gateway holds one wildcard subscription
// and a reverse index (contact → local sessions that list it), so the cost
// is one map lookup per change rather than a subscription per contact.
//
// Presence is shared only between mutual contacts. The message carries its
// audience, the contact list of the account it is about, and a watcher gets
// it only if it is in that audience: it lists the account (the index) and
// the account lists it (the audience).
const (
	presencePrefix = "sp.presence."
	hdrAudience    = "Sp-Audience" // comma-separated accounts that may see this presence
	audienceAll    = "*"           // an account with public presence (store.Account.PublicPresence)
)

// announcePresence computes account's presence and tells its mutual
// contacts' devices.
func (g *Gateway) announcePresence(ctx context.Context, account string) {
	a, _, err := g.st.GetAccount(ctx, account)
	if err != nil {
		return // removed
	}
	audience := a.Audience()
	if a.PublicPresence {
		audience = []string{audienceAll}
	}
	if len(audience) == 0 {
		return // nobody may see it
	}
	g.publishPresence(account, g.presenceOf(ctx, account, map[string]nodeSeen{}), audience)
}

// publishPresence sends account's presence to the devices of audience that
// list account.
func (g *Gateway) publishPresence(account, presence string, audience []string) {
	b, err := protocol.EncodeEvent(protocol.EvPresence, &protocol.Presence{Account: account, Presence: presence})
	if err != nil {
		return
	}
	msg := &nats.Msg{Subject: presencePrefix + account, Data: b, Header: nats.Header{}}
	msg.Header.Set(hdrAudience, strings.Join(audience, ","))
	if err := g.nc.PublishMsg(msg); err != nil {
		g.log.Warn("publish presence failed", "account", account, "err", err)
	}
}

// watch records that s wants presence of contacts. Only s's reader
// goroutine calls watch and unwatch, so s.watching needs no lock.
func (g *Gateway) watch(s *session, contacts []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s.watching = append(s.watching, contacts...)
	for _, c := range contacts {
		set := g.watchers[c]
		if set == nil {
			set = map[*session]string{}
			g.watchers[c] = set
		}
		set[s] = s.account
	}
}

// unwatch removes s from the index for contacts (all it watches when nil).
func (g *Gateway) unwatch(s *session, contacts []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if contacts == nil {
		contacts, s.watching = s.watching, nil
	}
	for _, c := range contacts {
		if set := g.watchers[c]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(g.watchers, c)
			}
		}
	}
}

// presenceLoop forwards presence changes to the local watchers in the
// message's audience. A watcher gets the event only while still logged in
// as the account that listed the contact.
func (g *Gateway) presenceLoop(ch <-chan *nats.Msg) {
	type target struct {
		s       *session
		account string
	}
	for msg := range ch {
		account := msg.Subject[len(presencePrefix):]
		g.mu.Lock()
		targets := make([]target, 0, len(g.watchers[account]))
		for s, watcher := range g.watchers[account] {
			targets = append(targets, target{s, watcher})
		}
		g.mu.Unlock()
		if len(targets) == 0 {
			continue
		}
		audience := map[string]bool{}
		for _, a := range strings.Split(msg.Header.Get(hdrAudience), ",") {
			audience[a] = true
		}
		for _, t := range targets {
			if audience[t.account] || audience[audienceAll] {
				t.s.deliver(t.account, "", "", msg.Data)
			}
		}
	}
}
