package call

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
)

// iceRefreshMargin: credentials that expire sooner than this are refreshed
// before a media session uses them. The relay checks expiry when the
// allocation is made, within seconds of the session's start; a call may
// then outlive the credentials.
const iceRefreshMargin = time.Minute

// iceCreds are the STUN/TURN servers the signaling server handed out, with
// their expiry on the local clock (zero: none).
type iceCreds struct {
	servers  []protocol.ICEServer
	deadline time.Time
}

// newICECreds converts the server's expiry (server clock) to the local
// clock through the server time sent alongside.
func newICECreds(servers []protocol.ICEServer, expiresAt, serverTime int64, now time.Time) iceCreds {
	c := iceCreds{servers: servers}
	if expiresAt > 0 && serverTime > 0 {
		c.deadline = now.Add(time.Duration(expiresAt-serverTime) * time.Millisecond)
	}
	return c
}

func (c iceCreds) stale(now time.Time) bool {
	return len(c.servers) > 0 && !c.deadline.IsZero() && c.deadline.Sub(now) < iceRefreshMargin
}

// ICEServers returns the STUN/TURN servers the signaling server offers this
// device (from the login reply), fetching fresh credentials first when
// those it has are about to expire. The credentials are secrets: never log
// them.
func (e *Engine) ICEServers(ctx context.Context) ([]protocol.ICEServer, error) {
	e.mu.Lock()
	c := e.ice
	e.mu.Unlock()
	if !c.stale(time.Now()) {
		return c.servers, nil
	}
	data, err := e.send(ctx, protocol.ReqICEServers, nil, nil)
	if err != nil {
		return c.servers, fmt.Errorf("refresh ICE servers: %w", err)
	}
	var r protocol.ICEServersReply
	if err := json.Unmarshal(data, &r); err != nil {
		return c.servers, fmt.Errorf("ICE servers reply: %w", err)
	}
	fresh := newICECreds(r.ICEServers, r.ExpiresAt, r.ServerTime, time.Now())
	e.mu.Lock()
	e.ice = fresh
	e.mu.Unlock()
	return fresh.servers, nil
}

// sessionICEServers is what a new media session uses: the media config's
// own servers, then the signaling server's.
func (e *Engine) sessionICEServers(ctx context.Context) []webrtc.ICEServer {
	out := slices.Clone(e.cfg.Media.ICEServers)
	servers, err := e.ICEServers(ctx)
	if err != nil {
		e.log.Warn("using the TURN credentials of the login", "err", err)
	}
	for _, s := range servers {
		out = append(out, webrtc.ICEServer{
			URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential,
			CredentialType: webrtc.ICECredentialTypePassword,
		})
	}
	return out
}
