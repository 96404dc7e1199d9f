// Package bots runs the server's built-in demo and test accounts. Each bot
// is an ordinary account driven by a call.Engine that logs in to the
// server's own WebSocket URL with its own token, so bots use exactly the
// protocol and media path of any client:
//
//   - echo (回声测试): answers every call and sends the caller's own audio
//     and video back after EchoDelay (call.MediaConfig.Loopback); hangs up
//     after EchoMaxDuration.
//   - reject (拒接演示): rejects every call after a second of ringing →
//     对方已拒绝.
//   - busy (忙线演示): always in a call (with the hidden account
//     busy-line), so the server answers every call with USER_BUSY → 对方忙线.
//   - noanswer (无人接听演示): lets every call ring until the caller's ring
//     timeout → 未接听.
//   - hangup (接通后挂断演示): answers, echoes like echo, and hangs up after
//     HangupAfter → 已完成.
//   - outcomes (结果演示): one account for scripts; the call attachment
//     {"outcome":"reject|noanswer|hangup|echo","after":"3s"} picks the
//     behaviour (default hangup). It cannot be busy: busy is decided by the
//     server from the account's call, not by the callee.
//
// One account has one call at a time (the protocol's busy rule), so a
// second caller of echo while it echoes someone gets 对方忙线.
package bots

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// Bot names (their account ids).
const (
	Echo     = "echo"
	Reject   = "reject"
	Busy     = "busy"
	NoAnswer = "noanswer"
	Hangup   = "hangup"
	Outcomes = "outcomes"
	// BusyLine is the hidden account the busy bot stays in a call with. It
	// runs whenever busy does.
	BusyLine = "busy-line"
)

// All lists the bots a user can call, in the order a contact list shows
// them.
var All = []string{Echo, Reject, Busy, NoAnswer, Hangup, Outcomes}

// Defaults.
const (
	DefaultEchoDelay       = time.Second
	DefaultEchoMaxDuration = 10 * time.Minute
	DefaultHangupAfter     = 3 * time.Second
	// ringPause is how long a bot lets a call ring before acting, so the
	// caller sees the ringing state.
	ringPause = time.Second
	// retryPause spaces the busy bot's attempts to get back into its call
	// and logins that failed.
	retryPause = time.Second
	// actionTimeout bounds one request a bot makes.
	actionTimeout = 10 * time.Second
)

// Config selects and tunes the bots. The zero value (with Enabled) runs all
// of them with the defaults.
type Config struct {
	Enabled bool
	// Names lists the bots to run (see All); empty means all.
	Names []string
	// EchoDelay is how late echo (and hangup) send media back; default 1 s.
	EchoDelay time.Duration
	// EchoMaxDuration ends an echo call; default 10 min.
	EchoMaxDuration time.Duration
	// HangupAfter is how long hangup keeps a call; default 3 s.
	HangupAfter time.Duration
	// Language of the bots' nicknames: "zh" (default) or "en".
	Language string
}

// Validate checks the bot names and durations.
func (c Config) Validate() error {
	for _, n := range c.Names {
		if !slices.Contains(All, n) {
			return fmt.Errorf("bots: unknown bot %q (known: %s)", n, strings.Join(All, ", "))
		}
	}
	if c.EchoDelay < 0 || c.EchoDelay > 10*time.Second {
		return fmt.Errorf("bots: echo delay %v: must be between 0 (default 1s) and 10s", c.EchoDelay)
	}
	if c.EchoMaxDuration < 0 || c.HangupAfter < 0 {
		return errors.New("bots: durations must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if len(c.Names) == 0 {
		c.Names = All
	}
	if c.EchoDelay <= 0 {
		c.EchoDelay = DefaultEchoDelay
	}
	if c.EchoMaxDuration <= 0 {
		c.EchoMaxDuration = DefaultEchoMaxDuration
	}
	if c.HangupAfter <= 0 {
		c.HangupAfter = DefaultHangupAfter
	}
	return c
}

// Nick returns a bot's nickname in lang ("zh" or "en").
func Nick(name, lang string) string {
	n, ok := nicks[name]
	if !ok {
		return name
	}
	if strings.HasPrefix(lang, "en") {
		return n[1]
	}
	return n[0]
}

var nicks = map[string][2]string{
	Echo:     {"回声测试", "Echo test"},
	Reject:   {"拒接演示", "Rejects"},
	Busy:     {"忙线演示", "Always busy"},
	NoAnswer: {"无人接听演示", "Never answers"},
	Hangup:   {"接通后挂断演示", "Answers, hangs up after 3 s"},
	Outcomes: {"结果演示", "Outcomes (by attachment)"},
	BusyLine: {"忙线占位", "Busy line"},
}

// Accounts is what the bots need from the server: their accounts.
type Accounts interface {
	// EnsureAccount creates account with nick if it does not exist, and
	// makes token its token either way.
	EnsureAccount(ctx context.Context, account, nick, token string) error
}

// Deps are the server's parts the bots run on.
type Deps struct {
	URL      string      // the server's device WebSocket URL
	TLS      *tls.Config // for a wss:// URL; nil: the system's roots
	Accounts Accounts    // bot accounts are created there
	// Secret derives the bots' tokens (HMAC), so every node of a cluster
	// and every restart agree on them without storing them.
	Secret string
	NodeID string // part of each bot's device id
	Logger *slog.Logger
}

// Token is the token of bot account name under secret.
func Token(secret, name string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("softphone bot token\x00" + name))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Runner owns the running bots; Close stops them.
type Runner struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	bots   []*bot
}

