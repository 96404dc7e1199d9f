package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// CheckSum is NetEase's server-API signature: lowercase hex
// SHA1(AppSecret + Nonce + CurTime).
func CheckSum(appSecret, nonce, curTime string) string {
	sum := sha1.Sum([]byte(appSecret + nonce + curTime))
	return hex.EncodeToString(sum[:])
}

// CheckSumMatches compares a received CheckSum with the expected one in
// constant time; case is ignored as some clients send uppercase hex.
func CheckSumMatches(got, appSecret, nonce, curTime string) bool {
	want := CheckSum(appSecret, nonce, curTime)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// SecretEqual compares two secrets (e.g. AppKeys) in constant time. Both
// are hashed first, so not even their lengths are compared directly.
func SecretEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
