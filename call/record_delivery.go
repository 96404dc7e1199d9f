package call

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/softphone/softphone/call/protocol"
)

// Exactly one MESSAGE_SENT per call. The server pushes a call's record to
// every device of both parties when the call ends, and may push it again
// after a crash of the node that ended the call (docs/protocol.md). The
// engine emits a channel's record once, and remembers the calls it is owed
// a record for — placed, rung or taken on this device — so that after a
// reconnect it asks the server for the records that ended while it was
// away.

// Bounds of the record bookkeeping.
const (
	maxRecordsSeen = 512 // records emitted, remembered to drop repeats
	maxRecordsOwed = 32  // calls still owed a record
)

// recordBook is the engine's record bookkeeping, guarded by Engine.mu.
type recordBook struct {
	seen      map[string]struct{}
	seenOrder []string
	owed      []string // channel ids, oldest first
}

// oweRecordLocked notes that this device takes part in channelID's call,
// so its record is owed.
func (e *Engine) oweRecordLocked(channelID string) {
	b := &e.records
	if channelID == "" {
		return
	}
	if _, done := b.seen[channelID]; done {
		return
	}
	for _, id := range b.owed {
		if id == channelID {
			return
		}
	}
	b.owed = append(b.owed, channelID)
	if len(b.owed) > maxRecordsOwed {
		b.owed = b.owed[1:]
	}
}

// firstRecordLocked reports whether channelID's record was not emitted yet,
// marks it emitted and settles what was owed.
func (e *Engine) firstRecordLocked(channelID string) bool {
	b := &e.records
	if _, done := b.seen[channelID]; done {
		return false
	}
	if b.seen == nil {
		b.seen = make(map[string]struct{})
	}
	b.seen[channelID] = struct{}{}
	b.seenOrder = append(b.seenOrder, channelID)
	if len(b.seenOrder) > maxRecordsSeen {
		delete(b.seen, b.seenOrder[0])
		b.seenOrder = b.seenOrder[1:]
	}
	for i, id := range b.owed {
		if id == channelID {
			b.owed = append(b.owed[:i], b.owed[i+1:]...)
			break
		}
	}
	return true
}

// replayRecords asks for the records owed after a reconnect; those that
// exist (their call ended while the device was away) are emitted as
// MESSAGE_SENT. A call still running keeps its debt: its record will be
// pushed when it ends.
func (e *Engine) replayRecords(ctx context.Context) {
	e.mu.Lock()
	owed := append([]string(nil), e.records.owed...)
	e.mu.Unlock()
	for _, id := range owed {
		rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
		rec, err := e.recordOf(rctx, id)
		cancel()
		if err != nil {
			e.log.Warn("asking for a missed call record failed; it stays owed", "channelId", id, "err", err)
			continue
		}
		if rec == nil {
			continue
		}
		e.mu.Lock()
		if !e.closed {
			e.handleEventLocked(protocol.EvMessageSent, rec)
		}
		e.mu.Unlock()
	}
}

// recordOf fetches the record of one call of this account (nil while the
// call has none).
func (e *Engine) recordOf(ctx context.Context, channelID string) (*protocol.Record, error) {
	data, err := e.send(ctx, protocol.ReqRecords, protocol.RecordsQuery{ChannelID: channelID}, nil)
	if err != nil {
		return nil, fmt.Errorf("record of %s: %w", channelID, err)
	}
	var rr protocol.RecordsReply
	if err := json.Unmarshal(data, &rr); err != nil {
		return nil, fmt.Errorf("records reply: %w", err)
	}
	for _, r := range rr.Records {
		if r.ChannelID == channelID {
			return &r, nil
		}
	}
	return nil, nil
}

// RecordsPage is one page of the account's call records, newest first.
// Next, when not empty, continues with older records.
type RecordsPage struct {
	Records []RecordMessage
	Next    string
}

// RecordsPage fetches one page of this account's call records, newest
// first, optionally only those with peer. cursor is a previous page's Next
// ("" for the newest); limit 0 means the server default (50). A page may
// hold fewer records than limit (replies stay within the frame limit) and
// still have a Next.
func (e *Engine) RecordsPage(ctx context.Context, peer, cursor string, limit int) (RecordsPage, error) {
	q := protocol.RecordsQuery{Peer: peer, Cursor: cursor, Limit: limit}
	data, err := e.send(ctx, protocol.ReqRecords, q, nil)
	if err != nil {
		return RecordsPage{}, fmt.Errorf("records: %w", err)
	}
	var rr protocol.RecordsReply
	if err := json.Unmarshal(data, &rr); err != nil {
		return RecordsPage{}, fmt.Errorf("records reply: %w", err)
	}
	self := e.Account()
	page := RecordsPage{Records: make([]RecordMessage, 0, len(rr.Records)), Next: rr.Next}
	for _, r := range rr.Records {
		page.Records = append(page.Records, newRecordMessage(r, self, e.cfg.Language))
	}
	return page, nil
}

// Records lists this account's call records, newest first, optionally only
// those with peer: up to limit of them (0: the server's default page of
// 50), fetched page by page.
func (e *Engine) Records(ctx context.Context, peer string, limit int) ([]RecordMessage, error) {
	if limit <= 0 {
		page, err := e.RecordsPage(ctx, peer, "", 0)
		return page.Records, err
	}
	var out []RecordMessage
	cursor := ""
	for len(out) < limit {
		page, err := e.RecordsPage(ctx, peer, cursor, min(limit-len(out), protocol.MaxRecordsLimit))
		if err != nil {
			return out, err
		}
		out = append(out, page.Records...)
		if page.Next == "" || len(page.Records) == 0 {
			break
		}
		cursor = page.Next
	}
	return out, nil
}
