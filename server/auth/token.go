// Package auth holds the server's secrets handling: account tokens (stored
// only as SHA-256 hashes), channel tokens (HMAC, bound to account, channel and
// expiry) and the NetEase-style admin CheckSum.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a fresh account token: 32 random bytes, base64url.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the hex SHA-256 of a token, the only form stored. Tokens
// carry 256 bits of entropy, so a fast unsalted hash is enough.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenMatches reports whether token hashes to storedHash, in constant time.
// An empty stored hash never matches, so an account without a token cannot
// be entered in secure mode.
func TokenMatches(token, storedHash string) bool {
	got := HashToken(token)
	ok := subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1
	return ok && storedHash != "" && token != ""
}

// RandomID returns n characters from [A-Za-z0-9], which fits protocol.ValidID
// and therefore NATS subjects and KV keys.
func RandomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		// 256 % 62 bias is negligible for identifiers that are not secrets.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
