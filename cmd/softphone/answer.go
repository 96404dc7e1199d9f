package main

import (
	"context"
	"errors"
	"fmt"
)

// Answer actions.
const (
	actionAccept = "accept"
	actionReject = "reject"
	actionIgnore = "ignore" // let it ring until the caller cancels or it times out
)

// runAnswer waits for calls and answers them the same way; it exits with the
// outcome of the last one.
func runAnswer(ctx context.Context, c *cli, args []string) (int, error) {
	cf := newCommandFlags(c, "answer", synopsisOf("answer"))
	cf.identity()
	action := cf.fs.String("action", actionAccept, "what to do with an invite: accept, reject or ignore")
	after := cf.fs.Duration("after", 0, "wait this long after the invite before accepting or rejecting")
	hangupAfter := cf.fs.Duration("hangup-after", 0, "hang up this long after accepting (default: wait for the caller to hang up)")
	count := cf.fs.Int("count", 1, "handle this many calls, then exit with the status of the last (0 = until interrupted)")
	asJSON := cf.fs.Bool("json", false, "print each event as one JSON object per line")
	media := addMediaFlags(cf.fs)
	cfg, pos, err := cf.load(args, c.getenv)
	if err != nil {
		return exitError, err
	}
	if len(pos) != 0 {
		return exitError, usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	switch *action {
	case actionAccept, actionReject, actionIgnore:
	default:
		return exitError, usageError{fmt.Errorf("--action %q: want accept, reject or ignore", *action)}
	}
	if err := errors.Join(nonNegative("after", *after), nonNegative("hangup-after", *hangupAfter)); err != nil {
		return exitError, err
	}
	if *count < 0 {
		return exitError, usageError{errors.New("--count must not be negative")}
	}

	f, sigCtx, release, err := startFollower(ctx, c, cfg, media, *asJSON)
	if err != nil {
		return exitError, err
	}
	defer release()
	eng := f.eng
	status := exitInterrupted
	for handled := 0; *count == 0 || handled < *count; handled++ {
		inv, err := f.waitInvite(ctx)
		if errors.Is(err, errInterrupted) {
			return status, nil
		}
		if err != nil {
			return exitError, err
		}
		plan := callPlan{channelID: inv.ChannelID, actAfter: *after, hangupAfter: *hangupAfter}
		switch *action {
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
