// Package rtc is one call's WebRTC media session: the PeerConnection and its
// negotiation over the signaling relay, the congestion controller and pacer,
// capture (microphone, camera, files), the receive path into media/playout
// and the VP8 decoder, recording, the local preview and level meters, and the
// STATS figures.
//
// The call engine (package call) owns the signaling and the call state and
// starts one Session per connected call with New; a Session knows nothing
// of the engine: it talks back through Params' callbacks (Emit, Relay, ICE)
// and the Tracer interface.
package rtc
