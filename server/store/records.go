package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/softphone/softphone/call/protocol"
)

// Records. The record of a finished call is stored once per party, on
// sp.rec.<account>.<incarnation>.<peer>: an account's history is one
// subject filter (…<incarnation>.* or …<incarnation>.<peer>), read newest
// first in pages, and an account removed and created again (another
// incarnation) starts with none while its peers keep theirs. Records written
// before incarnations existed, one per call on sp.records.<caller>.<callee>,
// are moved over once by MigrateRecords.
//
// Every read goes to the stream leader (the stream has no direct get), so a
// record acknowledged a moment ago is always found.
const (
	recordSubjectPrefix       = "sp.rec."
	legacyRecordSubjectPrefix = "sp.records."
	// recordDedupWindow is how long a record's dedup id (channel and party)
	// suppresses a second copy: a retried write comes within seconds, and
	// a sweeper's rewrite looks the record up first (HasRecord). The
	// server keeps every id of the window in memory — two per call — so
	// the window is no longer than that needs.
	recordDedupWindow = 2 * time.Minute
)

// DefaultRecordsLimit is used when a query asks for 0 records.
const DefaultRecordsLimit = 50

// RecordParty names one side of a call record: the account and the
// incarnation the record belongs to.
type RecordParty struct {
	Account, Incarnation string
}

func recordSubject(owner RecordParty, peer string) string {
	return recordSubjectPrefix + owner.Account + "." + owner.Incarnation + "." + peer
}

// AddRecord appends the record of a finished call for both parties. The
// dedup id (channel and party) makes a retried write store nothing twice.
func (s *Store) AddRecord(ctx context.Context, r *protocol.Record, from, to RecordParty) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	owners := []RecordParty{from, to}
	if from == to {
		owners = owners[:1]
	}
	err = s.retry.do(ctx, func(ctx context.Context, _ bool) error {
		acks := make([]jetstream.PubAckFuture, 0, len(owners))
		for _, owner := range owners {
			msg := &nats.Msg{Subject: recordSubject(owner, recordPeer(r, owner.Account)), Data: b, Header: nats.Header{}}
			msg.Header.Set(jetstream.MsgIDHeader, r.ChannelID+"."+owner.Account)
			f, err := s.js.PublishMsgAsync(msg, jetstream.WithExpectStream(StreamRecords))
			if err != nil {
				return err
			}
			acks = append(acks, f)
		}
		for _, f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write record %s: %w", r.ChannelID, err)
	}
	return nil
}

// recordPeer is the other party of r for account.
func recordPeer(r *protocol.Record, account string) string {
	if account == r.From {
		return r.To
	}
	return r.From
}

// storedMsg is one message of the records stream as the leader returns it.
type storedMsg struct {
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"seq"`
	Data     []byte    `json:"data,omitempty"`
	Time     time.Time `json:"time"`
}

// msgGetRequest is JetStream's message get; the client library's version
// has no start time.
type msgGetRequest struct {
	Seq       uint64     `json:"seq,omitempty"`
	LastFor   string     `json:"last_by_subj,omitempty"`
	NextFor   string     `json:"next_by_subj,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
}

// errNoMessage is a message get that matched nothing.
var errNoMessage = errors.New("no message")

// recordGet reads one message of the records stream from its leader.
func (s *Store) recordGet(ctx context.Context, req msgGetRequest) (*storedMsg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var m *storedMsg
	err = s.retry.do(ctx, func(ctx context.Context, _ bool) error {
		resp, err := s.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+StreamRecords, body)
		if err != nil {
			return err
		}
		var r struct {
			Error   *jetstream.APIError `json:"error,omitempty"`
			Message *storedMsg          `json:"message,omitempty"`
		}
		if err := json.Unmarshal(resp.Data, &r); err != nil {
			return fmt.Errorf("message get reply: %w", err)
		}
		switch {
		case r.Error != nil && r.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
			return errNoMessage
		case r.Error != nil:
			return r.Error
		case r.Message == nil:
			return jetstream.ErrInvalidJetStreamResponse
		}
		m = r.Message
		return nil
	})
	return m, err
}

