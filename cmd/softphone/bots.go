package main

import (
	"slices"
	"strings"
	"time"

	"github.com/softphone/softphone/server/bots"
)

// maxEchoDelay bounds serve.echoDelay: the echo queues that much media.
const maxEchoDelay = 10 * time.Second

// checkBots validates serve.botNames and serve.echoDelay.
func checkBots(s ServeConfig, bad func(key, format string, args ...any) error) error {
	for _, n := range splitList(s.BotNames) {
		if !slices.Contains(bots.All, n) {
			return bad("serve.botNames", "%q is not a bot (bots: %s)", n, strings.Join(bots.All, ", "))
		}
	}
	if s.EchoDelay < 0 || s.EchoDelay > maxEchoDelay {
		return bad("serve.echoDelay", "%s is outside 0–%s (0 = the default %s)", s.EchoDelay, maxEchoDelay, bots.DefaultEchoDelay)
	}
	return nil
}

// botsConfig is the server's bot configuration from the serve section.
func botsConfig(cfg *Config) bots.Config {
	return bots.Config{
		Enabled:   cfg.Serve.Bots,
		Names:     splitList(cfg.Serve.BotNames), // empty: every bot
		EchoDelay: cfg.Serve.EchoDelay,
		Language:  cfg.Language,
	}
}
