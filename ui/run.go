// Package ui is the softphone's terminal UI: contacts, call history, the
// incoming-call prompt, the calling and in-call screens (with the remote
// video drawn in half-block cells), an event log and a login form. It is a
// Bubble Tea program driven only by the call engine's API and events.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"

	"github.com/softphone/softphone/call"
)

// ErrNotTerminal is returned by Run when the input is not a terminal.
var ErrNotTerminal = errors.New("the terminal UI needs a terminal")

// Options configure Run.
type Options struct {
	// Engine is logged in already; nil shows the login form, which calls
	// Login.
	Engine *call.Engine
	Login  func(ctx context.Context, server, account, token string) (*call.Engine, error)
	// Server and Account prefill the login form.
	Server, Account string
	// Language is "zh" (default) or "en".
	Language string
	// Debug opens the event log pane from the start.
	Debug bool
	// Input and Output default to os.Stdin and os.Stdout.
	Input  io.Reader
	Output io.Writer
	// Getenv reads the environment (colour support); default os.Getenv.
	Getenv func(string) string
}

// Run shows the UI until the user quits or ctx ends. The terminal is
// restored on every way out (quit, signal, panic in the UI). An engine
// created through the login form is closed before Run returns; a given
// Engine stays open for the caller to close.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.Engine == nil && opts.Login == nil {
		return errors.New("ui: Options need an Engine or a Login function")
	}
	in, out := opts.Input, opts.Output
	if in == nil {
		in = os.Stdin
		if !term.IsTerminal(os.Stdin.Fd()) {
			return ErrNotTerminal
		}
	}
	if out == nil {
		out = os.Stdout
		if !term.IsTerminal(os.Stdout.Fd()) {
			return ErrNotTerminal
		}
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := modelConfig{
		ctx:         ctx,
		login:       opts.Login,
		server:      opts.Server,
		account:     opts.Account,
		lang:        opts.Language,
		debug:       opts.Debug,
		now:         time.Now,
		loc:         time.Local,
		renderer:    lipgloss.NewRenderer(out),
		newRenderer: videoRenderers(getenv),
		bell:        out,
	}
	if opts.Engine != nil {
		cfg.eng = opts.Engine
	}
	m := newModel(cfg)
	p := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(in),
		tea.WithOutput(out),
		tea.WithAltScreen(),
		tea.WithFPS(30),
	)
	defer func() {
		// A panic outside the program's own recovery: make sure the
		// terminal is usable before reporting it.
		if r := recover(); r != nil {
			_ = p.ReleaseTerminal()
			err = fmt.Errorf("ui: panic: %v", r)
		}
		if m.ownsEngine && m.eng != nil {
			if e, ok := m.eng.(*call.Engine); ok {
				_ = e.Close()
			}
		}
	}()
	_, err = p.Run()
	switch {
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil && !errors.Is(err, tea.ErrProgramPanic):
		return nil // interrupted from outside: a normal way to leave
	case err != nil:
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}
