package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Redacted replaces every secret value.
const Redacted = "[redacted]"

// secretSuffixes: a key is secret when its lower-cased name, without '_',
// '-' and '.', ends with one of these (imToken, mediaToken, channelToken,
// serve.appSecret, credential, Authorization, checkSum, ...).
var secretSuffixes = []string{
	"token", "tokens", "secret", "password", "passwd", "pwd", "credential", "credentials",
	"authorization", "checksum", "apikey", "passport", "signature", "cookie", "privatekey",
}

// SecretKey reports whether a field called key holds a secret.
func SecretKey(key string) bool {
	k := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(key))
	for _, s := range secretSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// Secrets inside free text: an SDP's ICE password, a URL's password, a
// bearer token, a token in a query string.
var textSecrets = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(a=ice-pwd:)[^\r\n"\\]+`), "${1}" + Redacted},
	{regexp.MustCompile(`(://[^/@\s:"]*:)[^/@\s"]+@`), "${1}" + Redacted + "@"},
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+`), "${1}" + Redacted},
	{regexp.MustCompile(`(?i)([?&](?:[a-z_]*token|secret|password|checksum)=)[^&\s"]+`), "${1}" + Redacted},
}

// scrub redacts secrets inside one string.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	for _, t := range textSecrets {
		s = t.re.ReplaceAllString(s, t.repl)
	}
	return s
}

// Redact returns the JSON of v with every secret replaced by "[redacted]":
// values of secret keys (except booleans, null and empty strings, which
// reveal nothing),
// at any depth, and secrets inside strings (see scrub). Bytes that are not
// JSON become one redacted JSON string.
func Redact(v any) (json.RawMessage, error) { return redactValue(v, nil) }

func redactValue(v any, secrets []string) (json.RawMessage, error) {
	var raw []byte
	switch d := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode trace data: %w", err)
		}
		raw = b
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil || dec.More() {
		// Not JSON (a frame the server garbled): keep it as text.
		return json.Marshal(scrub(string(raw), secrets))
	}
	return json.Marshal(redactTree(tree, secrets))
}

func redactTree(v any, secrets []string) any {
	switch d := v.(type) {
	case map[string]any:
		for k, val := range d {
			if SecretKey(k) {
				switch val := val.(type) {
				case nil, bool: // reveal nothing
				case string:
					if val != "" { // an empty one tells support "none was given"
						d[k] = Redacted
					}
					continue
				default:
					d[k] = Redacted
					continue
				}
			}
			d[k] = redactTree(val, secrets)
		}
		return d
	case []any:
		for i := range d {
			d[i] = redactTree(d[i], secrets)
		}
		return d
	case string:
		return scrub(d, secrets)
	}
	return v
}
