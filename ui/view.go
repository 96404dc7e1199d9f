package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
)

// Sizes of the layout. The UI is designed for 80×24 and grows with the
// terminal.
const (
	minWidth, minHeight = 40, 12
	sideWidth           = 28 // in-call side panel next to the video
	maxLogHeight        = 14
	meterCells          = 12
)

func (m *Model) size() (int, int) {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		w, h = 80, 24
	}
	return max(w, minWidth), max(h, minHeight)
}

// View renders the whole screen, exactly height lines of width columns.
func (m *Model) View() string {
	w, h := m.size()
	if m.login != nil {
		return m.login.view(m, w, h)
	}
	helpV := m.helpView(w)
	helpH := strings.Count(helpV, "\n") + 1
	logH := m.logHeight(h)
	bodyH := max(1, h-2-helpH-logH)

	var body string
	exact := false // body is already w×bodyH (the video lines are costly to measure again)
	switch m.phase {
	case phaseCalling, phaseOutcome:
		body = m.callingView(w, bodyH)
	case phaseInCall:
		body, exact = m.inCallView(w, bodyH)
	default:
		body = m.mainView(w, bodyH)
	}
	if !exact {
		body = block(body, w, bodyH)
	}
	switch {
	case m.confirmQuit:
		body = overlay(body, m.st.box.Render(m.quitQuestion()), w, bodyH)
	case m.invite != nil:
		body = overlay(body, m.inviteView(w), w, bodyH)
	case m.switchReq:
		body = overlay(body, m.st.box.Render(m.t.switchAsk), w, bodyH)
	}

	parts := []string{m.headerView(w), m.noticeView(w), body}
	if logH > 0 {
		parts = append(parts, m.logView(w, logH))
	}
	parts = append(parts, helpV)
	return strings.Join(parts, "\n")
}

func (m *Model) headerView(w int) string {
	left := m.st.title.Render(m.t.appName) + "  " + m.nick(m.eng.Account(), m.eng.Session().NickName)
	if m.phase == phaseNone {
		tabs := []string{m.t.tabContacts, m.t.tabHistory}
		for i, name := range tabs {
			if tabID(i) == m.tab {
				tabs[i] = m.st.tabOn.Render("[" + name + "]")
			} else {
				tabs[i] = m.st.tabOff.Render(" " + name + " ")
			}
		}
		left += "   " + strings.Join(tabs, " ")
	}
	right := m.st.online.Render("● " + m.t.connected)
	if !m.connected {
		right = m.st.errText.Render("○ " + m.t.presenceOffline)
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return cell(left, w)
	}
	return left + strings.Repeat(" ", gap) + right
}

// quitQuestion asks before leaving a call, saying which.
func (m *Model) quitQuestion() string {
	switch {
	case m.invite != nil:
		return fmtS(m.t.quitRinging, m.nick(m.invite.From, m.invite.FromNick))
	case m.phase == phaseCalling:
		return fmtS(m.t.quitCalling, m.nick(m.peer, m.peerNick))
	}
	return fmtS(m.t.quitConfirm, m.nick(m.peer, m.peerNick))
}

func (m *Model) noticeView(w int) string {
	switch {
	case m.notice != "" && m.noticeErr:
		// Newer than the connection line (it is cleared when the
		// connection drops): the answer to what the user just did.
		return m.st.errText.Render(cell(m.notice, w))
	case m.connNote != "":
		return m.st.warnText.Render(cell(m.connNote, w))
	case m.notice != "":
		return m.st.okText.Render(cell(m.notice, w))
	}
	return ""
}

