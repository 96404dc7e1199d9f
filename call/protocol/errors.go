package protocol

import (
	"errors"
	"fmt"
)

// Code is a numeric error code carried in a reply's "code" field.
// 0 means success. The ranges follow the kits softphone copies:
//   - 4xx/5xx: transport and request errors (HTTP-like);
//   - 1xx:     NeCallKit component codes (116 busy, ...);
//   - 104xx:   NIM signalling codes (channel missing, already accepted, ...);
//   - 200xx:   NeCallKit state-table codes (operation illegal in this state).
type Code int

// Request and transport errors.
const (
	CodeOK                 Code = 0
	CodeBadRequest         Code = 400 // malformed JSON, unknown type, bad field
	CodeUnauthorized       Code = 401 // missing, wrong or expired token
	CodeForbidden          Code = 403 // not allowed for this account or mode
	CodeNotFound           Code = 404 // unknown account
	CodeConflict           Code = 409 // concurrent change lost a compare-and-set
	CodeTooLarge           Code = 413 // message or field over its size limit
	CodeUnsupportedVersion Code = 426 // envelope "v" not spoken by the server
	CodeNotLoggedIn        Code = 440 // request before a successful login
	CodeRateLimited        Code = 429 // too many requests on this connection
	CodeInternal           Code = 500 // server-side failure
	CodeUnavailable        Code = 503 // backing store unreachable
)

// NeCallKit component codes.
const (
	CodeCallBusy   Code = 116 // this account is already in a call
	CodeNotInCall  Code = 118 // no call to act on
	CodeCallTypeNA Code = 106 // call type missing or invalid
)

// NIM signalling codes, reused for channel outcomes.
const (
	CodePeerOffline      Code = 10201 // informational: invite stored for later delivery
	CodeChannelNotFound  Code = 10404 // channel does not exist (or has ended)
	CodeNotInChannel     Code = 10406 // caller is not a party of the channel
	CodeInviteExpired    Code = 10408 // invite missing, expired or cancelled
	CodeAlreadyRejected  Code = 10409 // invite already rejected
	CodeAlreadyAccepted  Code = 10410 // invite already accepted (maybe on another device)
	CodeChannelNotActive Code = 10411 // channel is not in a call
)

// Error is a protocol error: a code and a human-readable message. It is what
// a reply with a non-zero code decodes to, and what the server sends.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Is makes errors.Is match any *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the protocol code carried by err, or CodeInternal for
// errors that are not protocol errors (and CodeOK for nil).
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}

// Sentinels for errors.Is comparisons; the message text is only a default.
var (
	ErrBadRequest      = &Error{Code: CodeBadRequest, Message: "bad request"}
	ErrUnauthorized    = &Error{Code: CodeUnauthorized, Message: "unauthorized"}
	ErrForbidden       = &Error{Code: CodeForbidden, Message: "forbidden"}
	ErrNotFound        = &Error{Code: CodeNotFound, Message: "not found"}
	ErrTooLarge        = &Error{Code: CodeTooLarge, Message: "message too large"}
	ErrNotLoggedIn     = &Error{Code: CodeNotLoggedIn, Message: "not logged in"}
	ErrCallBusy        = &Error{Code: CodeCallBusy, Message: "already in a call"}
	ErrChannelNotFound = &Error{Code: CodeChannelNotFound, Message: "channel not found"}
	ErrNotInChannel    = &Error{Code: CodeNotInChannel, Message: "not a party of this channel"}
	ErrInviteExpired   = &Error{Code: CodeInviteExpired, Message: "invite expired"}
	ErrAlreadyRejected = &Error{Code: CodeAlreadyRejected, Message: "invite already rejected"}
	ErrAlreadyAccepted = &Error{Code: CodeAlreadyAccepted, Message: "invite already accepted"}
	ErrNotActive       = &Error{Code: CodeChannelNotActive, Message: "channel is not in a call"}
)
