// Package webclient drives the shipped browser client (package web) in a
// Chromium page the way a user would — the login form, the contact list's
// buttons, the call controls — and reads back the NECallKit module's events
// and the page's text. The browser tests, the CLI's browser scripts and
// `softphone bench` use it.
package webclient

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/softphone/softphone/internal/chromium"
)

// Page is the web client open in one browser tab.
type Page struct {
	*chromium.Page
	Name    string        // for messages
	Timeout time.Duration // bound of every wait; default 20 s
}

// Open opens the client served at base (http(s)://host:port) with the
// query (e.g. "lang=en&relayOnly=1", or "") in a fresh browser context.
func Open(ctx context.Context, b *chromium.Browser, name, base, query string) (*Page, error) {
	p, err := b.NewPage(ctx)
	if err != nil {
		return nil, err
	}
	wp := &Page{Page: p, Name: name, Timeout: 20 * time.Second}
	url := strings.TrimSuffix(base, "/") + "/"
	if query != "" {
		url += "?" + query
	}
	if err := p.Navigate(ctx, url); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := wp.WaitFor(ctx, "window.softphoneApp"); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%s: the web client did not start: %w\n%s", name, err, strings.Join(p.Console(), "\n"))
	}
	return wp, nil
}

func (p *Page) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.Timeout <= 0 {
		p.Timeout = 20 * time.Second
	}
	return context.WithTimeout(ctx, p.Timeout)
}

// Eval evaluates expr within the page's timeout.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	if err := p.Page.Eval(ctx, expr, out); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// WaitFor waits for a JavaScript condition within the page's timeout.
func (p *Page) WaitFor(ctx context.Context, cond string) error {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	if err := p.Page.WaitFor(ctx, cond); err != nil {
		return fmt.Errorf("%s: %w\nevents:%s", p.Name, err, p.EventLog(context.Background()))
	}
	return nil
}

// Login fills in the login form (server empty: the page's own server) and
// submits it; from then on every kit event is recorded for WaitEvent.
func (p *Page) Login(ctx context.Context, server, account, token string) error {
	set := ""
	if server != "" {
		set = fmt.Sprintf("document.getElementById('server').value = %s;", chromium.Quote(server))
	}
	err := p.Eval(ctx, fmt.Sprintf(`(() => {
		%s
		document.getElementById('account').value = %s;
		document.getElementById('token').value = %s;
		document.getElementById('btn-login').click();
	})()`, set, chromium.Quote(account), chromium.Quote(token)), nil)
	if err != nil {
		return err
	}
	if err := p.WaitFor(ctx, `window.softphoneApp.kit || document.getElementById('login-error').textContent.includes(':')`); err != nil {
		return err
	}
	var failed string
	if err := p.Eval(ctx, `window.softphoneApp.kit ? '' : document.getElementById('login-error').textContent`, &failed); err != nil {
		return err
	}
	if failed != "" {
		return fmt.Errorf("%s: login failed: %s", p.Name, failed)
	}
	return p.Eval(ctx, `(() => {
		window.__events = [];
		window.softphoneApp.kit.on('*', (e) => window.__events.push({name: e.eventCode, data: e.data, at: Date.now()}));
	})()`, nil)
}

// Click clicks the element with id once it is visible and enabled.
func (p *Page) Click(ctx context.Context, id string) error {
	el := fmt.Sprintf("document.getElementById(%s)", chromium.Quote(id))
	if err := p.WaitFor(ctx, fmt.Sprintf(`((e) => e && !e.disabled && e.offsetParent !== null)(%s)`, el)); err != nil {
		return err
	}
	return p.Eval(ctx, el+".click()", nil)
}

// ClickContact clicks a contact's audio or video call button.
func (p *Page) ClickContact(ctx context.Context, account string, video bool) error {
	cls := "call-audio"
	if video {
		cls = "call-video"
	}
	sel := fmt.Sprintf(`document.querySelector('#contacts-list li[data-account=%s] .%s')`, chromium.Quote(account), cls)
	if err := p.WaitFor(ctx, fmt.Sprintf(`((e) => e && e.offsetParent !== null)(%s)`, sel)); err != nil {
		return err
	}
	return p.Eval(ctx, sel+".click()", nil)
}

