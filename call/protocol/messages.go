package protocol

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Envelope kinds. A client sends requests (Type = one of the Req* names);
// the server answers each request with exactly one TypeReply carrying the
// request's ID, and pushes TypeEvent messages at any time.
const (
	TypeReply = "reply"
	TypeEvent = "event"
)

// Request types (client → server).
const (
	ReqLogin         = "login"
	ReqLogout        = "logout"
	ReqPing          = "ping"
	ReqCall          = "call"
	ReqCancel        = "cancel"
	ReqAccept        = "accept"
	ReqReject        = "reject"
	ReqHangup        = "hangup"
	ReqSwitch        = "switch"
	ReqRelay         = "relay"
	ReqContacts      = "contacts"
	ReqContactAdd    = "contact.add"
	ReqContactRemove = "contact.remove"
	ReqRecords       = "records"
	// ReqICEServers fetches fresh STUN/TURN credentials (those of the login
	// reply expire); added within version 1.
	ReqICEServers = "iceServers"
)

// Event names (server → client). They are NeCallKit's EVENT constant names,
// so the engine, the headless JSON and the UI's event log all use them.
const (
	EvInvited           = "INVITED"
	EvUserAccept        = "USER_ACCEPT"
	EvUserReject        = "USER_REJECT"
	EvUserBusy          = "USER_BUSY"
	EvCallingTimeout    = "CALLING_TIMEOUT"
	EvUserCancel        = "USER_CANCEL"
	EvCallEnd           = "CALL_END"
	EvOtherClientAccept = "OTHER_CLIENT_ACCEPT"
	EvOtherClientReject = "OTHER_CLIENT_REJECT"
	EvMessageSent       = "MESSAGE_SENT"
	EvCallTypeChange    = "CALL_TYPE_CHANGE"
	EvPresence          = "PRESENCE"
	EvRelay             = "RELAY"
	// EvSessionEnded tells a device that the server is ending its session
	// for good (the connection closes right after): its token was reset or
	// its account removed. Added within version 1.
	EvSessionEnded = "SESSION_ENDED"
)

// Message is the envelope of every frame in both directions.
type Message struct {
	V     int             `json:"v"`
	Type  string          `json:"type"`
	ID    string          `json:"id,omitempty"`    // request id, echoed in the reply
	Event string          `json:"event,omitempty"` // event name when Type == "event"
	Code  Code            `json:"code,omitempty"`  // reply: 0 ok, else an error code
	Error string          `json:"error,omitempty"` // reply: error message when Code != 0
	Data  json.RawMessage `json:"data,omitempty"`  // request/reply/event payload
}

// CallType is NeCallKit's call type: 1 audio, 2 video.
type CallType int

const (
	CallAudio CallType = 1
	CallVideo CallType = 2
)

// Valid reports whether t is audio or video.
func (t CallType) Valid() bool { return t == CallAudio || t == CallVideo }

func (t CallType) String() string {
	switch t {
	case CallAudio:
		return "audio"
	case CallVideo:
		return "video"
	}
	return "unknown"
}

// ---- request payloads (client → server) ----

// Login authenticates a device. In secure mode (CheckSum true) Token must be
// the account's token; a server in debug mode also admits CheckSum false
// logins without a token. Device identifies this device across reconnects
// so the session (and a call in progress) resumes.
type Login struct {
	Account  string `json:"account"`
	Token    string `json:"token,omitempty"`
	Device   string `json:"device"`
	CheckSum bool   `json:"checkSum"`
	Client   string `json:"client,omitempty"` // free-form client version
}

// Call invites To. TimeoutMs 0 means the server default (30 s).
type Call struct {
	To         string          `json:"to"`
	CallType   CallType        `json:"callType"`
	Attachment json.RawMessage `json:"attachment,omitempty"`
	TimeoutMs  int64           `json:"timeoutMs,omitempty"`
}

// ChannelRef names the channel a request acts on (cancel, accept, reject,
// hangup).
type ChannelRef struct {
	ChannelID string `json:"channelId"`
}

// Switch states of a call-type change (NeCallKit 1.6.1: invite/agree/reject).
const (
	SwitchInvite = "invite"
	SwitchAgree  = "agree"
	SwitchReject = "reject"
)

// Switch changes the call type. Video→audio is applied at once (State may be
// empty or "invite"); audio→video needs State "invite" from one side and
// "agree" (or "reject") from the other.
type Switch struct {
	ChannelID string   `json:"channelId"`
	CallType  CallType `json:"callType"`
	State     string   `json:"state,omitempty"`
}

// Relay kinds carried between the two devices of an active call.
const (
	RelayOffer     = "offer"
	RelayAnswer    = "answer"
	RelayCandidate = "candidate"
	// RelayControl carries in-call media control between the two devices
	// (mute state, a request for a new offer); added within version 1.
	RelayControl = "control"
)