// HasRecord reports whether from's copy of channelID's record (a call with
// to) is stored, looking only at records stored since since. A rewrite of a
// record uses it so that a call gets exactly one record even when the first
// write is older than the dedup window.
func (s *Store) HasRecord(ctx context.Context, from RecordParty, to, channelID string, since time.Time) (bool, error) {
	subject := recordSubject(from, to)
	req := msgGetRequest{NextFor: subject, StartTime: &since}
	for {
		m, err := s.recordGet(ctx, req)
		if errors.Is(err, errNoMessage) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("look up record %s: %w", channelID, err)
		}
		if recordChannel(m.Data) == channelID {
			return true, nil
		}
		req = msgGetRequest{NextFor: subject, Seq: m.Sequence + 1}
	}
}

func recordChannel(data []byte) string {
	var r struct {
		ChannelID string `json:"channelId"`
	}
	_ = json.Unmarshal(data, &r)
	return r.ChannelID
}

// RecordsQuery selects a page of one account's records.
type RecordsQuery struct {
	Owner  RecordParty
	Peer   string // only calls with this account ("" = all)
	Limit  int    // at most this many (0 = DefaultRecordsLimit)
	Cursor string // from RecordsPage.Next: continue with older records ("" = newest)
	// MaxBytes bounds the page's records, encoded as JSON (0 = no bound);
	// a page stops early rather than exceed it.
	MaxBytes int
}

// RecordsPage is one page of records, newest first. Next, when set, is the
// cursor of the following (older) page.
type RecordsPage struct {
	Records []protocol.Record
	Next    string
}

// ErrBadCursor is a cursor that no page handed out.
var ErrBadCursor = errors.New("invalid records cursor")

// Records returns a page of the owner's records, newest first. The cursor is
// the stream sequence below which the page starts, so pages never repeat or
// skip a record however many are added meanwhile.
func (s *Store) Records(ctx context.Context, q RecordsQuery) (RecordsPage, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultRecordsLimit
	}
	var before uint64
	if q.Cursor != "" {
		n, err := strconv.ParseUint(q.Cursor, 10, 64)
		if err != nil || n == 0 {
			return RecordsPage{}, ErrBadCursor
		}
		before = n
	}
	filter := recordSubjectPrefix + q.Owner.Account + "." + q.Owner.Incarnation + ".*"
	if q.Peer != "" {
		filter = recordSubject(q.Owner, q.Peer)
	}
	// One more than asked tells whether an older page exists.
	msgs, err := s.scanBack(ctx, filter, before, q.Limit+1)
	if err != nil {
		return RecordsPage{}, fmt.Errorf("records of %s: %w", q.Owner.Account, err)
	}
	page := RecordsPage{Records: make([]protocol.Record, 0, min(len(msgs), q.Limit))}
	size := 0
	for i, m := range msgs {
		if i == q.Limit || (q.MaxBytes > 0 && size+len(m.Data)+1 > q.MaxBytes && i > 0) {
			page.Next = strconv.FormatUint(msgs[i-1].Sequence, 10)
			break
		}
		var r protocol.Record
		if err := json.Unmarshal(m.Data, &r); err != nil {
			continue // a foreign message on our subjects; skip it
		}
		page.Records = append(page.Records, r)
		size += len(m.Data) + 1
	}
	return page, nil
}

// scanBack returns up to want messages on filter with a sequence below
// before (0: the end of the stream), newest first. The leader answers one
// message per request and only forwards, so the stream is read backwards in
// windows of sequences, each scanned forwards; a window grows when the
// filter's messages are sparse in it.
func (s *Store) scanBack(ctx context.Context, filter string, before uint64, want int) ([]storedMsg, error) {
	var hi uint64
	if before == 0 {
		last, err := s.recordGet(ctx, msgGetRequest{LastFor: filter})
		if errors.Is(err, errNoMessage) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		hi = last.Sequence
	} else {
		hi = before - 1
	}
	var out []storedMsg
	window := uint64(max(2*want, 16))
	for hi > 0 && len(out) < want {
		lo := uint64(1)
		if hi >= window {
			lo = hi - window + 1
		}
		var got []storedMsg
		for seq := lo; ; {
			m, err := s.recordGet(ctx, msgGetRequest{NextFor: filter, Seq: seq})
			if errors.Is(err, errNoMessage) {
				break
			}
			if err != nil {
				return nil, err
			}
			if m.Sequence > hi {
				break
			}
			got = append(got, *m)
			seq = m.Sequence + 1
		}
		slices.Reverse(got)
		out = append(out, got...)
		need := uint64(want - min(len(out), want))
		if k := uint64(len(got)); k > 0 {
			// Size the next window for what is still missing at the
			// density just seen, within 1–16 times this one.
			window = min(max(window*need*2/k, window), 16*window)
		} else {
			window *= 4
		}
		hi = lo - 1
	}
	if len(out) > want {
		out = out[:want]
	}
	return out, nil
}

