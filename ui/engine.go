package ui

import (
	"context"
	"encoding/json"
	"image"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// engine is the part of *call.Engine the UI uses. Everything the user sees
// comes from these methods and the Events channel.
type engine interface {
	Account() string
	Session() protocol.LoginReply
	Events() <-chan call.Event
	Connected() bool
	State() protocol.CallState
	CurrentCall() (call.CallInfo, bool)

	Contacts(ctx context.Context) ([]protocol.Contact, error)
	AddContact(ctx context.Context, account string) ([]protocol.Contact, error)
	RemoveContact(ctx context.Context, account string) ([]protocol.Contact, error)
	RecordsPage(ctx context.Context, peer, cursor string, limit int) (call.RecordsPage, error)

	Call(ctx context.Context, userID string, t protocol.CallType, attachment json.RawMessage) (*protocol.CallReply, error)
	Accept(ctx context.Context, inv *protocol.Invite) error
	Reject(ctx context.Context, inv *protocol.Invite) error
	Cancel(ctx context.Context) error
	Hangup(ctx context.Context) error
	SwitchCallType(ctx context.Context, t protocol.CallType, state string) error
	MuteMicrophone(mute bool)
	EnableCamera(enabled bool)
	// SwitchCamera moves the outgoing video to the next camera; false
	// when there is none to move to (or no video call).
	SwitchCamera() bool

	MediaStats() (call.CallStats, bool)
	RemoteVideoFrame() (*image.YCbCr, uint64)
	// LocalVideoFrame is the outgoing picture (the preview); AudioLevels
	// the microphone and speaker levels, 0..1.
	LocalVideoFrame() (*image.YCbCr, uint64)
	AudioLevels() (mic, speaker float64, ok bool)
}

var _ engine = (*call.Engine)(nil)

// frameRenderer draws a picture into cols×rows terminal cells (the
// ui/video renderer).
type frameRenderer interface {
	Render(img *image.YCbCr, cols, rows int) string
}
