package server_test

import (
	"testing"

	"github.com/softphone/softphone/server"
)

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://n1:4222":                           "nats://n1:4222",
		"nats://admin:pw@n1:4222":                  "nats://admin:xxxxx@n1:4222",
		"nats://T0KEN@n1:4222":                     "nats://xxxxx@n1:4222",
		"nats://a:pw@n1:4222,nats://T0KEN@n2:4222": "nats://a:xxxxx@n1:4222,nats://xxxxx@n2:4222",
		"nats://u:p@[::1":                          "[redacted URL]",
		"":                                         "",
	} {
		if got := server.RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