// RecordOf returns owner's copy of channelID's record (a call with peer, or
// anyone when peer is ""), looking at the newest records only (a call that
// ended a short while ago); found is false if it is not among them.
func (s *Store) RecordOf(ctx context.Context, owner RecordParty, peer, channelID string) (*protocol.Record, bool, error) {
	filter := recordSubjectPrefix + owner.Account + "." + owner.Incarnation + ".*"
	if peer != "" {
		filter = recordSubject(owner, peer)
	}
	msgs, err := s.scanBack(ctx, filter, 0, recentRecords)
	if err != nil {
		return nil, false, err
	}
	for _, m := range msgs {
		if recordChannel(m.Data) != channelID {
			continue
		}
		var r protocol.Record
		if err := json.Unmarshal(m.Data, &r); err != nil {
			return nil, false, fmt.Errorf("decode record %s: %w", channelID, err)
		}
		return &r, true, nil
	}
	return nil, false, nil
}

// recentRecords is how far back RecordOf looks.
const recentRecords = 20

// MigrateRecords moves records stored before incarnations existed to the
// per-party subjects: each party that still exists and was created before
// the call gets its copy (an account created after the call is another
// user). A legacy record is removed once both copies are stored, so an
// interrupted migration resumes where it stopped. It returns how many
// records it moved.
func (s *Store) MigrateRecords(ctx context.Context) (int, error) {
	filter := legacyRecordSubjectPrefix + ">"
	accounts := map[string]*Account{}
	owner := func(account string, createdAt int64) (RecordParty, bool, error) {
		a, ok := accounts[account]
		if !ok {
			var err error
			a, _, err = s.GetAccount(ctx, account)
			if err != nil && !IsNotFound(err) {
				return RecordParty{}, false, err
			}
			accounts[account] = a
		}
		if a == nil || a.CreatedAt.UnixMilli() > createdAt {
			return RecordParty{}, false, nil
		}
		return RecordParty{Account: account, Incarnation: a.Incarnation()}, true, nil
	}
	moved := 0
	for seq := uint64(1); ; {
		m, err := s.recordGet(ctx, msgGetRequest{NextFor: filter, Seq: seq})
		if errors.Is(err, errNoMessage) {
			return moved, nil
		}
		if err != nil {
			return moved, fmt.Errorf("migrate records: %w", err)
		}
		seq = m.Sequence + 1
		var r protocol.Record
		if json.Unmarshal(m.Data, &r) == nil && r.ChannelID != "" {
			from, okFrom, err := owner(r.From, r.CreatedAt)
			if err != nil {
				return moved, fmt.Errorf("migrate records: %w", err)
			}
			to, okTo, err := owner(r.To, r.CreatedAt)
			if err != nil {
				return moved, fmt.Errorf("migrate records: %w", err)
			}
			switch {
			case okFrom && okTo:
				err = s.AddRecord(ctx, &r, from, to)
			case okFrom:
				err = s.AddRecord(ctx, &r, from, from)
			case okTo:
				err = s.AddRecord(ctx, &r, to, to)
			}
			if err != nil {
				return moved, fmt.Errorf("migrate records: %w", err)
			}
			moved++
		}
		err = s.retry.do(ctx, func(ctx context.Context, _ bool) error {
			err := s.records.DeleteMsg(ctx, m.Sequence)
			if err != nil && errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return moved, fmt.Errorf("migrate records: remove legacy record %d: %w", m.Sequence, err)
		}
	}
}
