package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// Epoch names one account incarnation with one token: it changes when the
// account is removed and created again, and when its token is reset.
// Credentials derived from a login carry it (the TURN username does), so
// they stop working once either happens. It reveals nothing about the
// token: 64 bits of a hash of its hash.
func Epoch(created time.Time, tokenHash string) string {
	h := sha256.New()
	h.Write([]byte("softphone epoch v1|"))
	h.Write([]byte(strconv.FormatInt(created.UnixNano(), 10)))
	h.Write([]byte("|"))
	h.Write([]byte(tokenHash))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:8])
}
