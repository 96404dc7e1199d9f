package playout

import "sync"

// Mixer mixes the playout buffers of a call's remote audio tracks into what
// the speaker (or a Clock when there is none) pulls.
type Mixer struct {
	mu      sync.Mutex // held during Pull so a buffer is never closed under it
	bufs    []*Buffer
	scratch []int16
}

// Add starts mixing b.
func (m *Mixer) Add(b *Buffer) {
	m.mu.Lock()
	m.bufs = append(m.bufs, b)
	m.mu.Unlock()
}

// Remove stops mixing b; the caller closes it.
func (m *Mixer) Remove(b *Buffer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.bufs {
		if x == b {
			m.bufs = append(m.bufs[:i:i], m.bufs[i+1:]...)
			return
		}
	}
}

// Pull fills out with the mix of every buffer (silence with none),
// saturating at full scale.
func (m *Mixer) Pull(out []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.bufs) == 0 {
		clear(out)
		return
	}
	m.bufs[0].Pull(out)
	for _, b := range m.bufs[1:] {
		if cap(m.scratch) < len(out) {
			m.scratch = make([]int16, len(out))
		}
		sc := m.scratch[:len(out)]
		b.Pull(sc)
		for i, v := range sc {
			out[i] = int16(min(max(int32(out[i])+int32(v), -32768), 32767))
		}
	}
}

// Stats returns the first buffer's statistics; false with none.
func (m *Mixer) Stats() (Stats, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.bufs) == 0 {
		return Stats{}, false
	}
	return m.bufs[0].Stats(), true
}

// CloseAll stops mixing and closes every buffer.
func (m *Mixer) CloseAll() {
	m.mu.Lock()
	bufs := m.bufs
	m.bufs = nil
	m.mu.Unlock()
	for _, b := range bufs {
		_ = b.Close()
	}
}
