package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// runCall places one call and exits with its outcome.
func runCall(ctx context.Context, c *cli, args []string) (int, error) {
	cf := newCommandFlags(c, "call", synopsisOf("call"))
	cf.identity()
	cf.bind("timeout", "callTimeout", "ring timeout `D`, 1s–120s, enforced by the server (env SOFTPHONE_CALL_TIMEOUT)")
	typ := cf.fs.String("type", "audio", "call type: audio or video")
	hangupAfter := cf.fs.Duration("hangup-after", 0, "hang up this long after the callee answers (default: wait for the callee to hang up)")
	cancelAfter := cf.fs.Duration("cancel-after", 0, "cancel the call if it is still ringing after this long")
	attachment := cf.fs.String("attachment", "", "JSON value handed to the callee with the invite")
	asJSON := cf.fs.Bool("json", false, "print each event as one JSON object per line")
	media := addMediaFlags(cf.fs)
	cfg, pos, err := cf.load(args, c.getenv)
	if err != nil {
		return exitError, err
	}
	if len(pos) != 1 {
		return exitError, usageError{errors.New("want exactly one PEER account to call")}
	}
	peer := pos[0]
	if !protocol.ValidID(peer) {
		return exitError, usageError{fmt.Errorf("invalid peer %q: use letters, digits, _ and -", peer)}
	}
	callType, err := parseCallType(*typ)
	if err != nil {
		return exitError, err
	}
	if err := errors.Join(nonNegative("hangup-after", *hangupAfter), nonNegative("cancel-after", *cancelAfter)); err != nil {
		return exitError, err
	}
	var att json.RawMessage
	if *attachment != "" {
		if !json.Valid([]byte(*attachment)) {
			return exitError, usageError{errors.New("--attachment is not valid JSON")}
		}
		att = json.RawMessage(*attachment)
	}

	f, sigCtx, release, err := startFollower(ctx, c, cfg, media, *asJSON)
	if err != nil {
		return exitError, err
	}
	defer release()
	reply, err := f.eng.Call(sigCtx, peer, callType, att)
	if err != nil {
		return exitError, callError(peer, err)
	}
	return f.follow(ctx, callPlan{
		channelID:   reply.ChannelID,
		cancelAfter: *cancelAfter,
		hangupAfter: *hangupAfter,
	})
}

// callError phrases a refused call for the one stderr line.
func callError(peer string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeNotFound:
			return fmt.Errorf("unknown peer %q: no such account", peer)
		case protocol.CodeCallBusy:
			return errors.New("this account is already in a call")
		}
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted before the call was placed")
	}
	return fmt.Errorf("call %s: %w", peer, err)
}

// nonNegative checks a duration flag.
func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return usageError{fmt.Errorf("--%s must not be negative", name)}
	}
	return nil
}
