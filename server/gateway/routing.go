package gateway

import (
	"fmt"
	"hash/fnv"

	"github.com/nats-io/nats.go"
)

// Every account has one NATS subject. A gateway subscribes to it while it
// holds at least one device of the account; messages carry the encoded event
// frame as body and device filters as headers, so gateways forward bytes.
const (
	subjectPrefix = "sp.acct."
	hdrOnly       = "Sp-Only"   // deliver only to this device
	hdrExcept     = "Sp-Except" // deliver to every device but this one
	hdrKick       = "Sp-Kick"   // control: close sessions of Sp-Only except this session id
	hdrKickRev    = "Sp-Rev"    // the kicking login's presence revision
	hdrRecord     = "Sp-Record" // a call record (MESSAGE_SENT) of this channel
	hdrInc        = "Sp-Inc"    // only for sessions of this account incarnation
)

// shardBuffer is the capacity of each dispatcher queue; NATS drops messages
// for a subscription whose channel is full, so it is generous.
const shardBuffer = 8192

// route says which devices of an account get a frame. record marks a call
// record, which a session passes on once, to inc's sessions only.
type route struct {
	only, except string
	record, inc  string
}

// shardFor picks the dispatcher of an account. All messages of one account
// go through one dispatcher, which keeps their order.
func (g *Gateway) shardFor(account string) chan *nats.Msg {
	h := fnv.New32a()
	h.Write([]byte(account))
	return g.shards[h.Sum32()%uint32(len(g.shards))]
}

// addLocal registers a logged-in session and subscribes to its account's
// subject when it is the first local device of the account.
func (g *Gateway) addLocal(s *session) (created bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	as := g.local[s.account]
	if as == nil {
		sub, err := g.nc.ChanSubscribe(subjectPrefix+s.account, g.shardFor(s.account))
		if err != nil {
			return false, fmt.Errorf("subscribe %s: %w", s.account, err)
		}
		// Allow bursts of events without NATS counting us as a slow consumer.
		_ = sub.SetPendingLimits(-1, -1)
		as = &accountSessions{sub: sub, sessions: map[*session]struct{}{}}
		g.local[s.account] = as
		created = true
	}
	as.sessions[s] = struct{}{}
	return created, nil
}

// removeLocal unregisters a session and drops the subscription with the
// account's last local device.
func (g *Gateway) removeLocal(s *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	as := g.local[s.account]
	if as == nil {
		return
	}
	delete(as.sessions, s)
	if len(as.sessions) == 0 {
		_ = as.sub.Unsubscribe()
		delete(g.local, s.account)
	}
}

// publish sends an encoded frame to the devices of account selected by r,
// wherever they are connected.
func (g *Gateway) publish(account string, frame []byte, r route) {
	msg := &nats.Msg{Subject: subjectPrefix + account, Data: frame}
	if r != (route{}) {
		msg.Header = nats.Header{}
		for h, v := range map[string]string{hdrOnly: r.only, hdrExcept: r.except, hdrRecord: r.record, hdrInc: r.inc} {
			if v != "" {
				msg.Header.Set(h, v)
			}
		}
	}
	if err := g.nc.PublishMsg(msg); err != nil {
		g.log.Warn("publish failed", "account", account, "err", err)
	}
}

// dispatch delivers messages of one shard to local sessions until the
// channel is closed. Delivering only appends to the sessions' outboxes, so a
// slow client never holds up the other accounts of its shard.
func (g *Gateway) dispatch(ch <-chan *nats.Msg) {
	for msg := range ch {
		g.route(msg)
	}
}

// route hands one account message to the local sessions it is meant for.
func (g *Gateway) route(msg *nats.Msg) {
	account := msg.Subject[len(subjectPrefix):]
	only, except, kick := msg.Header.Get(hdrOnly), msg.Header.Get(hdrExcept), msg.Header.Get(hdrKick)
	record, inc := msg.Header.Get(hdrRecord), msg.Header.Get(hdrInc)
	for _, s := range g.sessionsOf(account) {
		if kick != "" {
			if s.id != kick && s.kickedBy(account, only, kickRevision(msg)) {
				g.log.Info("closing duplicate device session", "account", account, "device", only)
				s.close()
			}
			continue
		}
		if record != "" && !s.firstRecord(account, record, inc) {
			continue
		}
		s.deliver(account, only, except, msg.Data)
	}
}

// sessionsOf snapshots the local sessions of account.
func (g *Gateway) sessionsOf(account string) []*session {
	g.mu.Lock()
	defer g.mu.Unlock()
	as := g.local[account]
	if as == nil {
		return nil
	}
	out := make([]*session, 0, len(as.sessions))
	for s := range as.sessions {
		out = append(out, s)
	}
	return out
}
