package ui

import (
	"context"
	"image"
	"io"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
)

// Timing of the UI.
const (
	requestTimeout = 10 * time.Second      // one engine request started by a key
	frameInterval  = 50 * time.Millisecond // in-call redraw: video ≤ 20 fps, meters
	clockInterval  = time.Second           // countdowns and call duration
	briefNotice    = 3 * time.Second       // how long a key's result stays in the notice line
	noticeLife     = 10 * time.Second      // how long other notices stay, unless newer state replaces them
	switchLife     = 30 * time.Second      // an unanswered request to switch to video is withdrawn then
	micSilentAfter = 3                     // clock ticks of a silent microphone before the hint shows
	logLines       = 500                   // event log entries kept
	recordsPage    = 100                   // history entries loaded at a time; more as the cursor reaches the end
	defaultRing    = protocol.DefaultCallTimeout
)

type tabID int

const (
	tabContacts tabID = iota
	tabHistory
)

// phase is where the current call is, as the UI shows it.
type phase int

const (
	phaseNone    phase = iota
	phaseCalling       // ringing out
	phaseOutcome       // the outgoing call ended without connecting; text until dismissed
	phaseInCall        // connected
)

// modelConfig is what a Model is built from; tests fix the clock, the
// time zone and the colour profile here.
type modelConfig struct {
	ctx      context.Context
	eng      engine // nil: login form
	login    func(ctx context.Context, server, account, token string) (*call.Engine, error)
	server   string
	account  string
	lang     string
	debug    bool
	now      func() time.Time
	loc      *time.Location
	renderer *lipgloss.Renderer
	// newRenderer makes a video renderer per pane.
	newRenderer func() frameRenderer
	bell        io.Writer
}

// Model is the root Bubble Tea model of the softphone.
type Model struct {
	cfg  modelConfig
	t    *text
	st   styles
	keys keyMap
	help help.Model
	eng  engine
	// ownsEngine: the engine came from the login form, so Run closes it.
	ownsEngine bool

	width, height int
	showHelp      bool

	connected   bool
	connNote    string // non-empty while the connection is down
	notice      string // last outcome / info line
	noticeErr   bool
	noticeUntil time.Time // the notice goes then (zero: brief notices, which time out themselves)

	// main screen
	tab      tabID
	contacts []protocol.Contact
	recent   map[string]int64 // peer → last call (unix ms)
	cursor   int
	hcursor  int
	// selAccount and selChannel are what the cursors point at: the lists
	// re-sort (recent first, newest record first) and the cursor follows.
	selAccount string
	selChannel string
	// selPinned and hselPinned: the user moved the cursor (or called from
	// it); until then it stays on the first row as the lists load.
	selPinned, hselPinned bool
	filter                textinput.Model
	filtering             bool
	adding                bool
	addInput              textinput.Model
	removing              string // contact awaiting y/n
	records               []call.RecordMessage
	recordsNext           string // cursor of the next older page of records ("" = none)
	recordsLoading        bool   // an older page is on its way

	// incoming invite prompt
	invite         *protocol.Invite
	inviteDeadline time.Time

	// the current call
	phase       phase
	peer        string
	peerNick    string // the nickname the invite carried (the peer may not be a contact)
	peerHungUp  bool   // the last call ended by the peer: the record's notice says so too
	callType    protocol.CallType
	channel     string
	lastChannel string
	deadline    time.Time
	calleeOff   bool
	// cancelWait: c was pressed before the server confirmed the call;
	// cancel as soon as it does.
	cancelWait bool
	outcome    string
	started    time.Time
	muted      bool
	camOff     bool
	peerMuted  bool
	peerCamOff bool
	stats      *call.CallStats
	switchReq  bool // the peer asks to switch to video
	switchWait bool // we asked
	switchAt   time.Time
	camWarned  bool   // a camera SwitchCamera tried did not open (a MEDIA_WARNING says why)
	briefText  string // the notice briefDoneMsg clears
	frameGen   int

	// in-call media, refreshed at most every frameInterval
	remoteSeq, localSeq uint64
	remoteImg, localImg *image.YCbCr
	remoteBlack         bool // the last remote picture is all black
	remoteView          string
	remoteKey           [2]int
	localView           string
	localKey            [2]int
	remoteR, localR     frameRenderer
	mic, speaker        float64
	levelsOK            bool
	micSilent           int // clock ticks the microphone has been silent

	// engMuted and engCamOff are what the UI last told the engine, which
	// keeps them for later calls; each call starts with both on again.
	engMuted, engCamOff bool

	logOpen      bool
	log          []logEntry
	logShowStats bool // STATS come every second in a call: hidden unless asked for
	logScroll    int  // lines scrolled up from the newest (0 follows new events)

	confirmQuit bool
	quitting    bool

	login *loginForm
}

