// Package chromium runs a headless Chromium and drives its pages over the
// DevTools protocol (a JSON-RPC WebSocket): enough to open the web client in
// isolated browser contexts, evaluate JavaScript and read the console. The
// browser tests and `softphone bench browser` use it with Debian's chromium
// and its fake camera and microphone.
package chromium

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrNotFound: no Chromium binary on this machine.
var ErrNotFound = errors.New("chromium not found (apt-get install chromium)")

// Find returns the Chromium binary: $SOFTPHONE_CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome on PATH.
func Find() (string, error) {
	if p := os.Getenv("SOFTPHONE_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Options configure Launch.
type Options struct {
	// Path of the binary; default Find().
	Path string
	// ExtraArgs are appended to the default switches (e.g. a certificate
	// pin for a test CA).
	ExtraArgs []string
	// Logger receives the browser's stderr lines at debug level.
	Logger *slog.Logger
	// StartTimeout bounds the wait for the DevTools endpoint; default 30 s.
	StartTimeout time.Duration
}

// DefaultArgs are the switches every launch uses: headless without a
// sandbox or GPU (the machines run as root without one), no background
// traffic to Google, fake camera and microphone granted without a prompt,
// media that plays without a user gesture, loopback addresses in ICE (a
// machine may have no other interface) and plain IP candidates instead of
// mDNS names, which the softphone engine does not resolve.
var DefaultArgs = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-default-apps",
	"--disable-extensions",
	"--mute-audio",
	"--use-fake-device-for-media-stream",
	"--use-fake-ui-for-media-stream",
	"--autoplay-policy=no-user-gesture-required",
	"--allow-loopback-in-peer-connection",
	"--disable-features=WebRtcHideLocalIpsWithMdns",
	"--remote-debugging-port=0",
}

// Browser is one Chromium process and its DevTools connection.
type Browser struct {
	cmd  *exec.Cmd
	dir  string
	ws   *websocket.Conn
	log  *slog.Logger
	wmu  sync.Mutex
	done chan struct{} // closed when the read loop ends
	wait chan error    // the process's exit

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan reply
	pages   map[string]*Page // by session id
	err     error
}

type reply struct {
	Result json.RawMessage
	Err    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	}
}

// Launch starts Chromium with a fresh profile directory and connects to it.
func Launch(ctx context.Context, o Options) (*Browser, error) {
	if o.Path == "" {
		p, err := Find()
		if err != nil {
			return nil, err
		}
		o.Path = p
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	dir, err := os.MkdirTemp("", "softphone-chromium-")
	if err != nil {
		return nil, fmt.Errorf("chromium profile dir: %w", err)
	}
	args := append([]string{"--user-data-dir=" + dir}, DefaultArgs...)
	args = append(args, o.ExtraArgs...)
	args = append(args, "about:blank")
	cmd := exec.Command(o.Path, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", o.Path, err)
	}
	b := &Browser{cmd: cmd, dir: dir, log: o.Logger, done: make(chan struct{}), wait: make(chan error, 1),
		pending: map[int64]chan reply{}, pages: map[string]*Page{}}
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				select {
				case endpoint <- strings.TrimSpace(u):
				default:
				}
			}
			b.log.Debug("chromium", "line", line)
		}
	}()
	go func() { b.wait <- cmd.Wait() }()

	startCtx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	var url string
	select {
	case url = <-endpoint:
	case err := <-b.wait:
		b.wait <- err
		b.kill()
		return nil, fmt.Errorf("chromium exited before its DevTools endpoint was up: %v", err)
	case <-startCtx.Done():
		b.kill()
		return nil, fmt.Errorf("chromium: no DevTools endpoint within %v", o.StartTimeout)
	}
	d := websocket.Dialer{HandshakeTimeout: o.StartTimeout}
	ws, resp, err := d.DialContext(startCtx, url, nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		b.kill()
		return nil, fmt.Errorf("chromium devtools %s: %w", url, err)
	}
	ws.SetReadLimit(64 << 20)
	b.ws = ws
	go b.readLoop()
	return b, nil
}

// kill ends the process and removes the profile (a failed launch).
func (b *Browser) kill() {
	_ = b.cmd.Process.Kill()
	<-b.wait
	_ = os.RemoveAll(b.dir)
}

// Close ends every page and the browser, and removes the profile.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = b.call(ctx, "", "Browser.close", nil)
	select {
	case <-b.wait:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.wait
	}
	if b.ws != nil {
		_ = b.ws.Close()
		<-b.done
	}
	return os.RemoveAll(b.dir)
}

func (b *Browser) readLoop() {
	defer close(b.done)
	for {
		_, data, err := b.ws.ReadMessage()
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("devtools connection: %w", err)
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m struct {
			ID        int64           `json:"id"`
			Method    string          `json:"method"`
			Params    json.RawMessage `json:"params"`
			SessionID string          `json:"sessionId"`
			Result    json.RawMessage `json:"result"`
			Error     json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				r := reply{Result: m.Result}
				if len(m.Error) > 0 {
					_ = json.Unmarshal(m.Error, &r.Err)
				}
				ch <- r
			}
			continue
		}
		b.mu.Lock()
		p := b.pages[m.SessionID]
		b.mu.Unlock()
		if p != nil {
			p.event(m.Method, m.Params)
		}
	}
}

