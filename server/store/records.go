package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/softphone/softphone/call/protocol"
)

// Records live on subjects sp.records.<caller>.<callee>, so one account's
// history is two subject filters away.
const recordSubjectPrefix = "sp.records."

// DefaultRecordsLimit is used when a query asks for 0 records.
const DefaultRecordsLimit = 50

// AddRecord appends the record of a finished call. The channel id is the
// dedup id, so a retried write never yields a second record.
func (s *Store) AddRecord(ctx context.Context, r *protocol.Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	msg := &nats.Msg{Subject: recordSubjectPrefix + r.From + "." + r.To, Data: b, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.ChannelID)
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(StreamRecords)); err != nil {
		return fmt.Errorf("write record %s: %w", r.ChannelID, err)
	}
	return nil
}

// HasRecord reports whether the record of channelID (a call from → to) is
// in the stream, looking only at records stored since since. A rewrite of a
// record uses it so that a call gets exactly one record even when the first
// write is older than the stream's duplicate window, where the channel id
// no longer deduplicates.
func (s *Store) HasRecord(ctx context.Context, from, to, channelID string, since time.Time) (bool, error) {
	cons, err := s.records.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{recordSubjectPrefix + from + "." + to},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
		InactiveThreshold: 5 * time.Second,
	})
	if err != nil {
		return false, fmt.Errorf("records consumer: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("records consumer info: %w", err)
	}
	for pending := info.NumPending; pending > 0; {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return false, fmt.Errorf("fetch records: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var r struct {
				ChannelID string `json:"channelId"`
			}
			if json.Unmarshal(m.Data(), &r) == nil && r.ChannelID == channelID {
				return true, nil
			}
			pending = 0
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return false, fmt.Errorf("fetch records: %w", err)
		}
		if got == 0 {
			break
		}
	}
	return false, nil
}

// Records returns account's records (as caller or callee), optionally only
// those with peer, newest first, at most limit (0 = DefaultRecordsLimit).
func (s *Store) Records(ctx context.Context, account, peer string, limit int) ([]protocol.Record, error) {
	if limit <= 0 {
		limit = DefaultRecordsLimit
	}
	filters := []string{recordSubjectPrefix + account + ".*", recordSubjectPrefix + "*." + account}
	if peer != "" {
		filters = []string{recordSubjectPrefix + account + "." + peer, recordSubjectPrefix + peer + "." + account}
		if peer == account {
			filters = filters[:1]
		}
	}
	cons, err := s.records.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: filters, InactiveThreshold: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("records consumer: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("records consumer info: %w", err)
	}
	pending := info.NumPending
	// A ring of the newest `limit` records; older ones are dropped as we go.
	ring := make([]protocol.Record, 0, min(uint64(limit), pending))
	next := 0
	for pending > 0 {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, fmt.Errorf("fetch records: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			pending--
			var r protocol.Record
			if err := json.Unmarshal(m.Data(), &r); err != nil {
				continue // a foreign message on our subjects; skip it
			}
			if len(ring) < limit {
				ring = append(ring, r)
			} else {
				ring[next] = r
				next = (next + 1) % limit
			}
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("fetch records: %w", err)
		}
		if got == 0 {
			break
		}
	}
	out := make([]protocol.Record, 0, len(ring))
	for i := len(ring) - 1; i >= 0; i-- {
		out = append(out, ring[(next+i)%len(ring)])
	}
	return out, nil
}
