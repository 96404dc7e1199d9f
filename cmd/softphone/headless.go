package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/call/trace"
	"github.com/softphone/softphone/internal/termsafe"
)

// How long the headless commands wait for things the server owes them.
const (
	// recordWait bounds the wait for a call's MESSAGE_SENT record after the
	// call ended (or after we acted to end it). On a NATS cluster the record
	// may wait out a stream leader election (up to ~9 s) and, if its writer
	// gave up, a sweeper's rewrite.
	recordWait = 20 * time.Second
	// settleWait is how long to keep reading for the call's ending event when
	// the record arrived first, so the output shows both.
	settleWait = time.Second
	// actionTimeout bounds one request we send on our own (cancel, hangup);
	// a cluster's server may retry it for up to ~9 s during a failover.
	actionTimeout = 10 * time.Second
	// actionRetry and actionGiveUp pace the retries of an operation the
	// server could not take (see follower.follow).
	actionRetry  = 500 * time.Millisecond
	actionGiveUp = time.Minute
)

// outcomeStatus maps a record status to the exit status: 0 for a completed
// call, 10 + status otherwise (12 canceled, 13 rejected, 14 no answer, 15 busy).
func outcomeStatus(status int) (int, error) {
	switch status {
	case protocol.StatusCompleted:
		return exitOK, nil
	case protocol.StatusCanceled, protocol.StatusRejected, protocol.StatusTimeout, protocol.StatusBusy:
		return 10 + status, nil
	}
	return exitError, fmt.Errorf("call record with unknown status %d", status)
}

// connect creates an engine for the configured identity and logs it in.
// Errors are phrased for the one stderr line: bad token, unreachable server.
func connect(ctx context.Context, c *cli, cfg *Config, media *call.MediaConfig) (*call.Engine, error) {
	if cfg.Account == "" {
		return nil, errors.New("no account: give --account, SOFTPHONE_ACCOUNT or account: in the config")
	}
	if cfg.CheckSum && cfg.IMToken == "" {
		return nil, fmt.Errorf("no token for %s: give --token, SOFTPHONE_TOKEN or imToken: in the config", cfg.Account)
	}
	logger := slog.New(slog.DiscardHandler)
	if cfg.Debug {
		logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tw, err := cfg.trace.open(cfg, media)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.clientTLS()
	if err != nil {
		return nil, err
	}
	checkSum := cfg.CheckSum
	eng := call.New(call.Config{
		Server:   cfg.Server,
		TLS:      tlsCfg,
		Device:   cfg.device,
		CheckSum: &checkSum,
		Language: cfg.Language,
		Logger:   logger,
		Media:    media,
		Trace:    tw,
	})
	if err := eng.Login(ctx, cfg.Account, cfg.IMToken); err != nil {
		_ = eng.Close()
		return nil, loginError(cfg, err)
	}
	if err := eng.SetCallTimeout(cfg.CallTimeout); err != nil {
		_ = eng.Close()
		return nil, fmt.Errorf("callTimeout: %w", err)
	}
	return eng, nil
}

func loginError(cfg *Config, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeUnauthorized:
			return phrased(fmt.Sprintf("login as %s refused: bad or expired token (%s)", cfg.Account, pe.Message), pe)
		case protocol.CodeForbidden:
			return phrased(fmt.Sprintf("login as %s refused: %s", cfg.Account, pe.Message), pe)
		case protocol.CodeNotFound:
			return phrased(fmt.Sprintf("login as %s refused: unknown account", cfg.Account), pe)
		}
		return fmt.Errorf("login as %s failed: %w", cfg.Account, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("login as %s interrupted", cfg.Account)
	}
	return err // the engine's error names the server and why it is unreachable
}

// phrasedError is an error said for the CLI's one line that still
// unwraps to its cause, so the TUI's login form can say it in its own
// language.
type phrasedError struct {
	msg   string
	cause error
}

func (e *phrasedError) Error() string { return e.msg }
func (e *phrasedError) Unwrap() error { return e.cause }

func phrased(msg string, cause error) error { return &phrasedError{msg, cause} }

// eventPrinter writes engine events: exactly the Event JSON, one per line,
// with --json; a short human line otherwise. prefix tags lines (the demo
// prints two parties into one stream).
type eventPrinter struct {
	w      io.Writer
	mu     *sync.Mutex // shared by printers writing to the same stream
	json   bool
	prefix string
	// stats collects the call's STATS for the quality line printed after
	// its record, as baresip and pjsua sum a call up when it ends.
	stats trace.Series
}

