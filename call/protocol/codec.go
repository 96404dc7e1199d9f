package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// idPattern is the shape of accounts, devices, channel and request ids. It
// excludes '.', '*' and '>' so an id can never alter a NATS subject.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s may be used as an account, device or channel id.
func ValidID(s string) bool { return len(s) <= MaxIDLength && idPattern.MatchString(s) }

// Decode parses one inbound frame into its envelope. It enforces the size
// limit, strict JSON (no unknown fields, no trailing data), the protocol
// version and a non-empty type. The returned *Message is non-nil whenever
// the envelope itself parsed, so a caller can echo m.ID in the error reply.
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxMessageSize {
		return nil, Errorf(CodeTooLarge, "message of %d bytes exceeds %d", len(b), MaxMessageSize)
	}
	var m Message
	if err := strictUnmarshal(b, &m); err != nil {
		return nil, Errorf(CodeBadRequest, "malformed message: %v", err)
	}
	if len(m.ID) > MaxIDLength || !utf8.ValidString(m.ID) {
		return nil, Errorf(CodeBadRequest, "field id: longer than %d bytes or not UTF-8", MaxIDLength)
	}
	if m.V != Version {
		return &m, Errorf(CodeUnsupportedVersion, "protocol version %d not supported (want %d)", m.V, Version)
	}
	if m.Type == "" {
		return &m, Errorf(CodeBadRequest, "field type: missing")
	}
	return &m, nil
}