// Start creates the bot accounts and starts the bots. Each bot logs in on
// its own goroutine (retrying until it succeeds or Close), so Start does not
// wait for the network.
func Start(ctx context.Context, cfg Config, d Deps) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	names := slices.Clone(cfg.Names)
	if slices.Contains(names, Busy) {
		names = append(names, BusyLine)
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &Runner{cancel: cancel}
	// Every account first, so a failure leaves no engine behind.
	for _, name := range names {
		if err := d.Accounts.EnsureAccount(ctx, name, Nick(name, cfg.Language), Token(d.Secret, name)); err != nil {
			cancel()
			return nil, fmt.Errorf("bots: account %s: %w", name, err)
		}
	}
	for _, name := range names {
		r.bots = append(r.bots, newBot(name, Token(d.Secret, name), cfg, d))
	}
	for _, b := range r.bots {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			b.run(rctx)
		}()
	}
	return r, nil
}

// Close hangs up the bots' calls, logs them out and waits for their
// goroutines.
func (r *Runner) Close() error {
	r.cancel()
	r.wg.Wait()
	var errs []error
	for _, b := range r.bots {
		if err := b.eng.Close(); err != nil {
			errs = append(errs, fmt.Errorf("bot %s: %w", b.name, err))
		}
	}
	return errors.Join(errs...)
}

// Names returns the accounts of the running bots (busy-line excluded).
func (r *Runner) Names() []string {
	var out []string
	for _, b := range r.bots {
		if b.name != BusyLine {
			out = append(out, b.name)
		}
	}
	return out
}

// bot is one account's engine and behaviour. Only its run goroutine
// touches the fields below eng.
type bot struct {
	name  string
	token string
	cfg   Config
	log   *slog.Logger
	eng   *call.Engine

	// One delayed action at a time: an account has one call at a time.
	timer   *time.Timer
	action  func(ctx context.Context)
	channel string // the call the pending action belongs to
}

func newBot(name, token string, cfg Config, d Deps) *bot {
	log := d.Logger.With("bot", name)
	var media *call.MediaConfig
	switch name {
	case Echo, Hangup, Outcomes:
		media = &call.MediaConfig{Loopback: cfg.EchoDelay, StatsInterval: -1}
	}
	eng := call.New(call.Config{
		Server:   d.URL,
		TLS:      d.TLS,
		Device:   "bot-" + name + "-" + d.NodeID,
		Language: cfg.Language,
		Logger:   log,
		Media:    media,
	})
	return &bot{name: name, token: token, cfg: cfg, log: log, eng: eng}
}

// run logs in (retrying) and handles the engine's events until ctx ends;
// then it hangs up a call in progress so its record is written.
func (b *bot) run(ctx context.Context) {
	b.timer = time.NewTimer(time.Hour)
	b.timer.Stop()
	defer b.timer.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, actionTimeout)
		err := b.eng.Login(lctx, b.name, b.token)
		cancel()
		if err == nil {
			break
		}
		b.log.Warn("bot login failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryPause):
		}
	}
	b.log.Info("bot ready")
	if b.name == Busy {
		b.schedule(0, b.occupy)
	}
	events := b.eng.Events()
	for {
		select {
		case <-ctx.Done():
			b.finish()
			return
		case <-b.timer.C:
			if a := b.action; a != nil {
				b.action = nil
				a(ctx)
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			b.handle(ctx, ev)
		}
	}
}

