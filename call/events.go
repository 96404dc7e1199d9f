package call

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// Engine-local event names, emitted in addition to the wire events of
// protocol (INVITED, USER_ACCEPT, ...).
const (
	// EvDisconnect reports that the signaling connection was lost. Its data is
	// a DisconnectInfo.
	EvDisconnect = "onDisconnect"
	// EvReconnected reports that the session was resumed after a drop. Its
	// data is a ReconnectInfo.
	EvReconnected = "RECONNECTED"
	// AllEvents subscribes a handler to every event.
	AllEvents = "*"
)

// Event is one notification of the engine. Data holds a typed value:
// protocol.Invite (INVITED), protocol.Peer (USER_*, CALLING_TIMEOUT,
// CALL_END, OTHER_CLIENT_*), protocol.CallTypeChange, RecordMessage
// (MESSAGE_SENT), protocol.Presence, protocol.RelayEvent, DisconnectInfo or
// ReconnectInfo.
type Event struct {
	Name string
	Time time.Time
	Data any
}

// ChannelID is the channel the event is about, "" for events of no channel
// (presence, connection, media).
func (ev Event) ChannelID() string {
	switch d := ev.Data.(type) {
	case protocol.Invite:
		return d.ChannelID
	case protocol.Peer:
		return d.ChannelID
	case protocol.CallTypeChange:
		return d.ChannelID
	case protocol.RelayEvent:
		return d.ChannelID
	case RecordMessage:
		return d.ChannelID
	}
	return ""
}

// MarshalJSON renders the headless output shape
// {"event":NAME,"time":RFC3339Nano,"data":{...}}.
func (ev Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Event string `json:"event"`
		Time  string `json:"time"`
		Data  any    `json:"data"`
	}{ev.Name, ev.Time.Format(time.RFC3339Nano), ev.Data})
}

// DisconnectInfo is the data of onDisconnect.
type DisconnectInfo struct {
	Error string `json:"error"`
	// Reconnecting is false when the engine gave up (the server refused the
	// re-login, e.g. because the token was revoked).
	Reconnecting bool `json:"reconnecting"`
	// Reason is set when the server ended the session on purpose
	// (protocol.EndTokenReset, protocol.EndAccountRemoved); Error then
	// says it in words ("token was reset").
	Reason string `json:"reason,omitempty"`
}

// ReconnectInfo is the data of RECONNECTED.
type ReconnectInfo struct {
	Account  string `json:"account"`
	Device   string `json:"device"`
	Attempts int    `json:"attempts"`
	State    string `json:"state"` // call state after reconciliation
}

// HandlerID identifies a handler registered with On.
type HandlerID uint64

type handler struct {
	id HandlerID
	fn func(Event)
}

// eventQueue is an unbounded FIFO: push never blocks, so neither a slow
// handler nor a consumer that stops reading Events can stall the signaling
// read loop.
type eventQueue struct {
	mu     sync.Mutex
	items  []Event
	notify chan struct{} // capacity 1: "items may be non-empty"
}

func newEventQueue() *eventQueue { return &eventQueue{notify: make(chan struct{}, 1)} }

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take waits for events and returns all queued ones, or nil when ctx ends.
func (q *eventQueue) take(ctx context.Context) []Event {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		if len(items) > 0 {
			return items
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return nil
		}
	}
}

// bus fans events out to registered handlers (on one dispatcher goroutine,
// in emission order) and to the Events channel (on one pump goroutine).
type bus struct {
	log *slog.Logger

	mu       sync.Mutex
	handlers map[string][]handler
	nextID   HandlerID

	toHandlers *eventQueue
	toChannel  *eventQueue
	out        chan Event
}

func newBus(log *slog.Logger) *bus {
	return &bus{
		log:        log,
		handlers:   make(map[string][]handler),
		toHandlers: newEventQueue(),
		toChannel:  newEventQueue(),
		out:        make(chan Event),
	}
}

// run starts the dispatcher and the pump; both stop when ctx ends, and the
// Events channel is closed then.
func (b *bus) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			evs := b.toHandlers.take(ctx)
			if evs == nil {
				return
			}
			for _, ev := range evs {
				b.dispatch(ev)
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer close(b.out)
		for {
			evs := b.toChannel.take(ctx)
			if evs == nil {
				return
			}
			for _, ev := range evs {
				select {
				case b.out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
}

func (b *bus) emit(name string, data any) {
	ev := Event{Name: name, Time: time.Now(), Data: data}
	b.log.Debug("event", "event", name)
	b.toHandlers.push(ev)
	b.toChannel.push(ev)
}

func (b *bus) on(name string, fn func(Event)) HandlerID {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	b.handlers[name] = append(b.handlers[name], handler{id: b.nextID, fn: fn})
	return b.nextID
}

func (b *bus) off(name string, id HandlerID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id == 0 {
		delete(b.handlers, name)
		return
	}
	hs := b.handlers[name]
	for i, h := range hs {
		if h.id == id {
			// Copy so a dispatch holding the old slice is unaffected.
			b.handlers[name] = append(append([]handler(nil), hs[:i]...), hs[i+1:]...)
			return
		}
	}
}

func (b *bus) dispatch(ev Event) {
	b.mu.Lock()
	hs := append(append([]handler(nil), b.handlers[ev.Name]...), b.handlers[AllEvents]...)
	b.mu.Unlock()
	for _, h := range hs {
		b.call(h, ev)
	}
}

// call isolates the engine from a panicking handler.
func (b *bus) call(h handler, ev Event) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("event handler panicked", "event", ev.Name, "handler", uint64(h.id), "panic", r)
		}
	}()
	h.fn(ev)
}