type logEntry struct {
	at   time.Time
	name string
	data string
	// lines is the entry wrapped at width (the log redraws with every
	// video frame in a call).
	lines []string
	width int
}

// Messages.
type (
	// eventMsg is one engine event; pumped ones come from nextEvent, which
	// is re-armed after each (one reader keeps them in order).
	eventMsg struct {
		ev     call.Event
		pumped bool
	}
	eventsClosedMsg struct{}
	contactsMsg     struct {
		list   []protocol.Contact
		err    error
		op     string // "", "add", "remove"
		target string
	}
	recordsMsg struct {
		list []call.RecordMessage
		next string // cursor of the older records ("" = no more)
		more bool   // an older page, appended to the history
		err  error
	}
	callPlacedMsg struct {
		reply *protocol.CallReply
		err   error
	}
	acceptedMsg struct {
		inv protocol.Invite
		err error
	}
	actionMsg struct {
		op  string
		err error
	}
	clockMsg     time.Time
	frameMsg     struct{ gen int }
	hungUpMsg    struct{}
	loginDoneMsg struct {
		eng *call.Engine
		err error
	}
	// cameraSwitchedMsg is the result of SwitchCamera (w); briefDoneMsg
	// ends a brief notice unless another replaced it.
	cameraSwitchedMsg struct{ ok bool }
	briefDoneMsg      struct{ text string }
	// snapshotMsg asks for the current view (tests read screens through it
	// while the program runs).
	snapshotMsg struct{ ch chan<- string }
)

func newModel(cfg modelConfig) *Model {
	if cfg.ctx == nil {
		cfg.ctx = context.Background()
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.loc == nil {
		cfg.loc = time.Local
	}
	if cfg.renderer == nil {
		cfg.renderer = lipgloss.NewRenderer(io.Discard)
	}
	if cfg.bell == nil {
		cfg.bell = io.Discard
	}
	if cfg.newRenderer == nil {
		cfg.newRenderer = videoRenderers(func(string) string { return "" })
	}
	t := textFor(cfg.lang)
	m := &Model{
		cfg:       cfg,
		t:         t,
		st:        newStyles(cfg.renderer),
		keys:      newKeyMap(t),
		help:      help.New(),
		recent:    map[string]int64{},
		logOpen:   cfg.debug,
		connected: true,
		remoteR:   cfg.newRenderer(),
		localR:    cfg.newRenderer(),
	}
	m.help.Styles = m.st.help
	m.filter = textinput.New()
	m.filter.Prompt = t.filterPrompt
	m.addInput = textinput.New()
	m.addInput.Prompt = t.addPrompt
	m.addInput.Placeholder = t.addPlaceholder
	m.addInput.CharLimit = protocol.MaxIDLength
	if cfg.eng != nil {
		m.eng = cfg.eng
	} else {
		m.login = newLoginForm(t, cfg.server, cfg.account)
	}
	return m
}

// Init starts the event pump and loads contacts and history.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.clock()}
	if m.eng != nil {
		cmds = append(cmds, m.startEngine())
	} else {
		cmds = append(cmds, m.login.focus())
	}
	return tea.Batch(cmds...)
}

func (m *Model) startEngine() tea.Cmd {
	m.connected = m.eng.Connected()
	return tea.Batch(m.nextEvent(), m.loadContacts(), m.loadRecords())
}

func (m *Model) clock() tea.Cmd {
	return tea.Tick(clockInterval, func(t time.Time) tea.Msg { return clockMsg(t) })
}

func (m *Model) frameTick() tea.Cmd {
	gen := m.frameGen
	return tea.Tick(frameInterval, func(time.Time) tea.Msg { return frameMsg{gen} })
}

// nextEvent waits for one engine event; Update asks for the next after
// handling it, so events are shown in order.
func (m *Model) nextEvent() tea.Cmd {
	ch := m.eng.Events()
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		return eventMsg{ev: ev, pumped: true}
	}
}

