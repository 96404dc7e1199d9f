package gateway

import (
	"strconv"

	"github.com/nats-io/nats.go"
)

// A device id is connected at most once: a login publishes a kick that
// closes the device's other sessions on every node. Kicks are ordered by the
// presence revision each login wrote, so only older logins close. Without
// the order, a kick still queued from a login that has since ended could
// close the device's next session (a quick reconnect).

// kick asks every gateway to close account's device sessions older than the
// login with presence revision rev, except keepSession.
func (g *Gateway) kick(account, device, keepSession string, rev uint64) {
	msg := &nats.Msg{Subject: subjectPrefix + account, Header: nats.Header{}}
	msg.Header.Set(hdrOnly, device)
	msg.Header.Set(hdrKick, keepSession)
	msg.Header.Set(hdrKickRev, strconv.FormatUint(rev, 10))
	if err := g.nc.PublishMsg(msg); err != nil {
		g.log.Warn("publish kick failed", "account", account, "err", err)
	}
}

// kickRevision reads a kick's revision; 0 (unordered: close) when absent.
func kickRevision(msg *nats.Msg) uint64 {
	rev, _ := strconv.ParseUint(msg.Header.Get(hdrKickRev), 10, 64)
	return rev
}

// kickedBy reports whether a kick of account's device from a login with
// revision rev closes this session: it must be routed as that device and
// have logged in earlier. A session whose own revision is not known yet
// remembers the kick; setLoginRevision then decides.
func (s *session) kickedBy(account, device string, rev uint64) bool {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.id.account == "" || o.id.account != account || o.id.device != device {
		return false
	}
	switch {
	case rev == 0:
		return true
	case o.loginRev == 0:
		o.kickRev = max(o.kickRev, rev)
		return false
	default:
		return o.loginRev < rev
	}
}

// setLoginRevision records the presence revision of the session's login and
// reports whether a newer login of the device already kicked it.
func (s *session) setLoginRevision(rev uint64) (superseded bool) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loginRev = rev
	return o.kickRev > rev
}
