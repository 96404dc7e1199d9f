// Package protocol is the wire contract between the softphone call engine and
// `softphone serve`: message envelopes, payloads, validation and error codes.
//
// Signaling is JSON text frames over one WebSocket per device. docs/protocol.md
// documents every message; this package is the single source of truth for it.
package protocol

import "time"

// Version is the protocol version carried in every envelope ("v").
const Version = 1

// Limits applied to every inbound message. They are part of the contract:
// a peer that exceeds them gets CodeTooLarge / CodeBadRequest.
const (
	// MaxMessageSize bounds one WebSocket frame (bytes).
	MaxMessageSize = 64 << 10
	// MaxAttachmentSize bounds a call's attachment JSON (bytes).
	MaxAttachmentSize = 4 << 10
	// MaxRelayPayloadSize bounds an SDP/ICE relay payload (bytes).
	MaxRelayPayloadSize = 48 << 10
	// MaxIDLength bounds accounts, devices, channel and request ids.
	MaxIDLength = 64
	// MaxNickLength bounds a nickname (bytes).
	MaxNickLength = 64
	// MaxRecordsLimit bounds one records query.
	MaxRecordsLimit = 500
	// MaxContacts bounds an account's contact list.
	MaxContacts = 1000
	// MaxDevices bounds the devices of one account logged in at once: each
	// is a connection, a presence entry and a copy of every event of the
	// account. A login past it gets CodeRateLimited.
	MaxDevices = 32
)

// Ring timeout policy, enforced by the server (the single timeout authority).
const (
	DefaultCallTimeout = 30 * time.Second
	MinCallTimeout     = 1 * time.Second
	MaxCallTimeout     = 120 * time.Second
)