// request runs fn with a bounded context off the UI goroutine.
func (m *Model) request(fn func(ctx context.Context) tea.Msg) tea.Cmd {
	parent := m.cfg.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, requestTimeout)
		defer cancel()
		return fn(ctx)
	}
}

func (m *Model) loadContacts() tea.Cmd {
	eng := m.eng
	return m.request(func(ctx context.Context) tea.Msg {
		list, err := eng.Contacts(ctx)
		return contactsMsg{list: list, err: err}
	})
}

func (m *Model) loadRecords() tea.Cmd {
	eng := m.eng
	return m.request(func(ctx context.Context) tea.Msg {
		page, err := eng.RecordsPage(ctx, "", "", recordsPage)
		return recordsMsg{list: page.Records, next: page.Next, err: err}
	})
}

// loadMoreRecords fetches the next older page of the history, once the
// cursor reaches the last record loaded.
func (m *Model) loadMoreRecords() tea.Cmd {
	if m.recordsNext == "" || m.recordsLoading || m.hcursor < len(m.records)-1 {
		return nil
	}
	m.recordsLoading = true
	eng, cursor := m.eng, m.recordsNext
	return m.request(func(ctx context.Context) tea.Msg {
		page, err := eng.RecordsPage(ctx, "", cursor, recordsPage)
		return recordsMsg{list: page.Records, next: page.Next, more: true, err: err}
	})
}

func (m *Model) action(op string, fn func(ctx context.Context, eng engine) error) tea.Cmd {
	eng := m.eng
	return m.request(func(ctx context.Context) tea.Msg {
		return actionMsg{op: op, err: fn(ctx, eng)}
	})
}

// placeCall starts an outgoing call and shows the calling screen at once.
func (m *Model) placeCall(peer string, ct protocol.CallType) tea.Cmd {
	if m.eng == nil || peer == "" || m.phase == phaseCalling || m.phase == phaseInCall || m.invite != nil {
		return nil
	}
	if !m.connected {
		m.setNotice(m.t.offlineCall, true)
		return nil
	}
	m.resetCall()
	m.peerHungUp = false
	m.clearNotice()
	m.phase = phaseCalling
	m.peer = peer
	m.callType = ct
	m.deadline = m.cfg.now().Add(defaultRing)
	eng := m.eng
	return m.request(func(ctx context.Context) tea.Msg {
		reply, err := eng.Call(ctx, peer, ct, nil)
		return callPlacedMsg{reply: reply, err: err}
	})
}

func (m *Model) resetCall() {
	m.phase = phaseNone
	m.peer, m.peerNick, m.channel, m.outcome = "", "", "", ""
	m.calleeOff, m.cancelWait = false, false
	m.muted, m.camOff, m.peerMuted, m.peerCamOff = false, false, false, false
	m.stats = nil
	m.switchReq, m.switchWait = false, false
	m.camWarned = false
	m.micSilent = 0
	m.remoteSeq, m.localSeq = 0, 0
	m.remoteImg, m.localImg = nil, nil
	m.remoteBlack = false
	m.remoteView, m.localView = "", ""
	m.remoteKey = [2]int{}
	m.levelsOK = false
	m.mic, m.speaker = 0, 0
}

// enterCall switches to the in-call screen and starts the media refresh.
// The call starts with the microphone and camera on, whatever the last
// call ended with.
func (m *Model) enterCall() tea.Cmd {
	m.phase = phaseInCall
	m.started = m.cfg.now()
	m.clearNotice()
	m.frameGen++
	cmds := []tea.Cmd{m.frameTick(), m.pollMedia()}
	if m.engMuted || m.engCamOff {
		eng, mic, cam := m.eng, m.engMuted, m.engCamOff
		m.engMuted, m.engCamOff = false, false
		cmds = append(cmds, func() tea.Msg {
			if mic {
				eng.MuteMicrophone(false)
			}
			if cam {
				eng.EnableCamera(true)
			}
			return nil
		})
	}
	return tea.Batch(cmds...)
}

// endCall leaves the call screens for the main screen with a notice;
// byPeer: the peer hung up.
func (m *Model) endCall(note string, byPeer bool) {
	m.lastChannel = m.channel
	m.peerHungUp = byPeer
	m.resetCall()
	m.frameGen++
	if note != "" {
		m.setNotice(note, false)
	}
	// The record may have come before the end of the call.
	for _, r := range m.records {
		if r.ChannelID != "" && r.ChannelID == m.lastChannel {
			m.noticeRecord(r)
			break
		}
	}
}

