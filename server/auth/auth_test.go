package auth

import (
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	tok := NewToken()
	if len(tok) != 43 || tok == NewToken() {
		t.Fatalf("token %q", tok)
	}
	h := HashToken(tok)
	cases := []struct {
		name, token, hash string
		want              bool
	}{
		{"match", tok, h, true},
		{"wrong", tok + "x", h, false},
		{"empty token", "", HashToken(""), false},
		{"empty hash", tok, "", false},
	}
	for _, tc := range cases {
		if got := TokenMatches(tc.token, tc.hash); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
	if strings.Contains(h, tok) {
		t.Fatal("hash contains the token")
	}
}

func TestChannelToken(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := NewChannelSigner("secret")
	tok := s.Issue("alice", "ch1", now.Add(time.Minute))
	if !strings.HasPrefix(tok, "v1.") {
		t.Fatalf("token %q", tok)
	}
	cases := []struct {
		name            string
		signer          *ChannelSigner
		token, acct, ch string
		at              time.Time
		ok              bool
	}{
		{"valid", s, tok, "alice", "ch1", now, true},
		{"other account", s, tok, "bob", "ch1", now, false},
		{"other channel", s, tok, "alice", "ch2", now, false},
		{"expired", s, tok, "alice", "ch1", now.Add(2 * time.Minute), false},
		{"other secret", NewChannelSigner("other"), tok, "alice", "ch1", now, false},
		{"extended expiry", s, strings.Replace(tok, "v1.1700000060.", "v1.1800000060.", 1), "alice", "ch1", now, false},
		{"garbage", s, "v1.x.y", "alice", "ch1", now, false},
		{"empty", s, "", "alice", "ch1", now, false},
	}
	for _, tc := range cases {
		err := tc.signer.Verify(tc.token, tc.acct, tc.ch, tc.at)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

func TestCheckSum(t *testing.T) {
	// SHA1("secret" + "nonce" + "1700000000"), computed with sha1sum.
	sum := CheckSum("secret", "nonce", "1700000000")
	if sum != "c0b87c883bf8a70941d7e81c14cc7c7e7ccd3ba2" {
		t.Fatalf("checksum %q", sum)
	}
	if !CheckSumMatches(strings.ToUpper(sum), "secret", "nonce", "1700000000") {
		t.Fatal("uppercase checksum refused")
	}
	if CheckSumMatches(sum, "secret", "nonce", "1700000001") {
		t.Fatal("checksum matched another CurTime")
	}
}

func TestEpoch(t *testing.T) {
	created := time.Unix(1_700_000_000, 123)
	e := Epoch(created, HashToken("t1"))
	if len(e) != 11 || strings.ContainsAny(e, ":.") {
		t.Fatalf("epoch %q: want 11 characters of base64url", e)
	}
	if Epoch(created, HashToken("t1")) != e {
		t.Fatal("epoch not reproducible")
	}
	if Epoch(created, HashToken("t2")) == e {
		t.Fatal("a token reset keeps the epoch")
	}
	if Epoch(created.Add(time.Nanosecond), HashToken("t1")) == e {
		t.Fatal("a recreated account keeps the epoch")
	}
}
