// Package bench is softphone's signaling load generator: many lightweight
// protocol clients (one WebSocket and one reader goroutine each, no call
// engine) for measuring what one `softphone serve` holds and how fast an
// invite reaches the callee. It runs in processes of its own so the server
// under test is measured alone.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/softphone/softphone/call/protocol"
)

// client is a minimal protocol client: requests are correlated by id and
// events go to one callback, called from the reader goroutine.
type client struct {
	account string
	conn    *websocket.Conn
	wmu     sync.Mutex
	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[string]chan *protocol.Message
	onEvent func(c *client, m *protocol.Message, at time.Time)
	done    chan struct{}
}

var dialer = websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferSize:  1024,
}

// dial connects and logs in. The reader goroutine lives until the
// connection closes; close() ends it.
func dial(ctx context.Context, url, account, token string, onEvent func(*client, *protocol.Message, time.Time)) (*client, error) {
	conn, _, err := dialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c := &client{account: account, conn: conn, pending: map[string]chan *protocol.Message{}, onEvent: onEvent, done: make(chan struct{})}
	go c.readLoop()
	_, err = c.request(ctx, protocol.ReqLogin, &protocol.Login{Account: account, Token: token, Device: "bench", CheckSum: true})
	if err != nil {
		c.close()
		return nil, fmt.Errorf("login %s: %w", account, err)
	}
	return c, nil
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, b, err := c.conn.ReadMessage()
		at := time.Now()
		if err != nil {
			c.mu.Lock()
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		m, err := protocol.Decode(b)
		if err != nil {
			continue
		}
		switch m.Type {
		case protocol.TypeReply:
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case protocol.TypeEvent:
			if c.onEvent != nil {
				c.onEvent(c, m, at)
			}
		}
	}
}

// send writes a request without waiting for its reply.
func (c *client) send(typ string, payload any) (string, chan *protocol.Message, error) {
	id := strconv.FormatUint(c.nextID.Add(1), 36)
	b, err := protocol.EncodeRequest(id, typ, payload)
	if err != nil {
		return "", nil, err
	}
	ch := make(chan *protocol.Message, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	c.wmu.Lock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err = c.conn.WriteMessage(websocket.TextMessage, b)
	c.wmu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return "", nil, fmt.Errorf("send %s: %w", typ, err)
	}
	return id, ch, nil
}

// request sends and waits for the reply, decoding its data into a map.
func (c *client) request(ctx context.Context, typ string, payload any) (json.RawMessage, error) {
	_, ch, err := c.send(typ, payload)
	if err != nil {
		return nil, err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: connection closed", typ)
		}
		if m.Code != protocol.CodeOK {
			return nil, &protocol.Error{Code: m.Code, Message: m.Error}
		}
		return m.Data, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *client) close() {
	_ = c.conn.Close()
	<-c.done
}