// setNotice shows s for noticeLife, or until newer state replaces it.
// Notices quote servers and peers (errors, accounts): escaped here.
func (m *Model) setNotice(s string, isErr bool) {
	m.notice, m.noticeErr = termsafe.String(s), isErr
	m.noticeUntil = m.cfg.now().Add(noticeLife)
}

func (m *Model) clearNotice() {
	m.notice, m.noticeErr, m.briefText = "", false, ""
	m.noticeUntil = time.Time{}
}

// briefNotice shows s for briefNotice, then clears it (unless another
// notice replaced it meanwhile).
func (m *Model) briefNotice(s string, isErr bool) tea.Cmd {
	s = termsafe.String(s)
	m.notice, m.noticeErr = s, isErr
	m.noticeUntil = time.Time{}
	m.briefText = s
	return tea.Tick(briefNotice, func(time.Time) tea.Msg { return briefDoneMsg{text: s} })
}

// cameraSwitched shows SwitchCamera's result briefly. When it failed
// because a camera could not be opened, the MEDIA_WARNING saying why stays.
func (m *Model) cameraSwitched(ok bool) tea.Cmd {
	switch {
	case m.phase != phaseInCall:
		return nil
	case ok:
		return m.briefNotice(m.t.camSwitched, false)
	case m.camWarned && m.noticeErr:
		return m.briefNotice(m.notice, true)
	}
	return m.briefNotice(m.t.camNoSwitch, true)
}

func (m *Model) inAnyCall() bool {
	return m.phase == phaseCalling || m.phase == phaseInCall || m.invite != nil
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.remoteKey = [2]int{} // re-render the video for the new pane
		return m, nil
	case snapshotMsg:
		msg.ch <- m.View()
		return m, nil
	case clockMsg:
		return m, tea.Batch(m.tick(), m.clock()) // countdowns and the call duration are drawn from now
	case frameMsg:
		if msg.gen != m.frameGen || m.phase != phaseInCall {
			return m, nil
		}
		return m, tea.Batch(m.frameTick(), m.pollMedia())
	case tea.KeyMsg:
		return m, m.handleKeys(msg)
	case loginDoneMsg:
		return m, m.loginDone(msg)
	case eventMsg:
		cmd := m.handleEvent(msg.ev)
		if msg.pumped {
			cmd = tea.Batch(cmd, m.nextEvent())
		}
		return m, cmd
	case eventsClosedMsg:
		return m, nil
	case contactsMsg:
		m.contactsLoaded(msg)
		return m, nil
	case recordsMsg:
		if msg.more {
			m.recordsLoading = false
		}
		if msg.err != nil {
			m.loadFailed(msg.err)
			return m, nil
		}
		m.recordsNext = msg.next
		if msg.more {
			m.olderRecords(msg.list)
			return m, nil
		}
		m.records = msg.list
		m.recent = map[string]int64{}
		for _, r := range m.records {
			m.noteRecent(r)
		}
		m.sortContacts()
		return m, nil
	case callPlacedMsg:
		return m, m.callPlaced(msg)
	case acceptedMsg:
		if msg.err != nil {
			m.invite = nil
			m.setNotice(m.errText(msg.err), true)
			return m, nil
		}
		m.invite = nil
		m.resetCall()
		m.peer, m.peerNick = msg.inv.From, msg.inv.FromNick
		m.callType = msg.inv.CallType
		m.channel = msg.inv.ChannelID
		return m, m.enterCall()
	case actionMsg:
		return m, m.actionDone(msg)
	case cameraSwitchedMsg:
		return m, m.cameraSwitched(msg.ok)
	case briefDoneMsg:
		if m.notice == msg.text && m.briefText == msg.text {
			m.notice, m.briefText = "", ""
		}
		return m, nil
	case hungUpMsg:
		return m, tea.Quit
	}
	if m.login != nil {
		return m, m.login.update(msg)
	}
	return m, nil
}

func (m *Model) callPlaced(msg callPlacedMsg) tea.Cmd {
	if m.phase != phaseCalling {
		return nil
	}
	if msg.err != nil {
		m.phase = phaseOutcome
		m.outcome = m.callErrText(msg.err)
		return nil
	}
	m.channel = msg.reply.ChannelID
	if msg.reply.ExpiresAt > msg.reply.CreatedAt && msg.reply.CreatedAt > 0 {
		m.deadline = m.cfg.now().Add(time.Duration(msg.reply.ExpiresAt-msg.reply.CreatedAt) * time.Millisecond)
	}
	m.calleeOff = !msg.reply.CalleeOnline
	if m.cancelWait {
		m.cancelWait = false
		return m.cancelCall()
	}
	return nil
}