// helpBindings are the keys of the current screen, for the help bar.
func (m *Model) helpBindings() []key.Binding {
	k := m.keys
	switch {
	case m.phase == phaseInCall && m.switchWait && !m.confirmQuit:
		return []key.Binding{k.mute, k.withdraw, k.hangup, k.log, k.help, k.quit}
	case m.confirmQuit:
		return []key.Binding{k.yes, k.no}
	case m.invite != nil:
		return []key.Binding{k.accept, k.reject, k.log}
	case m.switchReq:
		return []key.Binding{k.agree, k.reject}
	case m.phase == phaseCalling:
		return []key.Binding{k.cancel, k.log, k.quit}
	case m.phase == phaseOutcome:
		return []key.Binding{k.dismiss, k.log, k.quit}
	case m.phase == phaseInCall && m.callType != protocol.CallVideo:
		return []key.Binding{k.mute, k.switchType, k.hangup, k.log, k.help, k.quit}
	case m.phase == phaseInCall:
		// w (switch camera) is in the full help: the bar is full at 80 columns.
		return []key.Binding{k.mute, k.camera, k.switchType, k.hangup, k.log, k.help, k.quit}
	case m.filtering:
		return []key.Binding{k.submit, k.esc}
	case m.adding:
		return []key.Binding{k.submit, k.esc}
	case m.removing != "":
		return []key.Binding{k.yes, k.no}
	case m.tab == tabHistory:
		return []key.Binding{k.upDown(), k.redial, m.tabKey(), k.log, k.help, k.quit}
	}
	// The rest (enter, +, -) is in the full help, ?.
	return []key.Binding{k.upDown(), k.filter, k.audio, k.video, m.tabKey(), k.log, k.help, k.quit}
}

// tabKey is Tab labelled with the tab it leads to.
func (m *Model) tabKey() key.Binding {
	to := m.t.tabHistory
	if m.tab == tabHistory {
		to = m.t.tabContacts
	}
	return key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", to))
}

func (m *Model) helpView(w int) string {
	m.help.Width = w
	if !m.showHelp {
		return cell(m.help.ShortHelpView(m.helpBindings()), w)
	}
	return m.help.FullHelpView(m.fullHelp())
}

// fullHelp is ?'s help: every key of the current screen, in columns.
func (m *Model) fullHelp() [][]key.Binding {
	k := m.keys
	general := []key.Binding{k.log, k.help, k.quit, k.quitNow}
	if m.logOpen {
		general = append([]key.Binding{k.logScroll, k.logFilter}, general...)
	}
	switch {
	case m.invite != nil:
		return [][]key.Binding{{k.accept, k.reject}, general}
	case m.phase == phaseCalling:
		return [][]key.Binding{{k.cancel}, general}
	case m.phase == phaseOutcome:
		return [][]key.Binding{{k.dismiss}, general}
	case m.phase == phaseInCall:
		sw := k.switchType
		if m.switchWait {
			sw = k.withdraw
		}
		media := []key.Binding{k.mute, sw, k.hangup}
		if m.callType == protocol.CallVideo {
			media = []key.Binding{k.mute, k.camera, k.switchCam, sw, k.hangup}
		}
		return [][]key.Binding{media, general}
	case m.tab == tabHistory:
		return [][]key.Binding{{k.upDown(), k.redial, k.audio, k.video}, {m.tabKey(), k.escMain}, general}
	}
	return [][]key.Binding{
		{k.upDown(), k.filter, k.add, k.remove},
		{k.enter, k.audio, k.video, m.tabKey(), k.escMain},
		general,
	}
}

// ---- main screen ----

func (m *Model) mainView(w, h int) string {
	if m.tab == tabHistory {
		return m.historyView(w, h)
	}
	var top []string
	switch {
	case m.filtering:
		top = append(top, m.filter.View())
	case m.filter.Value() != "":
		top = append(top, m.st.dim.Render(m.t.filterPrompt+termsafe.String(m.filter.Value())))
	}
	if m.adding {
		top = append(top, m.addInput.View())
	}
	if m.removing != "" {
		top = append(top, m.st.warnText.Render(fmtS(m.t.removeConfirm, termsafe.String(m.removing))))
	}
	list := m.visibleContacts()
	rows := max(1, h-len(top))
	var lines []string
	switch {
	case len(m.contacts) == 0:
		lines = append(lines, m.st.dim.Render(m.t.noContacts))
	case len(list) == 0:
		lines = append(lines, m.st.dim.Render(m.t.noMatch))
	}
	m.cursor = min(m.cursor, max(0, len(list)-1))
	offset := max(0, m.cursor-rows+1)
	presW := 10
	nameW := max(8, w-4-presW)
	for i := offset; i < len(list) && i < offset+rows; i++ {
		c := list[i]
		if !m.connected {
			c.Presence = "" // what we last heard may be stale
		}
		glyph, pst := "○", m.st.offline
		switch c.Presence {
		case protocol.PresenceOnline:
			glyph, pst = "●", m.st.online
		case protocol.PresenceInCall:
			glyph, pst = "◐", m.st.inCall
		case "":
			glyph = "?"
		}
		marker := "  "
		if i == m.cursor {
			marker = "> "
		}
		name := cell(m.nick(c.Account, c.NickName), nameW)
		if i == m.cursor {
			name = m.st.selected.Render(name)
		}
		lines = append(lines, marker+pst.Render(glyph)+" "+name+pst.Render(cell(m.t.presence(c.Presence), presW)))
	}
	return strings.Join(append(top, lines...), "\n")
}

