package turn

import (
	"crypto/subtle"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// Epochs tells the relay the current epoch (auth.Epoch) of an account: its
// incarnation and token. ok is false for an account that does not exist.
type Epochs interface {
	Epoch(account string) (epoch string, ok bool)
}

// authHandler checks a request's username and returns the long-term key
// (MD5 of username:realm:password) that pion verifies MESSAGE-INTEGRITY
// with. The password never travels: a forged or altered username yields a
// key whose HMAC does not match, and stun compares it with hmac.Equal
// (constant time).
//
// Expiry is enforced on Allocate only. Refresh, CreatePermission and
// ChannelBind act on the allocation of the request's own 5-tuple and still
// need a valid HMAC, so a call that outlives its credentials keeps its
// relay, while expired credentials never open a new one. The epoch is
// checked on every request (when epochs is set): after a token reset or an
// account removal the next allocation, refresh, permission or channel bind
// is refused, and the allocation runs out.
func (c *Credentials) authHandler(epochs Epochs) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		if ra.Realm != Realm {
			return "", nil, false
		}
		expires, account, epoch, ok := parseUsername(ra.Username)
		if !ok {
			return "", nil, false
		}
		if ra.Method == stun.MethodAllocate && !c.now().Before(expires) {
			return "", nil, false
		}
		if epochs != nil {
			cur, ok := epochs.Epoch(account)
			if !ok || subtle.ConstantTimeCompare([]byte(cur), []byte(epoch)) != 1 {
				return "", nil, false
			}
		}
		return account, turn.GenerateAuthKey(ra.Username, Realm, c.password(ra.Username)), true
	}
}
