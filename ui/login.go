package ui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
)

// loginForm asks for the server, account and token when the configuration
// lacks them.
type loginForm struct {
	fields []textinput.Model
	labels []string
	focus_ int
	busy   bool
	err    string
}

func newLoginForm(t *text, server, account string) *loginForm {
	f := &loginForm{}
	f.labels = []string{t.loginServer, t.loginAcct, t.loginToken}
	for i := range f.labels {
		in := textinput.New()
		in.Prompt = "" // the label is drawn by view, marked when focused
		in.CharLimit = 512
		in.Width = 40
		switch i {
		case 0:
			in.SetValue(server)
			in.Placeholder = "ws://127.0.0.1:7800"
		case 1:
			in.SetValue(account)
		case 2:
			in.EchoMode = textinput.EchoPassword
			in.EchoCharacter = '•'
		}
		f.fields = append(f.fields, in)
	}
	// Start where something is missing.
	switch {
	case server == "":
		f.focus_ = 0
	case account == "":
		f.focus_ = 1
	default:
		f.focus_ = 2
	}
	return f
}

func (f *loginForm) focus() tea.Cmd {
	for i := range f.fields {
		f.fields[i].Blur()
	}
	return f.fields[f.focus_].Focus()
}

func (f *loginForm) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.fields[f.focus_], cmd = f.fields[f.focus_].Update(msg)
	return cmd
}

func (m *Model) loginKey(msg tea.KeyMsg) tea.Cmd {
	f := m.login
	if f.busy {
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.esc):
		return tea.Quit
	case msg.Type == tea.KeyTab || msg.Type == tea.KeyDown:
		f.focus_ = (f.focus_ + 1) % len(f.fields)
		return f.focus()
	case msg.Type == tea.KeyShiftTab || msg.Type == tea.KeyUp:
		f.focus_ = (f.focus_ + len(f.fields) - 1) % len(f.fields)
		return f.focus()
	case msg.Type == tea.KeyEnter:
		server := strings.TrimSpace(f.fields[0].Value())
		account := strings.TrimSpace(f.fields[1].Value())
		token := f.fields[2].Value()
		if account == "" {
			f.focus_ = 1
			f.err = m.t.loginNoAcct
			return f.focus()
		}
		if !protocol.ValidID(account) {
			f.focus_ = 1
			f.err = fmtS(m.t.badAccount, account)
			return f.focus()
		}
		f.busy, f.err = true, ""
		login := m.cfg.login
		parent := m.cfg.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(parent, requestTimeout)
			defer cancel()
			eng, err := login(ctx, server, account, token)
			return loginDoneMsg{eng: eng, err: err}
		}
	}
	return f.update(msg)
}

func (m *Model) loginDone(msg loginDoneMsg) tea.Cmd {
	f := m.login
	if f == nil {
		if msg.eng != nil {
			_ = msg.eng.Close()
		}
		return nil
	}
	f.busy = false
	if msg.err != nil {
		f.err = termsafe.String(fmtS(m.t.loginFailed, m.errText(msg.err)))
		return nil
	}
	m.login = nil
	m.eng = msg.eng
	m.ownsEngine = true
	return m.startEngine()
}

func (f *loginForm) view(m *Model, w, h int) string {
	bw := min(w-4, 60)
	lines := []string{m.st.bold.Render(m.t.appName + " · " + m.t.loginTitle), ""}
	for i, in := range f.fields {
		label := "  " + cell(f.labels[i], 8) + " "
		if i == f.focus_ {
			label = m.st.bold.Render("› " + cell(f.labels[i], 8) + " ")
		} else {
			label = m.st.dim.Render(label)
		}
		lines = append(lines, label+in.View())
	}
	lines = append(lines, "")
	switch {
	case f.busy:
		lines = append(lines, m.st.dim.Render(m.t.loginBusy))
	case f.err != "":
		// Wrapped, not cut: the reason is the point.
		for _, l := range strings.Split(ansi.Wrap(f.err, bw-4, " "), "\n") {
			lines = append(lines, m.st.errText.Render(l))
		}
	default:
		lines = append(lines, "")
	}
	lines = append(lines, m.st.dim.Render(m.t.loginHint))
	for i, l := range lines {
		lines[i] = cell(l, bw)
	}
	box := m.st.box.Render(strings.Join(lines, "\n"))
	return block(centerBlock(strings.Split(box, "\n"), w, h), w, h)
}