func (m *Model) historyView(w, h int) string {
	const dirW, typeW, timeW, durW, statW = 7, 6, 13, 9, 19
	peerW := max(8, w-2-dirW-typeW-timeW-durW-statW)
	hd := m.t.historyHeader
	lines := []string{m.st.dim.Render("  " + cell("", dirW) + cell(hd[0], peerW) + cell(hd[1], typeW) +
		cell(hd[2], timeW) + cell(hd[3], durW) + cell(hd[4], statW))}
	if len(m.records) == 0 {
		return strings.Join(append(lines, m.st.dim.Render(m.t.noRecords)), "\n")
	}
	m.hcursor = min(m.hcursor, len(m.records)-1)
	rows := max(1, h-1)
	offset := max(0, m.hcursor-rows+1)
	for i := offset; i < len(m.records) && i < offset+rows; i++ {
		r := m.records[i]
		dir := "↗ " + m.t.dirOutgoing
		if r.Direction == call.DirectionIncoming {
			dir = "↙ " + m.t.dirIncoming
		}
		status := m.recordText(r)
		st := m.st.okText
		if r.Status != protocol.StatusCompleted {
			st = m.st.warnText
		}
		row := cell(dir, dirW) + cell(m.nick(recordPeer(r), ""), peerW) + cell(m.t.callType(r.Type), typeW) +
			cell(m.timeText(r.CreatedAt), timeW) + cell(durationOf(r), durW)
		marker := "  "
		if i == m.hcursor {
			marker = "> "
			row = m.st.selected.Render(row)
		}
		lines = append(lines, marker+row+st.Render(cell(status, statW)))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) timeText(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return time.UnixMilli(ms).In(m.cfg.loc).Format("01-02 15:04")
}

// ---- prompts ----

func (m *Model) remaining(deadline time.Time) int {
	d := deadline.Sub(m.cfg.now())
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

func (m *Model) inviteView(w int) string {
	inv := m.invite
	bw := min(w-4, 48)
	lines := []string{
		m.st.bold.Render(m.t.incomingTitle),
		m.nick(inv.From, inv.FromNick),
		m.t.callTypeLong(inv.CallType),
	}
	if len(inv.Attachment) > 0 && string(inv.Attachment) != "null" {
		lines = append(lines, m.t.attachment+": "+termsafe.String(string(inv.Attachment)))
	}
	if inv.Offline {
		lines = append(lines, m.t.inviteOffline)
	}
	lines = append(lines, fmtS(m.t.expiresIn, m.remaining(m.inviteDeadline)), "",
		m.st.bold.Render("y")+" "+m.t.accept+"   "+m.st.bold.Render("n")+" "+m.t.reject)
	for i, l := range lines {
		lines[i] = cell(l, bw-4)
	}
	return m.st.box.Render(strings.Join(lines, "\n"))
}

// ---- calling / outcome ----

func (m *Model) callingView(w, h int) string {
	var lines []string
	if m.phase == phaseCalling {
		lines = []string{
			m.st.bold.Render(fmtS(m.t.calling, m.nick(m.peer, ""))),
			m.t.callTypeLong(m.callType),
			"",
			fmtS(m.t.waiting, m.remaining(m.deadline)),
		}
		if m.calleeOff {
			lines = append(lines, m.st.dim.Render(m.t.calleeOff))
		}
		lines = append(lines, "", m.st.dim.Render(m.t.cancelHint))
	} else {
		lines = []string{
			m.st.bold.Render(m.nick(m.peer, "")),
			m.t.callTypeLong(m.callType),
			"",
			m.st.outcome.Render(m.outcome),
			"",
			m.st.dim.Render(m.t.dismissHint),
		}
	}
	return centerBlock(lines, w, h)
}

// centerBlock centres lines horizontally and the block vertically.
func centerBlock(lines []string, w, h int) string {
	out := make([]string, 0, h)
	for range max(0, (h-len(lines))/2) {
		out = append(out, "")
	}
	for _, l := range lines {
		out = append(out, center(l, w))
	}
	return strings.Join(out, "\n")
}

// ---- in call ----

// inCallView draws the in-call screen; exact reports that the result is
// already w×h cells.
func (m *Model) inCallView(w, h int) (body string, exact bool) {
	info := m.callInfoLines()
	if m.callType != protocol.CallVideo {
		bw := min(w, 56)
		lines := append(info, "")
		lines = append(lines, m.meterLines(bw)...)
		lines = append(lines, "")
		lines = append(lines, m.statsLines()...)
		for i, l := range lines {
			lines[i] = cell(l, bw)
		}
		return centerBlock(lines, w, h), false
	}
	videoW := max(10, w-sideWidth-1)
	side := append(info, "")
	side = append(side, m.statsLines()...)
	side = append(side, "")
	side = append(side, m.meterLines(sideWidth)...)
	if rows := h - len(side) - 2; rows >= 3 {
		side = append(side, "", m.st.dim.Render(m.t.localPreview))
		side = append(side, strings.Split(m.localPane(sideWidth-1, min(rows, 8)), "\n")...)
	}
	left, leftExact := m.remotePane(videoW, h)
	if !leftExact {
		left = block(left, videoW, h)
	}
	// The renderer's lines are exactly videoW cells: join without measuring.
	ll := strings.Split(left, "\n")
	sl := strings.Split(block(strings.Join(side, "\n"), sideWidth, h), "\n")
	if len(ll) != h {
		return lipgloss.JoinHorizontal(lipgloss.Top, block(left, videoW, h), " ", strings.Join(sl, "\n")), false
	}
	var b strings.Builder
	b.Grow(len(left) + h*(sideWidth+2))
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ll[i])
		b.WriteByte(' ')
		b.WriteString(sl[i])
	}
	return b.String(), videoW+1+sideWidth == w
}