func (m *Model) cancelCall() tea.Cmd {
	if m.channel == "" {
		m.cancelWait = true // Call has not returned yet
		return nil
	}
	return m.action("cancel", func(ctx context.Context, eng engine) error { return eng.Cancel(ctx) })
}

func (m *Model) callErrText(err error) string {
	switch protocol.CodeOf(err) {
	case protocol.CodeNotFound:
		return fmtS(m.t.callFailed, fmtS(m.t.noSuchPeer, m.peer))
	case protocol.CodeCallBusy:
		return fmtS(m.t.callFailed, m.t.alreadyBusy)
	}
	return termsafe.String(fmtS(m.t.callFailed, m.errText(err)))
}

func (m *Model) actionDone(msg actionMsg) tea.Cmd {
	if msg.err == nil {
		return nil
	}
	switch msg.op {
	case "hangup":
		// The server may already have ended the call (peer gone, lost
		// connection); leave the screen rather than strand the user.
		if m.eng.State() == protocol.StateIdle && m.phase == phaseInCall {
			m.endCall(fmtS(m.t.ended, m.durationText()), false)
			return nil
		}
	case "cancel":
		if m.eng.State() == protocol.StateIdle && m.phase == phaseCalling {
			m.phase = phaseOutcome
			m.outcome = call.StatusText(protocol.StatusCanceled, false, m.t.lang)
			return nil
		}
	case "reject":
		m.invite = nil
	}
	m.setNotice(m.errText(msg.err), true)
	return nil
}

// loadFailed reports a contacts or history load that failed. One the
// lost connection made fail says nothing new (the status line says the
// connection is down, and the lists reload when it is back).
func (m *Model) loadFailed(err error) {
	if !m.connected || protocol.CodeOf(err) == protocol.CodeUnavailable {
		return
	}
	m.setNotice(m.errText(err), true)
}

func (m *Model) contactsLoaded(msg contactsMsg) {
	if msg.err != nil {
		if msg.op == "add" && protocol.CodeOf(msg.err) == protocol.CodeNotFound {
			m.setNotice(fmtS(m.t.unknownAccount, msg.target), true)
			return
		}
		if msg.op == "" {
			m.loadFailed(msg.err)
			return
		}
		m.setNotice(m.errText(msg.err), true)
		return
	}
	m.contacts = msg.list
	m.sortContacts()
	switch msg.op {
	case "add":
		note := m.t.contactAdded
		for _, c := range msg.list {
			if c.Account == msg.target && c.Presence == protocol.PresencePending {
				note = m.t.contactPending // or no such account: the server does not say
			}
		}
		m.setNotice(fmtS(note, msg.target), false)
	case "remove":
		m.setNotice(fmtS(m.t.contactRemoved, msg.target), false)
	}
}

// noteRecent remembers the last call with the record's peer.
func (m *Model) noteRecent(r call.RecordMessage) {
	p := recordPeer(r)
	if r.CreatedAt > m.recent[p] {
		m.recent[p] = r.CreatedAt
	}
}

func recordPeer(r call.RecordMessage) string {
	if r.Direction == call.DirectionIncoming {
		return r.From
	}
	return r.To
}

// nick returns "Nickname (account)" when the nickname is known.
func (m *Model) nick(account, hint string) string {
	n := hint
	if n == "" {
		for _, c := range m.contacts {
			if c.Account == account {
				n = c.NickName
				break
			}
		}
	}
	// Nicknames and accounts come from the server and other users: every
	// place that shows a contact, caller or peer goes through here.
	if n == "" || n == account {
		return termsafe.String(account)
	}
	return termsafe.String(n + " (" + account + ")")
}

// redact drops secrets from event data before the event log shows it.
func redact(data any) any {
	switch d := data.(type) {
	case protocol.Peer:
		d.MediaToken = ""
		d.TokenExpiresAt = 0
		return d
	case *protocol.Peer:
		if d == nil {
			return d
		}
		c := *d
		c.MediaToken, c.TokenExpiresAt = "", 0
		return c
	}
	return data
}
