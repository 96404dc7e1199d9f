package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// Answer actions.
const (
	actionAccept = "accept"
	actionReject = "reject"
	actionIgnore = "ignore" // let it ring until the caller cancels or it times out
)

func newAnswerCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "answer",
		Short: "Wait for calls headless and accept, reject or ignore them",
		Long: `Log in, wait for incoming calls and answer each the same way; print the
calls' events (every event as one JSON object per line with --json) and exit
with the outcome of the last call, as call does. Ctrl+C hangs up a call in
progress, or ends the wait (exit 130).`,
		Example: `  softphone answer --account bob --token TOKEN                # accept one call
  softphone answer --action reject --count 0                  # reject every call
  softphone answer --after 2s --hangup-after 10s --record rec/`,
		Args:    noArgs,
		GroupID: groupCalls,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.identity()
	o := answerOptions{}
	fs.StringVar(&o.action, "action", actionAccept, "what to do with an invite: accept, reject or ignore")
	fs.DurationVar(&o.after, "after", 0, "wait this long after the invite before accepting or rejecting")
	fs.DurationVar(&o.hangupAfter, "hangup-after", 0, "hang up this long after accepting (default: wait for the caller to hang up)")
	fs.IntVar(&o.count, "count", 1, "handle this many calls, then exit with the status of the last (0 = until interrupted)")
	fs.BoolVar(&o.json, "json", false, "print each event as one JSON object per line")
	media := addMediaFlags(fs)
	completeWords(fs, "action", actionAccept, actionReject, actionIgnore)
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) {
		cfg, err := cf.load(c.getenv)
		if err != nil {
			return exitError, err
		}
		return runAnswer(ctx, c, cfg, media, o)
	})
	return cmd
}

// answerWhat says what answer will do with each call.
func answerWhat(o answerOptions) string {
	var what string
	switch {
	case o.count == 0:
		what = o.action + " every call"
	case o.count == 1:
		what = o.action + " one call"
	default:
		what = fmt.Sprintf("%s %d calls", o.action, o.count)
	}
	if o.action != actionIgnore && o.after > 0 {
		what += " after " + o.after.String()
	}
	return what
}

// answerOptions are answer's own flags.
type answerOptions struct {
	action             string
	after, hangupAfter time.Duration
	count              int
	json               bool
}

// runAnswer waits for calls and answers them the same way; it exits with the
// outcome of the last one.
func runAnswer(ctx context.Context, c *cli, cfg *Config, media *mediaFlags, o answerOptions) (int, error) {
	switch o.action {
	case actionAccept, actionReject, actionIgnore:
	default:
		return exitError, usageError{fmt.Errorf("--action %q: want accept, reject or ignore", o.action)}
	}
	if err := errors.Join(nonNegative("after", o.after), nonNegative("hangup-after", o.hangupAfter)); err != nil {
		return exitError, err
	}
	if o.count < 0 {
		return exitError, usageError{errors.New("--count must not be negative")}
	}

	f, sigCtx, release, err := startFollower(ctx, c, cfg, media, o.json)
	if err != nil {
		return exitError, err
	}
	defer release()
	eng := f.eng
	f.out.note("waiting for calls as %s (%s); Ctrl+C to stop", eng.Account(), answerWhat(o))
	status := exitInterrupted
	for handled := 0; o.count == 0 || handled < o.count; handled++ {
		inv, err := f.waitInvite(ctx)
		if errors.Is(err, errInterrupted) {
			return status, nil
		}
		if err != nil {
			return exitError, err
		}
		plan := callPlan{channelID: inv.ChannelID, actAfter: o.after, hangupAfter: o.hangupAfter}
		switch o.action {
		case actionAccept:
			plan.act = func(ctx context.Context) error { return eng.Accept(ctx, &inv) }
		case actionReject:
			plan.act = func(ctx context.Context) error { return eng.Reject(ctx, &inv) }
		}
		if status, err = f.follow(ctx, plan); err != nil {
			return exitError, err
		}
		if sigCtx.Err() != nil {
			break // interrupted during this call: it is ended, so is the run
		}
	}
	return status, nil
}
