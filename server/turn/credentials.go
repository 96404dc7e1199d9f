package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // TURN REST passwords are HMAC-SHA1 by definition
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// DefaultTTL is how long issued credentials stay valid for new allocations.
const DefaultTTL = 10 * time.Minute

// secretLabel separates the TURN key from every other key derived from the
// app secret (the admin API signature, channel tokens).
const secretLabel = "softphone/turn/v1"

// Credentials issues and checks TURN REST credentials (draft-uberti-behave-
// turn-rest): username "<expiry unix>:<account>:<epoch>", password
// base64(HMAC-SHA1(secret, username)). The epoch (auth.Epoch) ties them to
// the account incarnation and token of the login they were issued to, so a
// token reset or an account removal revokes them. The secret is derived
// from the app secret, so every node of a cluster issues credentials every
// other node's relay accepts, and nothing is stored per credential.
type Credentials struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewCredentials derives the TURN secret from appSecret; ttl <= 0 means
// DefaultTTL.
func NewCredentials(appSecret string, ttl time.Duration) *Credentials {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(secretLabel))
	return &Credentials{secret: m.Sum(nil), ttl: ttl, now: time.Now}
}

// TTL is the validity of issued credentials.
func (c *Credentials) TTL() time.Duration { return c.ttl }

// Issue returns a username and password for account at epoch, valid for
// new allocations until expires.
func (c *Credentials) Issue(account, epoch string) (username, password string, expires time.Time) {
	expires = c.now().Add(c.ttl).Truncate(time.Second)
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + account + ":" + epoch
	return username, c.password(username), expires
}

// password is the TURN REST password of username.
func (c *Credentials) password(username string) string {
	m := hmac.New(sha1.New, c.secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// parseUsername splits "<expiry unix>:<account>:<epoch>".
func parseUsername(username string) (expires time.Time, account, epoch string, ok bool) {
	ts, rest, found := strings.Cut(username, ":")
	if !found || ts == "" || ts[0] == '+' || ts[0] == '-' {
		return time.Time{}, "", "", false
	}
	account, epoch, found = strings.Cut(rest, ":")
	if !found || !protocol.ValidID(account) || !protocol.ValidID(epoch) {
		return time.Time{}, "", "", false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", "", false
	}
	return time.Unix(sec, 0), account, epoch, true
}
