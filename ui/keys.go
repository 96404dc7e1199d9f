package ui

import "github.com/charmbracelet/bubbles/key"

// keyMap holds the bindings of the key list, with help texts in the
// UI language. Matching uses key.Matches so the help bar and the behaviour
// cannot drift apart.
type keyMap struct {
	up, down, filter, audio, video, enter, accept, reject, cancel key.Binding
	hangup, mute, camera, switchCam, switchType, log, tab, quit   key.Binding
	help                                                          key.Binding
	add, remove, dismiss, redial, next, submit, esc, ctrlC        key.Binding
	yes, no, agree                                                key.Binding
	escMain, quitNow, logScroll, logFilter, withdraw              key.Binding
}

func newKeyMap(t *text) keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		up:         b("↑/k", t.kUpDown, "up", "k"),
		down:       b("↓/j", t.kUpDown, "down", "j"),
		filter:     b("/", t.kFilter, "/"),
		audio:      b("a", t.kAudio, "a"),
		video:      b("v", t.kVideo, "v"),
		enter:      b("enter", t.kEnter, "enter"),
		accept:     b("y", t.kAccept, "y"),
		reject:     b("n", t.kReject, "n"),
		cancel:     b("c", t.kCancel, "c"),
		hangup:     b("h", t.kHangup, "h"),
		mute:       b("m", t.kMute, "m"),
		camera:     b("e", t.kCamera, "e"),
		switchCam:  b("w", t.kSwitchCam, "w"),
		switchType: b("s", t.kSwitch, "s"),
		log:        b("l", t.kLog, "l"),
		tab:        b("tab", t.kTab, "tab"),
		quit:       b("q", t.kQuit, "q"),
		help:       b("?", t.kHelp, "?"),
		add:        b("+", t.kAdd, "+"),
		remove:     b("-", t.kRemove, "-"),
		dismiss:    b("enter", t.kDismiss, "enter", "esc", " "),
		redial:     b("enter", t.kRedial, "enter"),
		next:       b("tab", t.kNext, "tab", "down", "up", "shift+tab"),
		submit:     b("enter", t.kSubmit, "enter"),
		esc:        b("esc", t.kEsc, "esc"),
		ctrlC:      key.NewBinding(key.WithKeys("ctrl+c")),
		yes:        b("y", t.kYes, "y"),
		no:         b("n", t.kNo, "n", "esc"),
		agree:      b("y", t.kAgree, "y"),
		escMain:    b("esc", t.kEscMain, "esc"),
		quitNow:    b("ctrl+c", t.kCtrlC, "ctrl+c"),
		logScroll:  b("pgup/pgdn", t.kLogScroll, "pgup", "pgdown", "home", "end"),
		logFilter:  b("f", t.kLogFilter, "f"),
		withdraw:   b("s", t.kWithdraw, "s"),
	}
}

// upDown is ↑/↓ shown as one help item.
func (k keyMap) upDown() key.Binding {
	return key.NewBinding(key.WithKeys("up", "down", "j", "k"), key.WithHelp("↑/↓", k.up.Help().Desc))
}
