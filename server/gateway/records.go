package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/store"
)

// Records reach a device exactly once. The server announces a call's record
// (MESSAGE_SENT) to every device of both parties when the call ends; a
// device that was disconnected then asks for it by channel id after it
// reconnects (records with channelId). Both paths may deliver the same
// record — a recovering node announces again what a crashed node may
// already have sent — so a session passes each channel's record on once,
// and the engine deduplicates by channel id across its connections.

// recordsReplyBudget bounds the records of one reply, leaving room for the
// envelope within the frame limit.
const recordsReplyBudget = protocol.MaxMessageSize - 4<<10

// recordMemory remembers the last channels whose record a session passed
// on; an idle session never allocates it.
type recordMemory struct {
	mu   sync.Mutex
	ids  []string
	next int
}

// recordsRemembered bounds recordMemory: more than enough calls for a
// recovery to announce a record again within.
const recordsRemembered = 16

// first reports whether id is new, and remembers it.
func (m *recordMemory) first(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, seen := range m.ids {
		if seen == id {
			return false
		}
	}
	if len(m.ids) < recordsRemembered {
		m.ids = append(m.ids, id)
		return true
	}
	m.ids[m.next] = id
	m.next = (m.next + 1) % recordsRemembered
	return true
}

// firstRecord decides whether a record routed to account goes to this
// session: it must be logged in to the incarnation the call belongs to (inc
// "" for calls from before incarnations were kept) and not have passed the
// record on already.
func (s *session) firstRecord(account, channelID, inc string) bool {
	id := s.identity()
	if id.account != account || (inc != "" && store.IncarnationOf(id.created) != inc) {
		return false
	}
	return s.passed.first(channelID)
}

// records answers the account's own call history a page at a time, or the
// record of one call.
func (s *session) records(ctx context.Context, q *protocol.RecordsQuery) (*protocol.RecordsReply, error) {
	owner := store.RecordParty{Account: s.account, Incarnation: s.inc}
	if q.ChannelID != "" {
		rec, err := s.g.recordOfChannel(ctx, owner, q.ChannelID)
		if err != nil {
			return nil, err
		}
		out := &protocol.RecordsReply{Records: []protocol.Record{}}
		if rec != nil {
			s.passed.first(q.ChannelID)
			out.Records = append(out.Records, *rec)
		}
		return out, nil
	}
	page, err := s.g.st.Records(ctx, store.RecordsQuery{
		Owner: owner, Peer: q.Peer, Limit: q.Limit, Cursor: q.Cursor, MaxBytes: recordsReplyBudget,
	})
	if errors.Is(err, store.ErrBadCursor) {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "field cursor: not the next of a records reply")
	}
	if err != nil {
		return nil, err
	}
	if page.Records == nil {
		page.Records = []protocol.Record{}
	}
	return &protocol.RecordsReply{Records: page.Records, Next: page.Next}, nil
}

// recordOfChannel returns owner's record of one call, or nil while the call
// has none (it still runs, or its record is being written: then it is
// announced when written).
func (g *Gateway) recordOfChannel(ctx context.Context, owner store.RecordParty, id string) (*protocol.Record, error) {
	c, _, err := g.st.GetChannel(ctx, id)
	switch {
	case store.IsNotFound(err):
		// Ended channels are kept for endedRetention; an older call's
		// record is looked up among the account's latest.
		rec, ok, err := g.st.RecordOf(ctx, owner, "", id)
		if !ok {
			rec = nil
		}
		return rec, err
	case err != nil:
		return nil, err
	}
	if inc := c.Incarnation(owner.Account); !c.Party(owner.Account) || (inc != "" && inc != owner.Incarnation) {
		return nil, nil
	}
	if c.State != protocol.ChannelEnded || c.RecordPending {
		return nil, nil
	}
	return recordOf(c), nil
}