// Text returns the text of the element with id ("" when there is none).
func (p *Page) Text(ctx context.Context, id string) (string, error) {
	var s string
	err := p.Eval(ctx, fmt.Sprintf(`((e) => e ? e.textContent : '')(document.getElementById(%s))`, chromium.Quote(id)), &s)
	return s, err
}

// Visible reports whether the element with id is shown.
func (p *Page) Visible(ctx context.Context, id string) (bool, error) {
	var v bool
	err := p.Eval(ctx, fmt.Sprintf(`((e) => !!e && e.offsetParent !== null && !e.hidden)(document.getElementById(%s))`, chromium.Quote(id)), &v)
	return v, err
}

// Event is one recorded kit event.
type Event struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data"`
	At   int64           `json:"at"` // when it was emitted, ms since the epoch
}

// WaitEvent waits for the first recorded event called name whose data
// satisfies the JavaScript predicate pred over d ("" for any) and returns it.
func (p *Page) WaitEvent(ctx context.Context, name, pred string) (Event, error) {
	if pred == "" {
		pred = "true"
	}
	find := fmt.Sprintf(`window.__events.find((e) => e.name === %s && ((d) => %s)(e.data))`, chromium.Quote(name), pred)
	if err := p.WaitFor(ctx, find); err != nil {
		return Event{}, err
	}
	var ev Event
	err := p.Eval(ctx, find, &ev)
	return ev, err
}

// ClearEvents forgets the events recorded so far.
func (p *Page) ClearEvents(ctx context.Context) error {
	return p.Eval(ctx, `window.__events = []`, nil)
}

// EventLog lists the recorded events but STATS, one per line.
func (p *Page) EventLog(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var evs []Event
	_ = p.Page.Eval(ctx, `window.__events || []`, &evs)
	var b strings.Builder
	for _, e := range evs {
		if e.Name != "STATS" {
			fmt.Fprintf(&b, "\n  %d %s %s", e.At, e.Name, e.Data)
		}
	}
	return b.String()
}

// Stats is the part of the client's STATS (read from the browser's
// getStats) the tests and the bench look at.
type Stats struct {
	AudioRecvKbps        float64 `json:"audioRecvKbps"`
	VideoRecvKbps        float64 `json:"videoRecvKbps"`
	AudioPacketsReceived int     `json:"audioPacketsReceived"`
	VideoFramesDecoded   int     `json:"videoFramesDecoded"`
	Width                int     `json:"width"`
	Height               int     `json:"height"`
	Fps                  float64 `json:"fps"`
	AudioCodec           string  `json:"audioCodec"`
	VideoCodec           string  `json:"videoCodec"`
	CandidateType        string  `json:"candidateType"`
	RemoteCandidateType  string  `json:"remoteCandidateType"`
	Mos                  float64 `json:"mos"`
}

// WaitStats waits for a STATS event whose data satisfies pred (JavaScript
// over d) and returns it.
func (p *Page) WaitStats(ctx context.Context, pred string) (Stats, error) {
	ev, err := p.WaitEvent(ctx, "STATS", pred)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	err = json.Unmarshal(ev.Data, &st)
	return st, err
}

// FirstAudioAt is the arrival time (ms since the epoch) of the peer's first
// audio packet of the current call, from AUDIO_AVAILABLE.
func (p *Page) FirstAudioAt(ctx context.Context) (float64, error) {
	ev, err := p.WaitEvent(ctx, "AUDIO_AVAILABLE", "d.available")
	if err != nil {
		return 0, err
	}
	var d struct {
		At float64 `json:"at"`
	}
	err = json.Unmarshal(ev.Data, &d)
	return d.At, err
}