func (p *eventPrinter) print(ev call.Event) error {
	var line string
	if !p.json && quiet(ev.Name) {
		return nil
	}
	if !p.json {
		defer p.summarise(ev)
	}
	if p.json {
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode %s event: %w", ev.Name, err)
		}
		line = string(b)
	} else {
		line = ev.Time.Format("15:04:05.000") + " " + ev.Name
		if d := describe(ev); d != "" {
			line += "  " + d
		}
	}
	return p.line(line)
}

// summarise keeps the STATS of the call and, after its record, prints
// one line of min/avg/max: what a support ticket quotes.
func (p *eventPrinter) summarise(ev call.Event) {
	switch d := ev.Data.(type) {
	case call.CallStats:
		p.stats.Samples = append(p.stats.Samples, trace.TimedSample{Time: ev.Time, Sample: trace.Sample{
			Mos: d.Mos, RttMs: d.RttMs, LossPct: d.LossPct, RemoteLossPct: d.RemoteLossPct, JitterMs: d.JitterMs,
			SendKbps: d.SendKbps, RecvKbps: d.RecvKbps}})
	case call.RecordMessage:
		if len(p.stats.Samples) == 0 {
			return
		}
		q := trace.Summarize(p.stats)
		p.stats.Samples = nil
		rtt := "–"
		if q.RttMs.N > 0 {
			rtt = fmt.Sprintf("%.0f ms", q.RttMs.Avg)
		}
		p.note("quality over %d samples: mos %.2f avg, %.2f min · loss %.1f%% avg, %.1f%% max · remote loss %.1f%% avg, %.1f%% max · rtt %s avg · jitter %.1f ms avg",
			q.Samples, q.Mos.Avg, q.Mos.Min, q.LossPct.Avg, q.LossPct.Max, q.RemoteLossPct.Avg, q.RemoteLossPct.Max, rtt, q.JitterMs.Avg)
	}
}

// note prints what the command is doing between events ("calling bob …",
// "waiting for calls"), in the human output only: --json stays exactly one
// event object per line.
func (p *eventPrinter) note(format string, args ...any) {
	if !p.json {
		_ = p.line(time.Now().Format("15:04:05.000") + " " + fmt.Sprintf(format, args...))
	}
}

// line writes one line. Events carry what peers and the server sent
// (nicknames, attachments, errors): JSON lines get JSON escapes for
// anything a terminal would act on, human lines visible escapes.
func (p *eventPrinter) line(s string) error {
	if p.json {
		s = string(termsafe.JSON([]byte(s)))
	} else {
		s = termsafe.String(s)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, s)
	return err
}

// quiet events are left out of the human output: presence changes of
// contacts and the media negotiation relayed without a media session say
// nothing about the call a script follows. --json keeps them.
func quiet(name string) bool {
	return name == protocol.EvPresence || name == protocol.EvRelay
}

// describe summarises an event's data for the human output.
func describe(ev call.Event) string {
	switch d := ev.Data.(type) {
	case protocol.Invite:
		off := ""
		if d.Offline {
			off = " (delivered at login)"
		}
		return fmt.Sprintf("%s call from %s%s", d.CallType, d.From, off)
	case protocol.Peer:
		s := d.UserID
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
		return s
	case call.RecordMessage:
		return fmt.Sprintf("%s · status %d · %s %s → %s · %s", d.Text, d.Status, d.Type, d.From, d.To, recordDuration(d))
	case protocol.CallTypeChange:
		return fmt.Sprintf("%s %s by %s", d.CallType, d.State, d.UserID)
	case protocol.Presence:
		return d.Account + " " + d.Presence
	case call.DisconnectInfo:
		return d.Error
	case call.ReconnectInfo:
		return fmt.Sprintf("after %d attempts, state %s", d.Attempts, d.State)
	case call.CallStats:
		return describeStats(d)
	case call.Availability:
		return fmt.Sprintf("%s available=%t", d.UserID, d.Available)
	case call.MuteInfo:
		return fmt.Sprintf("%s mute=%t", d.UserID, d.Mute)
	case call.MediaWarning:
		return d.Kind + ": " + d.Error
	}
	return ""
}

// endsCall reports whether an event means the call on its channel is over
// for this device (the record follows).
func endsCall(name string) bool {
	switch name {
	case protocol.EvUserReject, protocol.EvUserBusy, protocol.EvCallingTimeout, protocol.EvUserCancel,
		protocol.EvCallEnd, protocol.EvOtherClientAccept, protocol.EvOtherClientReject:
		return true
	}
	return false
}

