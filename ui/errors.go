package ui

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/softphone/softphone/call/protocol"
)

// errText says what went wrong in the UI's language. The server's messages
// are English, so the common codes get their own text; anything else keeps
// the message with its code.
func (m *Model) errText(err error) string {
	t := m.t
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeUnauthorized:
			return t.errToken
		case protocol.CodeNotFound:
			return fmtS(t.errNoAccount, quotedName(pe.Message))
		case protocol.CodeCallBusy:
			return t.errBusy
		case protocol.CodeUnavailable:
			if !m.connected {
				return t.offlineCall
			}
			return t.errServer
		case protocol.CodeInternal, protocol.CodeRateLimited:
			return t.errServer
		case protocol.CodeChannelNotFound, protocol.CodeInviteExpired, protocol.CodeChannelNotActive:
			return t.errGone
		case protocol.CodeAlreadyAccepted, protocol.CodeAlreadyRejected:
			return t.errElsewhere
		case protocol.CodeBadRequest:
			if strings.Contains(pe.Message, "yourself") {
				return t.errSelf
			}
		}
		if t.lang == "en" {
			return pe.Error()
		}
		return fmtS(t.errOther, pe.Message, int(pe.Code))
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return t.errTimeout
	case errors.As(err, &ne):
		return t.errUnreachable
	}
	return err.Error()
}

// quotedName is the account a "account \"bob\" not found" message names,
// or the whole message when it names none.
func quotedName(msg string) string {
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '"'); j >= 0 {
			return msg[i+1 : i+1+j]
		}
	}
	return msg
}