func (m *Model) callInfoLines() []string {
	state := m.t.micOn
	if m.muted {
		state = m.st.warnText.Render(m.t.micOff)
	}
	if m.callType == protocol.CallVideo {
		cam := m.t.camOn
		if m.camOff {
			cam = m.st.warnText.Render(m.t.camOff)
		}
		state += " · " + cam
	}
	lines := []string{
		m.st.bold.Render(m.nick(m.peer, m.peerNick)),
		m.t.callTypeLong(m.callType) + " · " + m.t.duration + " " + m.durationText(),
		state,
	}
	var peer []string
	if m.peerMuted {
		peer = append(peer, m.t.peerMuted)
	}
	if m.peerCamOff && m.callType == protocol.CallVideo {
		peer = append(peer, m.t.peerCamOff)
	}
	if len(peer) > 0 {
		lines = append(lines, m.st.dim.Render(strings.Join(peer, " · ")))
	}
	if m.switchWait {
		lines = append(lines, m.st.dim.Render(m.t.switchWait))
	}
	return lines
}

// meterLines are the level meters, and the silent-microphone hint wrapped
// at w columns.
func (m *Model) meterLines(w int) []string {
	label := func(s string) string { return cell(s, 8) }
	if !m.levelsOK {
		return []string{label(m.t.levelMic) + "—", label(m.t.levelSpeaker) + "—"}
	}
	lines := []string{label(m.t.levelMic) + meter(m.mic, m.muted), label(m.t.levelSpeaker) + meter(m.speaker, false)}
	if m.micSilentHint() {
		for _, l := range strings.Split(ansi.Wrap(m.t.micSilent, w, ""), "\n") {
			lines = append(lines, m.st.warnText.Render(l))
		}
	}
	return lines
}

