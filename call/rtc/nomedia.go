package rtc

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/call/protocol"
)

// A call whose media never arrives must not look like a good one: the
// session watches for the first incoming packet and, when none has come
// NoMediaAfter after the session started (at accept), emits MEDIA_WARNING
// (kind noMedia) naming the first stage of the media path that did not
// complete, and tells the peer, which may itself receive fine.

// DefaultNoMediaAfter is how long after accept a call may go without
// incoming media before the warning.
const DefaultNoMediaAfter = 5 * time.Second

// noMediaAtEnd: a call that ends without media after lasting at least this
// long is reported at its end, when the watchdog has not fired yet.
const noMediaAtEnd = 2 * time.Second

// mediaWatch is what the session records for the no-media check.
type mediaWatch struct {
	started     time.Time
	mediaIn     atomic.Bool  // a remote track's first packet arrived
	warned      atomic.Bool  // the noMedia warning was emitted
	localCands  atomic.Int32 // candidates gathered here
	remoteCands atomic.Int32 // candidates received from the peer
	remoteDescs atomic.Int32 // descriptions of the peer applied

	errMu  sync.Mutex
	negErr string // the first negotiation failure
}

// negotiationFailed logs a failed negotiation step and keeps the first one
// as the cause a no-media warning names.
func (s *Session) negotiationFailed(step string, err error) {
	s.log.Warn("media negotiation failed", "step", step, "err", err)
	s.errMu.Lock()
	if s.negErr == "" {
		s.negErr = step + ": " + err.Error()
	}
	s.errMu.Unlock()
}

// watchMedia runs on a session goroutine: one check NoMediaAfter after the
// session started.
func (s *Session) watchMedia() {
	if s.cfg.NoMediaAfter < 0 {
		return
	}
	t := time.NewTimer(time.Until(s.started.Add(s.cfg.NoMediaAfter)))
	defer t.Stop()
	select {
	case <-s.ctx.Done():
	case <-t.C:
		s.checkMedia("", true)
	}
}

// CheckMediaAtEnd is called as the call ends: a call that lasted a while
// without any media gets its warning now if the watchdog had not fired.
func (s *Session) CheckMediaAtEnd() {
	if s.cfg.NoMediaAfter < 0 || !s.activated() || time.Since(s.started) < noMediaAtEnd {
		return
	}
	s.checkMedia(fmt.Sprintf("the call ended %.1f s after accept without media: ", time.Since(s.started).Seconds()), false)
}

// checkMedia emits the warning once when no media has arrived, and tells
// the peer when the call goes on.
func (s *Session) checkMedia(prefix string, tellPeer bool) {
	if s.mediaIn.Load() || s.warned.Swap(true) {
		return
	}
	cause := s.noMediaCause()
	s.log.Warn("no media from the peer", "cause", cause)
	s.emit(EvMediaWarning, MediaWarning{Kind: protocol.ProblemNoMedia, Error: prefix + cause})
	if !tellPeer {
		return
	}
	s.send(protocol.RelayControl, protocol.MediaControl{MediaWarning: &protocol.MediaProblem{
		Kind: protocol.ProblemNoMedia, Error: truncateUTF8("the peer receives no media: "+cause, protocol.MaxMediaProblemError),
	}})
}

// noMediaCause names the first stage of the media path that did not
// complete: the session itself, the descriptions, the candidates, ICE,
// DTLS, and last the RTP the peer should send.
func (s *Session) noMediaCause() string {
	secs := s.cfg.NoMediaAfter.Seconds()
	s.errMu.Lock()
	negErr := s.negErr
	s.errMu.Unlock()
	s.mu.Lock()
	pc := s.pc
	s.mu.Unlock()
	switch {
	case pc == nil:
		return "the media session could not start: " + negErr
	case negErr != "":
		return "media negotiation failed: " + negErr
	}
	remote := pc.RemoteDescription()
	if remote == nil {
		if s.offerer {
			return fmt.Sprintf("no answer from the peer within %.0f s of accept", secs)
		}
		return fmt.Sprintf("no offer from the peer within %.0f s of accept", secs)
	}
	if s.remoteCands.Load() == 0 && !strings.Contains(remote.SDP, "a=candidate:") {
		return fmt.Sprintf("no ICE candidates from the peer within %.0f s", secs)
	}
	switch st := pc.ICEConnectionState(); st {
	case webrtc.ICEConnectionStateNew, webrtc.ICEConnectionStateChecking, webrtc.ICEConnectionStateFailed:
		return fmt.Sprintf("ICE %s: no network path to the peer (%d local, %d remote candidates)",
			st, s.localCands.Load(), s.remoteCands.Load())
	}
	if st := pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		return fmt.Sprintf("DTLS %s: the encrypted media transport did not come up", st)
	}
	if !peerSends(remote.SDP) {
		return "the peer sends no media (no microphone or camera)"
	}
	return fmt.Sprintf("connected, but no RTP arrived from the peer within %.0f s", secs)
}

// peerSends reports whether a remote description sends on any media line.
func peerSends(sdp string) bool {
	return strings.Contains(sdp, "a=sendrecv") || strings.Contains(sdp, "a=sendonly")
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