// callPlan says what a headless party does during one call. Durations of 0
// mean "never".
type callPlan struct {
	channelID string
	// act runs actAfter after the plan starts (answer: accept or reject);
	// nil for a caller and for `answer --action ignore`.
	act      func(ctx context.Context) error
	actAfter time.Duration
	// cancelAfter cancels the call if it is still ringing out by then.
	cancelAfter time.Duration
	// hangupAfter hangs up this long after the call is connected.
	hangupAfter time.Duration
}

// follower drives one engine through calls, printing every event.
type follower struct {
	eng    *call.Engine
	out    *eventPrinter
	events <-chan call.Event
	// signals is closed by the first SIGINT/SIGTERM; stopSignals then restores
	// the default handling, so a second Ctrl-C ends the process at once.
	signals     <-chan struct{}
	stopSignals func()
	// pending holds invites that arrived while another call was being
	// followed (its record not in yet); waitInvite hands them out first.
	pending []protocol.Invite
}

// startFollower is how `call` and `answer` begin: SIGINT/SIGTERM handling,
// an engine logged in with the command's media settings, and a follower
// printing its events. ctx is the signal-aware context for requests; release
// closes the engine and restores the signal handling.
func startFollower(ctx context.Context, c *cli, cfg *Config, media *mediaFlags, asJSON bool) (f *follower, sigCtx context.Context, release func(), err error) {
	mc := media.config(cfg)
	if err := checkSources(mc); err != nil {
		return nil, nil, nil, err
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	eng, err := connect(sigCtx, c, cfg, mc)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	f = &follower{
		eng:         eng,
		out:         &eventPrinter{w: c.stdout, mu: &sync.Mutex{}, json: asJSON},
		events:      eng.Events(),
		signals:     sigCtx.Done(),
		stopSignals: stop,
	}
	return f, sigCtx, func() { _ = eng.Close(); cfg.trace.close(); stop() }, nil
}

// errInterrupted is returned by waitInvite when a signal arrives first.
var errInterrupted = errors.New("interrupted")

// waitInvite prints events until an INVITED arrives and returns it.
func (f *follower) waitInvite(ctx context.Context) (protocol.Invite, error) {
	if len(f.pending) > 0 {
		inv := f.pending[0]
		f.pending = f.pending[1:]
		return inv, nil
	}
	for {
		select {
		case <-f.signals:
			return protocol.Invite{}, errInterrupted
		case <-ctx.Done():
			return protocol.Invite{}, ctx.Err()
		case ev, ok := <-f.events:
			if !ok {
				return protocol.Invite{}, errors.New("engine closed")
			}
			if err := f.handle(ev); err != nil {
				return protocol.Invite{}, err
			}
			if inv, ok := ev.Data.(protocol.Invite); ok && ev.Name == protocol.EvInvited {
				return inv, nil
			}
		}
	}
}

// handle prints an event and turns a disconnect the engine gave up on into
// an error.
func (f *follower) handle(ev call.Event) error {
	if err := f.out.print(ev); err != nil {
		return err
	}
	if d, ok := ev.Data.(call.DisconnectInfo); ok && !d.Reconnecting {
		return fmt.Errorf("signaling lost: %s", d.Error)
	}
	return nil
}

// follow runs one call to its end: it acts on the plan's timers and on a
// signal (cancel while ringing out, reject while ringing in, hang up in a
// call), and returns the exit status from the call's MESSAGE_SENT record.
//
// The call is over when both its record and an ending event are in: the
// record decides the status, and waiting for the ending event as well keeps
// the output complete whichever of the two the server delivers first.
func (f *follower) follow(ctx context.Context, plan callPlan) (int, error) {
	var (
		record  *call.RecordMessage
		ended   bool
		signals = f.signals
		actC    <-chan time.Time
		cancelC <-chan time.Time
		hangupC <-chan time.Time
		armed   bool             // hangup timer started
		recordC <-chan time.Time // no record by then is an error
		// elsewhere: another device of the account took the call; its
		// record comes when that call ends, however long it lasts.
		elsewhere bool
		settleC   <-chan time.Time // record in hand, ending event still missing
		noMedia   bool             // a MEDIA_WARNING said no media arrived
		// An operation that failed because the server could not be reached
		// (a reconnect, a cluster failover) is tried again until it takes
		// effect or actionGiveUp passes.
		retryOp func(context.Context) error
		retryC  <-chan time.Time
		giveUpC <-chan time.Time
		lastErr error
	)
	// status is the exit status for the record: a completed call that
	// carried no media is not a success.
	status := func() (int, error) {
		if record.Status == protocol.StatusCompleted && noMedia {
			return exitNoMedia, nil
		}
		return outcomeStatus(record.Status)
	}
	if plan.act != nil {
		actC = time.After(plan.actAfter)
	}
	if plan.cancelAfter > 0 {
		cancelC = time.After(plan.cancelAfter)
	}
	armHangup := func() {
		if !armed && plan.hangupAfter > 0 {
			armed = true
			hangupC = time.After(plan.hangupAfter)
		}
	}
	// act runs one of our own operations and notes what it did to the call.
	// A failure is not reported: the call is ending anyway then (the peer or
	// the server acted first), and the record decides the outcome.
	act := func(op func(context.Context) error) {
		before := f.eng.State()
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), actionTimeout)
		err := op(actx)
		cancel()
		if unreachable(err) && f.eng.State() == before {
			retryOp, retryC, lastErr = op, time.After(actionRetry), err
			if giveUpC == nil {
				giveUpC = time.After(actionGiveUp)
			}
			return
		}
		retryOp, retryC, giveUpC = nil, nil, nil
		switch {
		case err == nil && f.eng.State() == protocol.StateInCall:
			armHangup() // accepted
			return
		case err == nil && before == protocol.StateCalled:
			ended = true // rejected: the engine emits no event of its own for it
		case protocol.CodeOf(err) == protocol.CodeAlreadyAccepted && before == protocol.StateCalled:
			elsewhere = true // another device answered first
		}
		if recordC == nil && !elsewhere {
			recordC = time.After(recordWait)
		}
	}
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				return exitError, errors.New("engine closed during the call")
			}
			if err := f.handle(ev); err != nil {
				return exitError, err
			}
			if w, ok := ev.Data.(call.MediaWarning); ok && w.Kind == protocol.ProblemNoMedia {
				noMedia = true // media events carry no channel: they are the current call's
			}
			if ch := ev.ChannelID(); ch != plan.channelID {
				if inv, ok := ev.Data.(protocol.Invite); ok && ev.Name == protocol.EvInvited {
					f.pending = append(f.pending, inv)
				}
				continue
			}
			switch {
			case ev.Name == protocol.EvUserAccept:
				armHangup()
			case ev.Name == protocol.EvMessageSent:
				rm, ok := ev.Data.(call.RecordMessage)
				if !ok {
					return exitError, fmt.Errorf("MESSAGE_SENT with unexpected data %T", ev.Data)
				}
				record = &rm
				settleC = time.After(settleWait)
			case ev.Name == protocol.EvOtherClientAccept:
				ended, elsewhere, recordC = true, true, nil
			case endsCall(ev.Name):
				ended = true
				if recordC == nil && !elsewhere {
					recordC = time.After(recordWait)
				}
			}
		case <-actC:
			actC = nil
			act(plan.act)
		case <-cancelC:
			cancelC = nil
			if f.eng.State() == protocol.StateCalling {
				act(f.eng.Cancel)
			}
		case <-hangupC:
			hangupC = nil
			act(f.eng.Hangup)
		case <-signals:
			signals = nil
			f.stopSignals()
			actC = nil // an interrupted callee accepts nothing more
			act(f.eng.Hangup)
		case <-retryC:
			retryC = nil
			if retryOp != nil && f.eng.State() != protocol.StateIdle {
				act(retryOp)
			}
		case <-giveUpC:
			return exitError, fmt.Errorf("call %s: the server stayed unreachable for %s: %w", plan.channelID, actionGiveUp, lastErr)
		case <-settleC:
			return status()
		case <-recordC:
			return exitError, fmt.Errorf("call %s ended but no call record arrived within %s", plan.channelID, recordWait)
		case <-ctx.Done():
			return exitError, ctx.Err()
		}
		if ended && record != nil {
			return status()
		}
	}
}

// unreachable reports an operation that failed because the server could
// not take it now (connection lost, reconnecting, 503, no reply), as
// opposed to the server deciding against it.
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *protocol.Error
	return !errors.As(err, &pe) || pe.Code == protocol.CodeUnavailable
}

// parseCallType accepts audio/video (and NeCallKit's 1/2).
func parseCallType(s string) (protocol.CallType, error) {
	switch strings.ToLower(s) {
	case "audio", "1":
		return protocol.CallAudio, nil
	case "video", "2":
		return protocol.CallVideo, nil
	}
	return 0, usageError{fmt.Errorf("--type %q: want audio or video", s)}
}