// Relay forwards media negotiation to the peer device of an active call.
// Token is the channel token issued at accept; the server verifies it.
type Relay struct {
	ChannelID string          `json:"channelId"`
	Token     string          `json:"token,omitempty"`
	Kind      string          `json:"kind"`
	Payload   json.RawMessage `json:"payload"`
}

// ContactRef names an account in contact.add / contact.remove.
type ContactRef struct {
	Account string `json:"account"`
}

// RecordsQuery lists the caller's own call records, newest first, a page at
// a time: Cursor is the previous reply's Next. ChannelID instead asks for
// the record of one call (a device that missed its MESSAGE_SENT).
type RecordsQuery struct {
	Peer      string `json:"peer,omitempty"`
	Limit     int    `json:"limit,omitempty"` // 0 = 50
	Cursor    string `json:"cursor,omitempty"`
	ChannelID string `json:"channelId,omitempty"`
}

// ---- reply payloads (server → client) ----

// LoginReply describes the session. Calls lists channels this device takes
// part in (an active call to resume) or rings for (pending invites).
type LoginReply struct {
	Account          string         `json:"account"`
	NickName         string         `json:"nickName,omitempty"`
	Device           string         `json:"device"`
	Node             string         `json:"node,omitempty"`
	ServerTime       int64          `json:"serverTime"` // unix ms
	DefaultTimeoutMs int64          `json:"defaultTimeoutMs"`
	MaxTimeoutMs     int64          `json:"maxTimeoutMs"`
	Debug            bool           `json:"debug,omitempty"`
	Calls            []ChannelState `json:"calls,omitempty"`
	// ICEServers are the STUN/TURN servers for this device's media
	// sessions, with credentials valid until ICEExpiresAt (unix ms, server
	// clock); empty when the server runs no TURN relay. Added within v1.
	ICEServers   []ICEServer `json:"iceServers,omitempty"`
	ICEExpiresAt int64       `json:"iceExpiresAt,omitempty"`
}

// ICEServer is one STUN/TURN server in the WebRTC RTCIceServer shape. For
// the server's TURN relay Username is "<expiry unix>:<account>" and
// Credential its TURN REST password (base64 HMAC-SHA1).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEServersReply answers ReqICEServers.
type ICEServersReply struct {
	ICEServers []ICEServer `json:"iceServers"`
	ExpiresAt  int64       `json:"expiresAt,omitempty"` // unix ms, server clock
	ServerTime int64       `json:"serverTime"`          // unix ms
}

// Channel states as stored and reported by the server.
const (
	ChannelRinging = "ringing"
	ChannelActive  = "active"
	ChannelEnded   = "ended"
)

// ChannelState is a snapshot of one channel as this device may see it.
type ChannelState struct {
	ChannelID   string          `json:"channelId"`
	RequestID   string          `json:"requestId"`
	ChannelName string          `json:"channelName"`
	State       string          `json:"state"`
	From        string          `json:"from"`
	FromNick    string          `json:"fromNick,omitempty"`
	To          string          `json:"to"`
	CallType    CallType        `json:"callType"`
	Attachment  json.RawMessage `json:"attachment,omitempty"`
	CreatedAt   int64           `json:"createdAt"`            // unix ms
	ExpiresAt   int64           `json:"expiresAt"`            // ring deadline, unix ms
	AcceptedAt  int64           `json:"acceptedAt,omitempty"` // unix ms
	MediaToken  string          `json:"mediaToken,omitempty"` // for a party of an active call
}

// CallReply answers ReqCall.
type CallReply struct {
	ChannelID    string `json:"channelId"`
	RequestID    string `json:"requestId"`
	ChannelName  string `json:"channelName"`
	CreatedAt    int64  `json:"createdAt"`
	ExpiresAt    int64  `json:"expiresAt"`
	CalleeOnline bool   `json:"calleeOnline"` // false: invite stored until its timeout
}

// AcceptReply answers ReqAccept with the channel token for media.
type AcceptReply struct {
	ChannelID      string `json:"channelId"`
	MediaToken     string `json:"mediaToken,omitempty"`
	TokenExpiresAt int64  `json:"tokenExpiresAt,omitempty"`
}

// Presence values. Presence is shared only between mutual contacts: a
// contact who has not added you back (or an account that does not exist:
// the answer is the same) is PresencePending, without a nickname.
const (
	PresenceOnline  = "online"
	PresenceInCall  = "inCall"
	PresenceOffline = "offline"
	PresencePending = "pending" // added within version 1
)

// Contact is one entry of the contact list.
type Contact struct {
	Account  string `json:"account"`
	NickName string `json:"nickName,omitempty"`
	Presence string `json:"presence"`
}

// ContactsReply answers ReqContacts, ReqContactAdd and ReqContactRemove.
type ContactsReply struct {
	Contacts []Contact `json:"contacts"`
}

// RecordsReply answers ReqRecords. Next, when set, is the cursor of the
// next (older) page; a page may hold fewer than Limit records to stay within
// MaxMessageSize.
type RecordsReply struct {
	Records []Record `json:"records"`
	Next    string   `json:"next,omitempty"`
}

