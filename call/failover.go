package call

import (
	"fmt"
	"strings"
)

// Failover. Config.Server may name several servers, comma-separated (the
// gateways of one cluster). Login tries them in order until one answers;
// when a connection is lost, each reconnect attempt goes to the next one,
// so a device whose gateway died is back on another within one backoff
// step. A single host name with several addresses needs nothing of this:
// the dialer tries each address it resolves to in turn.

// normalizeServers turns the configured server list into WebSocket URLs.
func normalizeServers(s string) ([]string, error) {
	var urls []string
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" && s != "" {
			return nil, fmt.Errorf("server list %q: empty entry", s)
		}
		u, err := normalizeServer(part)
		if err != nil {
			return nil, err
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// serverURL returns the server the next connection attempt goes to.
func (e *Engine) serverURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.urls[e.next%len(e.urls)]
}

// nextServer moves on to the following server after url failed (unless
// another attempt already moved on).
func (e *Engine) nextServer(url string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.urls[e.next%len(e.urls)] == url {
		e.next = (e.next + 1) % len(e.urls)
	}
}

// serverCount is the number of configured servers.
func (e *Engine) serverCount() int { return len(e.urls) }
