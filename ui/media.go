package ui

import (
	"image"

	tea "github.com/charmbracelet/bubbletea"
)

// pollMedia takes the latest remote and local pictures and the audio
// levels. It runs at most every frameInterval, so a fast sender never makes
// the UI draw more than 20 frames a second: frames in between are skipped
// (latest frame wins).
func (m *Model) pollMedia() tea.Cmd {
	if m.eng == nil {
		return nil
	}
	if img, seq := m.eng.RemoteVideoFrame(); img != nil && seq != m.remoteSeq {
		m.remoteSeq, m.remoteImg = seq, img
		m.remoteKey = [2]int{}
	}
	if img, seq := m.eng.LocalVideoFrame(); img != nil && seq != m.localSeq {
		m.localSeq, m.localImg = seq, img
		m.localView = ""
	}
	m.mic, m.speaker, m.levelsOK = m.eng.AudioLevels()
	return nil
}

// remotePane is the peer's picture scaled to cols×rows cells, rendered once
// per new frame or pane size.
// exact reports a rendered picture: rows lines of exactly cols cells.
func (m *Model) remotePane(cols, rows int) (pane string, exact bool) {
	if m.remoteImg == nil || m.peerCamOff {
		return centerBlock([]string{m.st.dim.Render(m.t.noVideo)}, cols, rows), false
	}
	if m.remoteKey != [2]int{cols, rows} || m.remoteView == "" {
		m.remoteView = m.remoteR.Render(m.remoteImg, cols, rows)
		m.remoteKey = [2]int{cols, rows}
	}
	return m.remoteView, true
}

func (m *Model) localPane(cols, rows int) string {
	if m.localImg == nil || m.camOff {
		return block(m.st.dim.Render("—"), cols, rows)
	}
	if m.localView == "" || m.localKey != [2]int{cols, rows} {
		m.localView = m.localR.Render(m.localImg, cols, rows)
		m.localKey = [2]int{cols, rows}
	}
	return m.localView
}

// setFrames injects pictures (tests of the in-call screen).
func (m *Model) setFrames(remote, local *image.YCbCr) {
	m.remoteImg, m.localImg = remote, local
	m.remoteKey = [2]int{}
	m.localView = ""
}