// meter draws a 0..1 level on a logarithmic scale (-60 dBFS … 0).
func meter(level float64, muted bool) string {
	n := 0
	if level > 0 && !muted {
		db := 20 * math.Log10(level)
		n = int(math.Round((db + 60) / 60 * meterCells))
	}
	n = min(max(n, 0), meterCells)
	return strings.Repeat("▮", n) + strings.Repeat("▯", meterCells-n)
}

func (m *Model) statsLines() []string {
	t := m.t
	q := qualityOf(m.stats)
	qs := m.st.dim
	switch q {
	case 1, 2:
		qs = m.st.okText
	case 3:
		qs = m.st.warnText
	case 4, 5:
		qs = m.st.errText
	}
	lines := []string{m.st.bold.Render(t.statsTitle), t.quality + " " + qs.Render(qualityBars(q)+" "+t.qualityNames[q])}
	s := m.stats
	if s == nil {
		return append(lines, t.statBitrate+" —", t.statLoss+" —", t.statJitter+" —", t.statRTT+" —", t.statMOS+" —")
	}
	rtt := fmt.Sprintf("%s %s", t.statRTT, msText(s.RttMs))
	if s.CandidateType == "relay" || s.RemoteCandidateType == "relay" {
		rtt += " · " + t.viaRelay
	}
	lines = append(lines,
		fmt.Sprintf("%s ↑%.0f ↓%.0f kbps", t.statBitrate, s.SendKbps, s.RecvKbps),
		fmt.Sprintf("%s %.1f%% · %s %.0f ms", t.statLoss, s.LossPct, t.statJitter, s.JitterMs),
		rtt,
		fmt.Sprintf("%s %.2f", t.statMOS, s.Mos),
	)
	if m.callType == protocol.CallVideo {
		lines = append(lines, m.videoStatLines(s)...)
	}
	return lines
}

// videoStatLines are the video call's picture sizes and frame rates, both
// ways, and what is wrong with them: the received picture frozen, or
// either side's video paused for want of bandwidth.
func (m *Model) videoStatLines(s *call.CallStats) []string {
	t := m.t
	var lines []string
	switch {
	case s.RecvSuspended:
		lines = append(lines, m.st.warnText.Render(t.statVideoRecv+" "+t.videoPaused))
	case s.Width > 0 && !m.peerCamOff:
		l := fmt.Sprintf("%s %dx%d@%.0f", t.statVideoRecv, s.Width, s.Height, s.Fps)
		if s.Frozen {
			l = m.st.warnText.Render(l + " " + t.videoFrozen)
		}
		lines = append(lines, l)
	}
	switch {
	case s.SendSuspended:
		lines = append(lines, m.st.warnText.Render(t.statVideoSend+" "+t.videoPaused))
	case s.SendWidth > 0 && !m.camOff:
		lines = append(lines, fmt.Sprintf("%s %dx%d@%.0f", t.statVideoSend, s.SendWidth, s.SendHeight, s.SendFps))
	}
	return lines
}

func msText(v float64) string {
	if v <= 0 || math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.0f ms", v)
}

// qualityOf grades the network from the MOS estimate: 0 unknown,
// 1 excellent … 5 bad (the ITU-T P.800 bands).
func qualityOf(s *call.CallStats) int {
	switch {
	case s == nil || s.Mos <= 0:
		return 0
	case s.Mos >= 4.0:
		return 1
	case s.Mos >= 3.6:
		return 2
	case s.Mos >= 3.1:
		return 3
	case s.Mos >= 2.6:
		return 4
	}
	return 5
}

func qualityBars(q int) string {
	lit := 0
	if q > 0 {
		lit = 5 - q
	}
	bars := []rune("▂▄▆█")
	var b strings.Builder
	for i, r := range bars {
		if i < lit {
			b.WriteRune(r)
		} else {
			b.WriteRune('·')
		}
	}
	return b.String()
}
