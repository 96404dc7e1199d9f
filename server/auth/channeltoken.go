package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ChannelSigner issues and verifies channel tokens: "v1.<expUnix>.<sig>"
// where sig = base64url(HMAC-SHA256(key, "v1|account|channelId|exp")). The
// key is derived from the AppSecret so rotating the secret revokes tokens.
type ChannelSigner struct {
	key []byte
}

// NewChannelSigner derives the channel-token key from appSecret. The label
// separates it from any other use of the secret.
func NewChannelSigner(appSecret string) *ChannelSigner {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte("softphone channel token v1"))
	return &ChannelSigner{key: m.Sum(nil)}
}

func (c *ChannelSigner) sign(account, channelID string, exp int64) []byte {
	m := hmac.New(sha256.New, c.key)
	fmt.Fprintf(m, "v1|%s|%s|%d", account, channelID, exp)
	return m.Sum(nil)
}

// Issue returns a token for account in channelID valid until exp.
func (c *ChannelSigner) Issue(account, channelID string, exp time.Time) string {
	e := exp.Unix()
	return "v1." + strconv.FormatInt(e, 10) + "." + base64.RawURLEncoding.EncodeToString(c.sign(account, channelID, e))
}

// Verify checks that token was issued for account and channelID and has not
// expired at now. Errors never echo the token.
func (c *ChannelSigner) Verify(token, account, channelID string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return errors.New("malformed channel token")
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return errors.New("malformed channel token expiry")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("malformed channel token signature")
	}
	if !hmac.Equal(sig, c.sign(account, channelID, exp)) {
		return errors.New("channel token does not match account and channel")
	}
	if now.Unix() >= exp {
		return errors.New("channel token expired")
	}
	return nil
}