// finish ends a call in progress on shutdown (the engine's Close would only
// drop the connection, leaving the peer to the server's reconnect grace).
func (b *bot) finish() {
	if b.eng.State() == protocol.StateIdle {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.eng.Hangup(ctx); err != nil {
		b.log.Debug("hang up on shutdown", "err", err)
	}
}

func (b *bot) schedule(after time.Duration, a func(ctx context.Context)) {
	b.timer.Stop()
	b.action = a
	b.timer.Reset(after)
}

func (b *bot) unschedule() {
	b.timer.Stop()
	b.action = nil
}

func (b *bot) handle(ctx context.Context, ev call.Event) {
	switch ev.Name {
	case protocol.EvInvited:
		inv, ok := ev.Data.(protocol.Invite)
		if !ok {
			return
		}
		b.invited(inv)
	case protocol.EvCallTypeChange:
		// Agree to a caller's audio → video request: echo shows the picture.
		if ch, ok := ev.Data.(protocol.CallTypeChange); ok && ch.State == protocol.SwitchInvite && ch.CallType == protocol.CallVideo && ch.UserID != b.name {
			b.do(ctx, "agree to video", func(ctx context.Context) error {
				return b.eng.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchAgree)
			})
		}
	case protocol.EvUserAccept:
		if b.name == Busy {
			b.log.Info("busy bot is in its call")
		}
	}
	if b.eng.State() == protocol.StateIdle && ev.Name != protocol.EvInvited && ev.Name != protocol.EvPresence && ev.Name != call.EvStats {
		// The call ended (or never started): drop its pending action.
		if b.channel != "" {
			b.channel = ""
			b.unschedule()
		}
		if b.name == Busy && b.action == nil {
			b.schedule(retryPause, b.occupy)
		}
	}
}

// outcome is what a bot does with an invitation.
type outcome struct {
	kind  string // reject, noanswer, hangup, echo
	after time.Duration
}

func (b *bot) outcomeOf(inv protocol.Invite) outcome {
	switch b.name {
	case Echo:
		return outcome{kind: "echo", after: b.cfg.EchoMaxDuration}
	case Reject:
		return outcome{kind: "reject"}
	case NoAnswer:
		return outcome{kind: "noanswer"}
	case Hangup:
		return outcome{kind: "hangup", after: b.cfg.HangupAfter}
	case Busy:
		return outcome{kind: "reject"} // only between two attempts to be busy
	case BusyLine:
		if inv.From == Busy {
			return outcome{kind: "echo"}
		}
		return outcome{kind: "reject"}
	}
	// outcomes: the attachment decides.
	o := outcome{kind: "hangup", after: b.cfg.HangupAfter}
	var a struct {
		Outcome string `json:"outcome"`
		After   string `json:"after"`
	}
	if len(inv.Attachment) > 0 && json.Unmarshal(inv.Attachment, &a) == nil {
		switch a.Outcome {
		case "reject", "noanswer", "hangup", "echo":
			o.kind = a.Outcome
			if o.kind == "echo" {
				o.after = b.cfg.EchoMaxDuration
			}
		}
		if d, err := time.ParseDuration(a.After); err == nil && d > 0 && d <= b.cfg.EchoMaxDuration {
			o.after = d
		}
	}
	return o
}

func (b *bot) invited(inv protocol.Invite) {
	o := b.outcomeOf(inv)
	b.log.Info("invited", "from", inv.From, "channel", inv.ChannelID, "outcome", o.kind)
	b.channel = inv.ChannelID
	pause := ringPause
	if b.name == BusyLine {
		pause = 0
	}
	switch o.kind {
	case "noanswer":
		b.unschedule() // the server's ring timeout ends it
	case "reject":
		b.schedule(pause, func(ctx context.Context) {
			b.do(ctx, "reject", func(ctx context.Context) error { return b.eng.Reject(ctx, &inv) })
		})
	default: // echo, hangup: answer, then hang up after o.after
		b.schedule(pause, func(ctx context.Context) {
			if !b.do(ctx, "accept", func(ctx context.Context) error { return b.eng.Accept(ctx, &inv) }) {
				return
			}
			if o.after > 0 {
				b.schedule(o.after, func(ctx context.Context) {
					b.do(ctx, "hang up", b.eng.Hangup)
				})
			}
		})
	}
}

// occupy is the busy bot's call to busy-line, which keeps its account in a
// call so the server answers other callers with busy.
func (b *bot) occupy(ctx context.Context) {
	if b.eng.State() != protocol.StateIdle {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	cr, err := b.eng.Call(rctx, BusyLine, protocol.CallAudio, nil)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Debug("busy bot could not start its call; retrying", "err", err)
			b.schedule(retryPause, b.occupy)
		}
		return
	}
	b.channel = cr.ChannelID
}

// do runs one request with a timeout and logs a failure; it reports
// success.
func (b *bot) do(ctx context.Context, what string, f func(context.Context) error) bool {
	rctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := f(rctx); err != nil {
		if ctx.Err() == nil {
			b.log.Info("bot action failed", "action", what, "err", err)
		}
		return false
	}
	return true
}
