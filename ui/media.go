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
		m.remoteBlack = isBlack(img)
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
	switch {
	case m.peerCamOff:
		return centerBlock([]string{m.st.dim.Render(m.t.peerCamPane)}, cols, rows), false
	case m.remoteImg == nil:
		return centerBlock([]string{m.st.dim.Render(m.t.noVideo)}, cols, rows), false
	case m.remoteBlack:
		// A black picture drawn as black cells looks like a broken pane.
		note := m.t.blackPicture
		if m.camOff {
			note += " · " + m.t.camOffPane // an echo shows our own black frames
		}
		return centerBlock([]string{m.st.dim.Render(note)}, cols, rows), false
	}
	if m.remoteKey != [2]int{cols, rows} || m.remoteView == "" {
		m.remoteView = m.remoteR.Render(m.remoteImg, cols, rows)
		m.remoteKey = [2]int{cols, rows}
	}
	return m.remoteView, true
}

func (m *Model) localPane(cols, rows int) string {
	switch {
	case m.camOff:
		return block(m.st.warnText.Render(m.t.camOffPane), cols, rows)
	case m.localImg == nil:
		return block(m.st.dim.Render("—"), cols, rows)
	}
	if m.localView == "" || m.localKey != [2]int{cols, rows} {
		m.localView = m.localR.Render(m.localImg, cols, rows)
		m.localKey = [2]int{cols, rows}
	}
	return m.localView
}

// isBlack reports a picture with nothing to see: every sampled luma at
// video black (the black frames a camera turned off sends).
func isBlack(img *image.YCbCr) bool {
	b := img.Bounds()
	if b.Empty() {
		return true
	}
	const grid, blackLuma = 16, 24 // video range black is 16
	for gy := range grid {
		y := b.Min.Y + (b.Dy()*gy+b.Dy()/2)/grid
		for gx := range grid {
			x := b.Min.X + (b.Dx()*gx+b.Dx()/2)/grid
			if img.Y[img.YOffset(x, y)] > blackLuma {
				return false
			}
		}
	}
	return true
}

// setFrames injects pictures (tests of the in-call screen).
func (m *Model) setFrames(remote, local *image.YCbCr) {
	m.remoteImg, m.localImg = remote, local
	m.remoteBlack = remote != nil && isBlack(remote)
	m.remoteKey = [2]int{}
	m.localView = ""
}
