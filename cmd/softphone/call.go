package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call/protocol"
)

func newCallCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "call PEER",
		Short: "Place one call headless and exit with its outcome",
		Long: `Place one call from the configured account to PEER, print what it is
waiting for and the call's events (presence changes left out; every event as
one JSON object per line with --json) and exit with the call's outcome:
0 completed, 12 canceled, 13 rejected, 14 no answer, 15 busy, 16 completed
but no media arrived, 1 error.`,
		Example: `  softphone call bob --account alice --token TOKEN --hangup-after 10s
  softphone call echo --type video --video-in testsrc --audio-in tone --json
  softphone call bob --cancel-after 3s; echo "exit $?"   # 12: canceled`,
		Args:    exactArgs(1, "exactly one PEER account to call"),
		GroupID: groupCalls,
		// PEER is an account, not a file.
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.identity()
	cf.bind("timeout", "callTimeout", "ring `TIMEOUT`, 1s–120s, enforced by the server (env SOFTPHONE_CALL_TIMEOUT)")
	o := callOptions{}
	fs.StringVar(&o.typ, "type", "audio", "call `TYPE`: audio or video")
	fs.DurationVar(&o.hangupAfter, "hangup-after", 0, "hang up this long after the callee answers (default: wait for the callee to hang up)")
	fs.DurationVar(&o.cancelAfter, "cancel-after", 0, "cancel the call if it is still ringing after this long")
	fs.StringVar(&o.attachment, "attachment", "", "`JSON` value handed to the callee with the invite")
	fs.BoolVar(&o.json, "json", false, "print each event as one JSON object per line")
	media := addMediaFlags(fs)
	completeWords(fs, "type", "audio", "video")
	cmd.RunE = c.action(func(ctx context.Context, pos []string) (int, error) {
		cfg, err := cf.load(c.getenv)
		if err != nil {
			return exitError, err
		}
		return runCall(ctx, c, cfg, media, pos[0], o)
	})
	return cmd
}

// callOptions are call's own flags.
type callOptions struct {
	typ                      string
	hangupAfter, cancelAfter time.Duration
	attachment               string
	json                     bool
}

// runCall places one call and exits with its outcome.
func runCall(ctx context.Context, c *cli, cfg *Config, media *mediaFlags, peer string, o callOptions) (int, error) {
	if !protocol.ValidID(peer) {
		return exitError, usageError{fmt.Errorf("invalid peer %q: use letters, digits, _ and -", peer)}
	}
	callType, err := parseCallType(o.typ)
	if err != nil {
		return exitError, err
	}
	if err := errors.Join(nonNegative("hangup-after", o.hangupAfter), nonNegative("cancel-after", o.cancelAfter)); err != nil {
		return exitError, err
	}
	var att json.RawMessage
	if o.attachment != "" {
		if !json.Valid([]byte(o.attachment)) {
			return exitError, usageError{errors.New("--attachment is not valid JSON")}
		}
		att = json.RawMessage(o.attachment)
	}

	f, sigCtx, release, err := startFollower(ctx, c, cfg, media, o.json)
	if err != nil {
		return exitError, err
	}
	defer release()
	f.out.note("calling %s …", peer)
	reply, err := f.eng.Call(sigCtx, peer, callType, att)
	if err != nil {
		return exitError, callError(peer, err)
	}
	ring := cfg.CallTimeout
	if reply.ExpiresAt > reply.CreatedAt && reply.CreatedAt > 0 {
		ring = time.Duration(reply.ExpiresAt-reply.CreatedAt) * time.Millisecond
	}
	if reply.CalleeOnline {
		f.out.note("ringing %s (channel %s); it rings up to %s", peer, reply.ChannelID, ring)
	} else {
		f.out.note("%s is offline (channel %s): the call waits up to %s for a device of %s to log in", peer, reply.ChannelID, ring, peer)
	}
	return f.follow(ctx, callPlan{
		channelID:   reply.ChannelID,
		cancelAfter: o.cancelAfter,
		hangupAfter: o.hangupAfter,
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
		// The engine's error already names the call ("call carol: …"):
		// say only who refused it and why.
		return fmt.Errorf("the server refused the call to %s: %s", peer, pe.Error())
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted before the call was placed")
	}
	return err
}

// nonNegative checks a duration flag.
func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return usageError{fmt.Errorf("--%s must not be negative", name)}
	}
	return nil
}