// call sends one DevTools command (to a page's session when session is
// set) and waits for its result.
func (b *Browser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return nil, err
	}
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b.wmu.Lock()
	err := b.ws.WriteJSON(msg)
	b.wmu.Unlock()
	if err != nil {
		b.forget(id)
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: browser connection closed", method)
		}
		if r.Err != nil {
			return nil, fmt.Errorf("%s: %s %s", method, r.Err.Message, r.Err.Data)
		}
		return r.Result, nil
	case <-ctx.Done():
		b.forget(id)
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (b *Browser) forget(id int64) {
	b.mu.Lock()
	delete(b.pending, id)
	b.mu.Unlock()
}

// Page is one tab in a browser context of its own (separate cookies and
// storage, like a fresh profile).
type Page struct {
	b         *Browser
	session   string
	target    string
	contextID string

	mu      sync.Mutex
	console []string
	notify  chan struct{}
	closed  bool
}

// NewPage opens about:blank in a new browser context.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	var bc struct {
		BrowserContextID string `json:"browserContextId"`
	}
	if err := b.decode(ctx, "", "Target.createBrowserContext", map[string]any{"disposeOnDetach": true}, &bc); err != nil {
		return nil, err
	}
	var tg struct {
		TargetID string `json:"targetId"`
	}
	if err := b.decode(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank", "browserContextId": bc.BrowserContextID}, &tg); err != nil {
		return nil, err
	}
	var at struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.decode(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tg.TargetID, "flatten": true}, &at); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: at.SessionID, target: tg.TargetID, contextID: bc.BrowserContextID, notify: make(chan struct{}, 1)}
	b.mu.Lock()
	b.pages[p.session] = p
	b.mu.Unlock()
	for _, m := range []string{"Runtime.enable", "Page.enable"} {
		if _, err := b.call(ctx, p.session, m, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (b *Browser) decode(ctx context.Context, session, method string, params, out any) error {
	raw, err := b.call(ctx, session, method, params)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s result: %w", method, err)
	}
	return nil
}

// event keeps console output and uncaught exceptions of the page.
func (p *Page) event(method string, params json.RawMessage) {
	var line string
	switch method {
	case "Runtime.consoleAPICalled":
		var ev struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(params, &ev) != nil {
			return
		}
		parts := []string{ev.Type + ":"}
		for _, a := range ev.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		var ev struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		if json.Unmarshal(params, &ev) != nil {
			return
		}
		line = "exception: " + ev.Details.Text + " " + ev.Details.Exception.Description
	default:
		return
	}
	p.mu.Lock()
	p.console = append(p.console, line)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// Console returns the console lines and exceptions seen so far.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Navigate loads url and waits until the document has loaded.
func (p *Page) Navigate(ctx context.Context, url string) error {
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.decode(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigate %s: %s", url, nav.ErrorText)
	}
	return p.WaitFor(ctx, `document.readyState === "complete"`)
}

// Eval evaluates a JavaScript expression, awaiting it when it is a
// promise, and decodes its JSON value into out (which may be nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	params := map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}
	if dl, ok := ctx.Deadline(); ok {
		params["timeout"] = max(1, time.Until(dl).Milliseconds())
	}
	if err := p.b.decode(ctx, p.session, "Runtime.evaluate", params, &r); err != nil {
		return err
	}
	if d := r.ExceptionDetails; d != nil {
		msg := d.Exception.Description
		if msg == "" {
			msg = d.Text
		}
		return fmt.Errorf("javascript: %s", msg)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// WaitFor polls a JavaScript condition until it is true or ctx ends.
func (p *Page) WaitFor(ctx context.Context, cond string) error {
	for {
		var ok bool
		err := p.Eval(ctx, "!!("+cond+")", &ok)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %v)", cond, ctx.Err(), err)
			}
			return fmt.Errorf("waiting for %s: %w", cond, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close closes the tab and its browser context.
func (p *Page) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target})
	_, _ = p.b.call(ctx, "", "Target.disposeBrowserContext", map[string]any{"browserContextId": p.contextID})
	p.b.mu.Lock()
	delete(p.b.pages, p.session)
	p.b.mu.Unlock()
	return err
}

// SPKIPin is the value of Chromium's --ignore-certificate-errors-spki-list
// for a certificate's public key: base64 of the SHA-256 of its
// SubjectPublicKeyInfo. It trusts that one key, not every certificate.
func SPKIPin(spkiSHA256 []byte) string {
	return "--ignore-certificate-errors-spki-list=" + base64.StdEncoding.EncodeToString(spkiSHA256)
}

// ProfileDir is the browser's temporary profile directory.
func (b *Browser) ProfileDir() string { return b.dir }

// PID is the browser process id.
func (b *Browser) PID() int { return b.cmd.Process.Pid }

// Quote returns s as a JavaScript string literal.
func Quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