// PingReply answers ReqPing.
type PingReply struct {
	ServerTime int64 `json:"serverTime"`
}

// ---- event payloads (server → client) ----

// Invite is INVITED's payload; pass it back to accept or reject.
type Invite struct {
	ChannelID   string          `json:"channelId"`
	RequestID   string          `json:"requestId"`
	ChannelName string          `json:"channelName"`
	From        string          `json:"from"`
	FromNick    string          `json:"fromNick,omitempty"`
	To          string          `json:"to"`
	CallType    CallType        `json:"callType"`
	Attachment  json.RawMessage `json:"attachment,omitempty"`
	CreatedAt   int64           `json:"createdAt"`
	ExpiresAt   int64           `json:"expiresAt"`
	Offline     bool            `json:"offline,omitempty"` // delivered at login, not live
}

// Peer is the payload of USER_ACCEPT, USER_REJECT, USER_BUSY, USER_CANCEL,
// CALLING_TIMEOUT, CALL_END, OTHER_CLIENT_ACCEPT and OTHER_CLIENT_REJECT.
// UserID is the other party (for OTHER_CLIENT_* the own account).
type Peer struct {
	ChannelID      string `json:"channelId"`
	UserID         string `json:"userId"`
	Device         string `json:"device,omitempty"`         // device that acted
	Reason         string `json:"reason,omitempty"`         // CALL_END: hangup, peerGone
	MediaToken     string `json:"mediaToken,omitempty"`     // USER_ACCEPT: channel token
	TokenExpiresAt int64  `json:"tokenExpiresAt,omitempty"` // USER_ACCEPT
}

// CallTypeChange is CALL_TYPE_CHANGE's payload.
type CallTypeChange struct {
	ChannelID string   `json:"channelId"`
	CallType  CallType `json:"callType"`
	State     string   `json:"state"`  // invite, agree, reject
	UserID    string   `json:"userId"` // who asked or answered
}

// Record statuses (话单), as NeCallKit sends them.
const (
	StatusCompleted = 1
	StatusCanceled  = 2
	StatusRejected  = 3
	StatusTimeout   = 4
	StatusBusy      = 5
)

// Duration is one participant's time in the call, in seconds.
type Duration struct {
	Accid    string `json:"accid"`
	Duration int64  `json:"duration"`
}

// Record is the call record written once per call by the server and sent to
// every device of both parties as MESSAGE_SENT.
type Record struct {
	Type      CallType   `json:"type"`
	ChannelID string     `json:"channelId"`
	Status    int        `json:"status"`
	From      string     `json:"from"`
	To        string     `json:"to"`
	Durations []Duration `json:"durations"`
	CreatedAt int64      `json:"createdAt"` // invite time, unix ms
	EndedAt   int64      `json:"endedAt"`   // unix ms
}

// Presence is PRESENCE's payload: a contact changed state.
type Presence struct {
	Account  string `json:"account"`
	Presence string `json:"presence"`
}

// RelayEvent is RELAY's payload: media negotiation from the peer device.
type RelayEvent struct {
	ChannelID  string          `json:"channelId"`
	From       string          `json:"from"`
	FromDevice string          `json:"fromDevice"`
	Kind       string          `json:"kind"`
	Payload    json.RawMessage `json:"payload"`
}

// Reasons of SESSION_ENDED.
const (
	EndTokenReset     = "tokenReset"
	EndAccountRemoved = "accountRemoved"
)

// SessionEnded is SESSION_ENDED's payload. Message is the reason in words;
// a client must not log in again with the same token.
type SessionEnded struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// SessionEndMessage is the text a client shows for a SESSION_ENDED reason.
func SessionEndMessage(reason string) string {
	switch reason {
	case EndTokenReset:
		return "token was reset"
	case EndAccountRemoved:
		return "account was removed"
	}
	return "session ended by the server"
}

// LogValue keeps the token out of every log line and trace.
func (l Login) LogValue() slog.Value {
	tok := ""
	if l.Token != "" {
		tok = "[redacted]"
	}
	return slog.GroupValue(slog.String("account", l.Account), slog.String("device", l.Device),
		slog.Bool("checkSum", l.CheckSum), slog.String("token", tok), slog.String("client", l.Client))
}

// LogValue keeps the TURN credential out of logs.
func (s ICEServer) LogValue() slog.Value {
	cred := ""
	if s.Credential != "" {
		cred = "[redacted]"
	}
	return slog.GroupValue(slog.Any("urls", s.URLs), slog.String("username", s.Username), slog.String("credential", cred))
}

// String keeps the TURN credential out of fmt output too.
func (s ICEServer) String() string {
	return fmt.Sprintf("%v (username %q)", s.URLs, s.Username)
}

// LogValue keeps the channel token out of logs.
func (r Relay) LogValue() slog.Value {
	return slog.GroupValue(slog.String("channelId", r.ChannelID), slog.String("kind", r.Kind),
		slog.Int("payloadBytes", len(r.Payload)))
}
