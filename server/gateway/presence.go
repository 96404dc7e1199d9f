package gateway

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/call/protocol"
)

// Live PRESENCE events: a change of an account's presence is published once
// on sp.presence.<account>; every gateway holds one wildcard subscription
// and a reverse index (contact → local sessions that list it), so the cost
// is one map lookup per change rather than a subscription per contact.
const presencePrefix = "sp.presence."

// announcePresence computes account's presence and tells the gateways.
func (g *Gateway) announcePresence(ctx context.Context, account string) {
	p := g.presenceOf(ctx, account, map[string]nodeSeen{})
	b, err := protocol.EncodeEvent(protocol.EvPresence, &protocol.Presence{Account: account, Presence: p})
	if err != nil {
		return
	}
	if err := g.nc.Publish(presencePrefix+account, b); err != nil {
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

// presenceLoop forwards presence changes to the local watchers. A watcher
// gets the event only while still logged in as the account that listed the
// contact.
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
		for _, t := range targets {
			t.s.deliver(t.account, "", "", msg.Data)
		}
	}
}
