package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServeBotsConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		flags   []override
		want    string // error substring; "" = valid
		enabled bool
		names   []string
		delay   time.Duration
	}{
		{name: "off by default", delay: time.Second},
		{name: "flag", flags: []override{{"serve.bots", "true", "flag --bots"}}, enabled: true, delay: time.Second},
		{name: "env names and delay", env: map[string]string{"SOFTPHONE_SERVE_BOTS": "true", "SOFTPHONE_SERVE_BOT_NAMES": "echo, busy", "SOFTPHONE_SERVE_ECHO_DELAY": "500ms"},
			enabled: true, names: []string{"echo", "busy"}, delay: 500 * time.Millisecond},
		{name: "unknown bot", flags: []override{{"serve.botNames", "echo,parrot", "flag --bot-names"}}, want: `config serve.botNames (from flag --bot-names): "parrot" is not a bot`},
		{name: "delay too long", env: map[string]string{"SOFTPHONE_SERVE_ECHO_DELAY": "1m"}, want: "config serve.echoDelay (from SOFTPHONE_SERVE_ECHO_DELAY): 1m0s is outside"},
		{name: "bad bool", flags: []override{{"serve.bots", "maybe", "flag --bots"}}, want: "flag --bots: serve.bots: want true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			getenv := func(k string) string {
				if k == "HOME" {
					return dir
				}
				return tt.env[k]
			}
			cfg, err := loadConfig("", getenv, tt.flags)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			bc := botsConfig(cfg)
			if bc.Enabled != tt.enabled || !slices.Equal(bc.Names, tt.names) || bc.EchoDelay != tt.delay {
				t.Fatalf("bots config %+v", bc)
			}
			if err := bc.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