// strictUnmarshal decodes exactly one JSON value into v and refuses unknown
// fields, so a misspelt field is an error rather than silently ignored.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// ParseRequest decodes and validates the payload of a client request. The
// result is a pointer to the payload type for m.Type (e.g. *Call), or nil for
// requests without a payload (logout, ping, contacts).
func ParseRequest(m *Message) (any, error) {
	if m.Type == TypeReply || m.Type == TypeEvent {
		return nil, Errorf(CodeBadRequest, "type %q is server-to-client only", m.Type)
	}
	newPayload, ok := requestPayloads[m.Type]
	if !ok {
		return nil, Errorf(CodeBadRequest, "unknown request type %q", m.Type)
	}
	if newPayload == nil {
		if len(m.Data) != 0 && !bytes.Equal(bytes.TrimSpace(m.Data), []byte("null")) && !bytes.Equal(bytes.TrimSpace(m.Data), []byte("{}")) {
			return nil, Errorf(CodeBadRequest, "request %q takes no data", m.Type)
		}
		return nil, nil
	}
	p := newPayload()
	if len(m.Data) == 0 {
		return nil, Errorf(CodeBadRequest, "request %q: field data missing", m.Type)
	}
	if err := strictUnmarshal(m.Data, p); err != nil {
		return nil, Errorf(CodeBadRequest, "request %q: %v", m.Type, err)
	}
	if v, ok := p.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

var requestPayloads = map[string]func() any{
	ReqLogin:         func() any { return new(Login) },
	ReqLogout:        nil,
	ReqPing:          nil,
	ReqCall:          func() any { return new(Call) },
	ReqCancel:        func() any { return new(ChannelRef) },
	ReqAccept:        func() any { return new(ChannelRef) },
	ReqReject:        func() any { return new(ChannelRef) },
	ReqHangup:        func() any { return new(ChannelRef) },
	ReqSwitch:        func() any { return new(Switch) },
	ReqRelay:         func() any { return new(Relay) },
	ReqContacts:      nil,
	ReqContactAdd:    func() any { return new(ContactRef) },
	ReqContactRemove: func() any { return new(ContactRef) },
	ReqRecords:       func() any { return new(RecordsQuery) },
	ReqICEServers:    nil,
}

func badField(name, why string) error { return Errorf(CodeBadRequest, "field %s: %s", name, why) }

func checkID(name, v string) error {
	if v == "" {
		return badField(name, "missing")
	}
	if !ValidID(v) {
		return badField(name, "must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

func (l *Login) validate() error {
	if err := checkID("account", l.Account); err != nil {
		return err
	}
	if err := checkID("device", l.Device); err != nil {
		return err
	}
	if len(l.Token) > 256 {
		return badField("token", "too long")
	}
	if len(l.Client) > 128 || !utf8.ValidString(l.Client) {
		return badField("client", "too long or not UTF-8")
	}
	return nil
}

func (c *Call) validate() error {
	if err := checkID("to", c.To); err != nil {
		return err
	}
	if !c.CallType.Valid() {
		return Errorf(CodeCallTypeNA, "field callType: must be 1 (audio) or 2 (video)")
	}
	if len(c.Attachment) > MaxAttachmentSize {
		return Errorf(CodeTooLarge, "field attachment: %d bytes exceeds %d", len(c.Attachment), MaxAttachmentSize)
	}
	if c.TimeoutMs != 0 && (c.TimeoutMs < MinCallTimeout.Milliseconds() || c.TimeoutMs > MaxCallTimeout.Milliseconds()) {
		return badField("timeoutMs", fmt.Sprintf("must be between %d and %d", MinCallTimeout.Milliseconds(), MaxCallTimeout.Milliseconds()))
	}
	return nil
}

func (r *ChannelRef) validate() error { return checkID("channelId", r.ChannelID) }

func (s *Switch) validate() error {
	if err := checkID("channelId", s.ChannelID); err != nil {
		return err
	}
	if !s.CallType.Valid() {
		return Errorf(CodeCallTypeNA, "field callType: must be 1 (audio) or 2 (video)")
	}
	switch s.State {
	case "", SwitchInvite, SwitchAgree, SwitchReject:
		return nil
	}
	return badField("state", "must be invite, agree or reject")
}

func (r *Relay) validate() error {
	if err := checkID("channelId", r.ChannelID); err != nil {
		return err
	}
	switch r.Kind {
	case RelayOffer, RelayAnswer, RelayCandidate, RelayControl:
	default:
		return badField("kind", "must be offer, answer, candidate or control")
	}
	if len(r.Token) > 512 {
		return badField("token", "too long")
	}
	if len(r.Payload) == 0 {
		return badField("payload", "missing")
	}
	if len(r.Payload) > MaxRelayPayloadSize {
		return Errorf(CodeTooLarge, "field payload: %d bytes exceeds %d", len(r.Payload), MaxRelayPayloadSize)
	}
	_, err := ParseRelayPayload(r.Kind, r.Payload)
	return err
}

func (c *ContactRef) validate() error { return checkID("account", c.Account) }

func (q *RecordsQuery) validate() error {
	if q.Peer != "" && !ValidID(q.Peer) {
		return badField("peer", "must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	if q.Limit < 0 || q.Limit > MaxRecordsLimit {
		return badField("limit", fmt.Sprintf("must be between 0 and %d", MaxRecordsLimit))
	}
	if len(q.Cursor) > maxCursorLength || strings.Trim(q.Cursor, "0123456789") != "" {
		return badField("cursor", "must be the next of a previous records reply")
	}
	if q.ChannelID != "" && (q.Peer != "" || q.Cursor != "" || q.Limit != 0) {
		return badField("channelId", "cannot be combined with peer, limit or cursor")
	}
	if q.ChannelID != "" && !ValidID(q.ChannelID) {
		return badField("channelId", "must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

// maxCursorLength bounds a records cursor (a decimal stream sequence).
const maxCursorLength = 20

// ParseEvent decodes the payload of a server event into its type (*Invite,
// *Peer, *CallTypeChange, *Record, *Presence or *RelayEvent). Clients use it;
// unknown event names are an error so they can be logged and skipped.
func ParseEvent(m *Message) (any, error) {
	var p any
	switch m.Event {
	case EvInvited:
		p = new(Invite)
	case EvUserAccept, EvUserReject, EvUserBusy, EvUserCancel, EvCallingTimeout,
		EvCallEnd, EvOtherClientAccept, EvOtherClientReject:
		p = new(Peer)
	case EvCallTypeChange:
		p = new(CallTypeChange)
	case EvMessageSent:
		p = new(Record)
	case EvPresence:
		p = new(Presence)
	case EvRelay:
		p = new(RelayEvent)
	case EvSessionEnded:
		p = new(SessionEnded)
	default:
		return nil, Errorf(CodeBadRequest, "unknown event %q", m.Event)
	}
	// Events are decoded leniently: a newer server may add fields.
	if err := json.Unmarshal(m.Data, p); err != nil {
		return nil, Errorf(CodeBadRequest, "event %s: %v", m.Event, err)
	}
	return p, nil
}

// Encoding helpers. They never fail for the payload types of this package;
// an error means a caller passed something unmarshalable.

// EncodeRequest builds a request frame.
func EncodeRequest(id, typ string, payload any) ([]byte, error) {
	return encode(&Message{V: Version, Type: typ, ID: id}, payload)
}

// EncodeReply builds a success reply to request id.
func EncodeReply(id string, payload any) ([]byte, error) {
	return encode(&Message{V: Version, Type: TypeReply, ID: id}, payload)
}

// EncodeError builds an error reply to request id. Errors that are not
// *Error are reported as CodeInternal without their text, so internal
// details never reach a client.
func EncodeError(id string, err error) []byte {
	m := &Message{V: Version, Type: TypeReply, ID: id, Code: CodeInternal, Error: "internal error"}
	var pe *Error
	if errors.As(err, &pe) {
		m.Code, m.Error = pe.Code, pe.Message
	}
	b, _ := json.Marshal(m)
	return b
}

// EncodeEvent builds an event frame.
func EncodeEvent(name string, payload any) ([]byte, error) {
	return encode(&Message{V: Version, Type: TypeEvent, Event: name}, payload)
}

func encode(m *Message, payload any) ([]byte, error) {
	if payload != nil {
		d, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("encode %s payload: %w", m.Type, err)
		}
		m.Data = d
	}
	return json.Marshal(m)
}
