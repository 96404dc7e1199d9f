package turn

import (
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// authHandler checks a request's username and returns the long-term key
// (MD5 of username:realm:password) that pion verifies MESSAGE-INTEGRITY
// with. The password never travels: a forged or altered username yields a
// key whose HMAC does not match, and stun compares it with hmac.Equal
// (constant time).
//
// Expiry is enforced on Allocate only. Refresh, CreatePermission and
// ChannelBind act on the allocation of the request's own 5-tuple and still
// need a valid HMAC, so a call that outlives its credentials keeps its
// relay, while expired credentials never open a new one.
func (c *Credentials) authHandler() turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		if ra.Realm != Realm {
			return "", nil, false
		}
		expires, account, ok := parseUsername(ra.Username)
		if !ok {
			return "", nil, false
		}
		if ra.Method == stun.MethodAllocate && !c.now().Before(expires) {
			return "", nil, false
		}
		return account, turn.GenerateAuthKey(ra.Username, Realm, c.password(ra.Username)), true
	}
}
