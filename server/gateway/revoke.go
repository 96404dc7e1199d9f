package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// A token reset or an account removal ends every live session of the
// account, on every node, before the admin API answers: EndSessions asks
// each live node over NATS and waits for their answers, so no request sent
// after the reset acts with the old token. Each gateway's accounts watch
// (accounts.go) does the same on its own as a backstop, for a node that
// missed the request.

// subjectEndSessions carries endSessionsRequest to every gateway.
const subjectEndSessions = "sp.ctl.endSessions"

// endSessionsWait bounds how long EndSessions waits for the nodes.
const endSessionsWait = 3 * time.Second

// endSessionsRequest is the account as it now is: Removed, or its
// incarnation and token hash. Sessions logged in to anything else end.
type endSessionsRequest struct {
	Account   string    `json:"account"`
	Removed   bool      `json:"removed,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	TokenHash string    `json:"tokenHash,omitempty"`
}

// EndSessions ends, on every node, the sessions of account that were not
// logged in to a (nil: the account was removed) with its current token, and
// returns once every live node has done so or the wait ran out (then the
// nodes' accounts watches finish the work).
func (g *Gateway) EndSessions(ctx context.Context, account string, a *store.Account) error {
	req := endSessionsRequest{Account: account, Removed: a == nil}
	if a != nil {
		req.Created, req.TokenHash = a.CreatedAt, a.TokenHash
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", account, err)
	}
	nodes, err := g.st.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", account, err)
	}
	inbox := g.nc.NewRespInbox()
	sub, err := g.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", account, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := g.nc.PublishMsg(&nats.Msg{Subject: subjectEndSessions, Reply: inbox, Data: body}); err != nil {
		return fmt.Errorf("end sessions of %s: %w", account, err)
	}
	waiting := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		waiting[n] = true
	}
	wctx, cancel := context.WithTimeout(ctx, endSessionsWait)
	defer cancel()
	for len(waiting) > 0 {
		msg, err := sub.NextMsgWithContext(wctx)
		if err != nil {
			g.log.Warn("end sessions: nodes did not answer; their accounts watch ends the sessions",
				"account", account, "nodes", len(waiting), "err", err)
			return nil
		}
		delete(waiting, string(msg.Data))
	}
	return nil
}

// onEndSessions serves subjectEndSessions: end the local sessions the
// request names, then answer with this node's id.
func (g *Gateway) onEndSessions(msg *nats.Msg) {
	var req endSessionsRequest
	if err := json.Unmarshal(msg.Data, &req); err != nil || !protocol.ValidID(req.Account) {
		g.log.Warn("end sessions: malformed request", "err", err)
		return
	}
	var a *store.Account
	if !req.Removed {
		a = &store.Account{Account: req.Account, CreatedAt: req.Created, TokenHash: req.TokenHash}
	}
	g.checkAccount(req.Account, a)
	if msg.Reply != "" {
		_ = msg.Respond([]byte(g.node))
	}
}

// endReason says why a session logged in as id no longer stands for
// account a (nil: removed), or "" when it still does.
func endReason(id identity, a *store.Account) string {
	switch {
	case a == nil || !a.CreatedAt.Equal(id.created):
		return protocol.EndAccountRemoved
	case a.TokenHash != id.tokenHash:
		return protocol.EndTokenReset
	}
	return ""
}

// end finishes the session for good: the device gets SESSION_ENDED with the
// reason, then a close frame, then the connection closes. From this moment
// the session receives no event and no request of it is served; its reader
// ends its calls at once when the connection is gone (cleanup).
func (s *session) end(reason string) {
	if !s.ending.CompareAndSwap(false, true) {
		return
	}
	s.endReason.Store(reason)
	frame, err := protocol.EncodeEvent(protocol.EvSessionEnded, &protocol.SessionEnded{
		Reason: reason, Message: protocol.SessionEndMessage(reason)})
	o := &s.out
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.id = identity{}
	for _, f := range append(o.held, o.queue...) {
		o.frames--
		o.bytes -= len(f)
	}
	o.held, o.holding, o.queue = nil, false, nil
	if err == nil {
		o.queue = [][]byte{frame}
		o.frames++
		o.bytes += len(frame)
	}
	o.final = true
	if o.writing {
		o.mu.Unlock()
		return
	}
	o.writing = true
	s.g.writers.Add(1)
	go s.writeLoop()
	o.mu.Unlock()
}

// writeCloseFrame tells the device the connection ends on purpose.
func (s *session) writeCloseFrame() {
	reason, _ := s.endReason.Load().(string)
	msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, protocol.SessionEndMessage(reason))
	_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.g.writeTimeout))
}
