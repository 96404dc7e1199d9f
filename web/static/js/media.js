// media.js — one call's RTCPeerConnection, negotiated through the
// signaling relay as docs/protocol.md ("Media negotiation") describes: the
// caller offers, the callee answers, candidates trickle both ways, and
// either side's later change (a type switch) is a new offer from the caller.

import { mosFromNetwork } from './quality.js';

// How long after accept a call may go without any incoming media before
// MEDIA_WARNING (kind noMedia) names the cause on both ends.
export const NO_MEDIA_AFTER_MS = 5000;
// While the first audio and video are awaited, stats are read this often;
// the first packet's arrival is then known to within one packet interval.
const FIRST_MEDIA_POLL_MS = 10;
const STATS_INTERVAL_MS = 1000;

// MediaSession lives from the call's setup to its end. The caller creates
// it while the call still rings, so its offer and candidates are ready the
// moment the callee accepts; relays wait until then (the server relays only
// within an active call).
export class MediaSession {
  constructor(o) {
    this.channelId = o.channelId;
    this.peer = o.peer;
    this.offerer = o.offerer;
    this.callType = o.callType;
    this.stream = new MediaStream();
    this.relay = o.relay; // (kind, payload) => Promise
    this.emit = o.emit; // (eventName, data)
    this.log = o.log || (() => {});
    this.noMediaAfterMs = o.noMediaAfterMs ?? NO_MEDIA_AFTER_MS;
    this.statsIntervalMs = o.statsIntervalMs ?? STATS_INTERVAL_MS;
    this.maxBitrateKbps = o.maxBitrateKbps || 0;
    this.onRemoteStream = o.onRemoteStream || (() => {});

    this.active = false; // relays may be sent
    this.held = []; // relays waiting for activation
    this.holdCandidates = false; // a description is being set: candidates wait
    this.heldCandidates = [];
    this.pendingRemote = []; // candidates that arrived before the remote description
    this.chain = Promise.resolve(); // incoming relays are handled one at a time
    this.wantOffer = false;
    this.closed = false;
    this.started = false;
    this.want = null; // kinds our devices are opening for (start)
    this.localAttached = false; // attachLocal ran
    this.polling = false;
    this.lastError = '';
    this.localCandidates = 0;
    this.remoteCandidates = 0;
    this.remoteEnded = false;
    this.gatheringDone = false;
    this.remoteStream = new MediaStream();
    this.firstAudioAt = 0;
    this.firstVideoAt = 0;
    this.activatedAt = 0;
    this.prevStats = null;
    this.lastStats = null;
    this.timers = [];

    const config = {
      iceServers: o.relayOnly ? o.iceServers || [] : withoutLoopbackServers(o.iceServers || []),
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
      // Candidates are gathered as the connection is built (while the call
      // rings), not only once a description is set.
      iceCandidatePoolSize: 1,
    };
    if (o.relayOnly) config.iceTransportPolicy = 'relay';
    this.pc = new RTCPeerConnection(config);
    this.pc.onicecandidate = (ev) => this.onCandidate(ev.candidate);
    this.pc.ontrack = (ev) => this.onTrack(ev);
    this.pc.onconnectionstatechange = () => {
      this.log('connection', this.pc.connectionState);
      if (this.pc.connectionState === 'connected' && this.active && !this.polling) this.pollFirstMedia();
    };
    this.pc.oniceconnectionstatechange = () => this.log('ice', this.pc.iceConnectionState);
    this.pc.onicegatheringstatechange = () => this.log('gathering', this.pc.iceGatheringState);
    this.pc.onsignalingstatechange = () => this.log('signaling', this.pc.signalingState);
  }

  // start opens the call's media. The caller offers at once, with a
  // sending transceiver for each kind in want ({audio, video}: what the
  // devices are being opened for); the callee answers its offer with those
  // kinds sending. The devices' tracks go onto the transceivers when they
  // open (attachLocal): opening the microphone and camera overlaps with the
  // negotiation instead of holding back the offer or the answer.
  start(stream, want = { audio: true, video: this.callType === 2 }) {
    this.started = true;
    this.want = want;
    if (this.offerer) {
      this.enqueue(async () => {
        if (this.closed) return;
        this.addTransceivers();
        await this.negotiate();
      });
    }
    Promise.resolve(stream).then(
      (st) => this.enqueue(() => this.attachLocal(st || new MediaStream())),
      () => this.enqueue(() => this.attachLocal(new MediaStream())),
    );
  }

  // activate lets relays flow (the call is active and the relay token
  // known) and starts the media watchdogs.
  activate() {
    if (this.active || this.closed) return;
    this.active = true;
    this.activatedAt = Date.now();
    const held = this.held;
    this.held = [];
    for (const [kind, payload] of held) this.send(kind, payload);
    if (this.pc.connectionState === 'connected') this.pollFirstMedia();
    this.timers.push(setTimeout(() => this.checkMediaArrived(), this.noMediaAfterMs));
    this.timers.push(setInterval(() => this.sampleStats(), this.statsIntervalMs));
  }

  // addTransceivers gives the caller's offer one transceiver per kind of
  // the call, sending where a device is being opened for it.
  addTransceivers() {
    const kinds = this.callType === 2 ? ['audio', 'video'] : ['audio'];
    for (const kind of kinds) {
      const init = this.want[kind] ? { direction: 'sendrecv', streams: [this.stream] } : { direction: 'recvonly' };
      this.pc.addTransceiver(kind, init);
    }
  }

  // expectSending makes the transceivers an offer created (recvonly) send
  // when our devices are still opening for their kind, so the answer
  // already says so and the tracks need no renegotiation when they come.
  expectSending() {
    if (this.localAttached || !this.want) return;
    for (const t of this.pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      if (t.stopped || t.sender.track || t.direction !== 'recvonly' || !this.want[kind]) continue;
      if (kind === 'video' && this.callType !== 2) continue;
      t.direction = 'sendrecv';
      t.sender.setStreams(this.stream);
    }
  }

  // attachLocal puts the opened devices' tracks on the call: onto the
  // transceiver of their kind that waits for one (no renegotiation), or as
  // new tracks before any offer. A kind that was announced as sending but
  // got no track (the device failed) goes back to receive only, which
  // takes a new offer.
  async attachLocal(stream) {
    if (this.closed) return;
    this.stream = stream;
    this.localAttached = true;
    let renegotiate = false;
    const kinds = this.callType === 2 ? ['audio', 'video'] : ['audio'];
    for (const kind of kinds) {
      const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      const t = this.pc.getTransceivers().find((x) => !x.stopped && !x.sender.track && x.receiver.track.kind === kind);
      if (!t) {
        if (track) this.pc.addTrack(track, stream);
        continue;
      }
      const sending = t.direction === 'sendrecv' || t.direction === 'sendonly';
      if (track) {
        await t.sender.replaceTrack(track);
        t.sender.setStreams(stream);
        if (!sending) {
          t.direction = 'sendrecv';
          renegotiate = true;
        }
      } else if (sending) {
        t.direction = 'recvonly';
        renegotiate = true;
      }
    }
    if (!renegotiate) return;
    // The caller offers again (after the answer to an offer in flight); the
    // callee asks it to.
    if (this.offerer) {
      if (this.pc.localDescription) await this.negotiate();
    } else if (this.pc.remoteDescription) {
      this.send('control', { renegotiate: true });
    }
  }

  send(kind, payload) {
    if (this.closed) return;
    if (!this.active) {
      this.held.push([kind, payload]);
      return;
    }
    this.relay(kind, payload).catch((err) => {
      if (!this.closed) this.log('relay failed', kind, err.message);
    });
  }

  onCandidate(c) {
    if (this.closed) return;
    // null ends gathering: the protocol's end-of-candidates is an empty
    // candidate string.
    const init = c ? c.toJSON() : { candidate: '' };
    if (c) this.localCandidates++;
    else this.gatheringDone = true;
    const payload = { candidate: cleanCandidate(init) };
    if (this.holdCandidates) this.heldCandidates.push(payload);
    else this.send('candidate', payload);
  }

  releaseCandidates() {
    this.holdCandidates = false;
    const held = this.heldCandidates;
    this.heldCandidates = [];
    for (const p of held) this.send('candidate', p);
  }

  onTrack(ev) {
    const track = ev.track;
    if (!this.remoteStream.getTracks().includes(track)) {
      for (const old of this.remoteStream.getTracks()) {
        if (old.kind === track.kind) this.remoteStream.removeTrack(old);
      }
      this.remoteStream.addTrack(track);
      this.onRemoteStream(this.remoteStream);
    }
    track.onunmute = () => this.onRemoteStream(this.remoteStream);
  }

  enqueue(fn) {
    this.chain = this.chain.then(fn).catch((err) => {
      this.lastError = err.message || String(err);
      this.log('negotiation error', this.lastError);
    });
    return this.chain;
  }

  // deliver hands the session a RELAY from the peer.
  deliver(kind, payload) {
    if (this.closed) return;
    this.enqueue(() => this.handle(kind, payload));
  }

  async handle(kind, payload) {
    if (this.closed) return;
    switch (kind) {
      case 'offer':
      case 'answer':
        await this.applyDescription(payload);
        break;
      case 'candidate':
        await this.addRemoteCandidate(payload.candidate);
        break;
      case 'control':
        this.control(payload);
        break;
    }
  }

  async applyDescription(desc) {
    await this.pc.setRemoteDescription({ type: desc.type, sdp: desc.sdp });
    if (desc.type === 'offer') this.expectSending();
    const pending = this.pendingRemote;
    this.pendingRemote = [];
    for (const c of pending) await this.addRemoteCandidate(c);
    if (desc.type === 'offer') {
      await this.sendLocalDescription('answer');
      this.applyBitrate();
      if (this.unnegotiatedSender()) this.send('control', { renegotiate: true });
    } else {
      this.applyBitrate();
      if (this.wantOffer) await this.negotiate();
    }
  }

  async addRemoteCandidate(c) {
    if (!this.pc.remoteDescription) {
      this.pendingRemote.push(c);
      return;
    }
    if (c.candidate === '') {
      this.remoteEnded = true;
      await this.pc.addIceCandidate({ candidate: '' }).catch(() => {});
      return;
    }
    this.remoteCandidates++;
    try {
      await this.pc.addIceCandidate(c);
    } catch (err) {
      // One unusable candidate (an address family we lack) is no reason to
      // stop; the no-media watchdog reports a call that gets no path.
      this.log('candidate refused', err.message);
    }
  }

  control(c) {
    if (c.renegotiate && this.offerer) this.enqueue(() => this.negotiate());
    if (typeof c.audioMuted === 'boolean') this.emit('AUDIO_MUTED', { userId: this.peer, mute: c.audioMuted });
    if (typeof c.videoMuted === 'boolean') this.emit('VIDEO_MUTED', { userId: this.peer, mute: c.videoMuted });
    if (c.mediaWarning) {
      this.emit('MEDIA_WARNING', {
        kind: c.mediaWarning.kind, error: c.mediaWarning.error, remote: true, userId: this.peer,
      });
    }
  }

  // negotiate sends a new offer (caller only), or marks one as due when an
  // exchange is still in progress.
  async negotiate() {
    if (this.closed) return;
    if (this.pc.signalingState !== 'stable') {
      this.wantOffer = true;
      return;
    }
    this.wantOffer = false;
    await this.sendLocalDescription('offer');
  }

  // sendLocalDescription sets the local offer or answer and sends it; the
  // candidates gathered meanwhile wait, so they follow the description.
  async sendLocalDescription(type) {
    this.holdCandidates = true;
    try {
      await this.pc.setLocalDescription();
      this.send(type, { type, sdp: this.pc.localDescription.sdp });
    } finally {
      this.releaseCandidates();
    }
  }

  // unnegotiatedSender: a local track whose transceiver the last answer did
  // not make sending (added after the offer came): the caller must offer again.
  unnegotiatedSender() {
    return this.pc.getTransceivers().some((t) => {
      if (t.stopped || !t.sender.track) return false;
      return !t.mid || !(t.currentDirection === 'sendrecv' || t.currentDirection === 'sendonly');
    });
  }

  // setCallType applies an agreed call type. To audio: stop sending video.
  // To video: send videoTrack (a fresh camera track, or none to only
  // receive). Either way the caller offers again; the callee asks it to.
  // It runs on the negotiation chain, so it never interleaves with the
  // application of an offer, and it waits for replaceTrack.
  setCallType(type, videoTrack) {
    if (this.closed || type === this.callType) {
      if (videoTrack) videoTrack.stop();
      return;
    }
    this.callType = type;
    this.enqueue(async () => {
      if (this.closed) return;
      if (type === 1) {
        for (const t of this.pc.getTransceivers()) {
          if (t.receiver.track.kind !== 'video' || t.stopped || !t.sender.track) continue;
          t.sender.track.stop();
          this.stream.removeTrack(t.sender.track);
          this.pc.removeTrack(t.sender);
        }
      } else {
        const reuse = this.pc.getTransceivers().find((t) => !t.stopped && t.receiver.track.kind === 'video');
        if (videoTrack) {
          this.stream.addTrack(videoTrack);
          if (reuse) {
            reuse.direction = 'sendrecv';
            await reuse.sender.replaceTrack(videoTrack);
            reuse.sender.setStreams(this.stream);
          } else {
            this.pc.addTrack(videoTrack, this.stream);
          }
        } else if (!reuse) {
          this.pc.addTransceiver('video', { direction: 'recvonly' });
        }
      }
      if (this.offerer) await this.negotiate();
      else this.send('control', { renegotiate: true });
    });
  }

  setMicMuted(mute) {
    for (const t of this.stream.getAudioTracks()) t.enabled = !mute;
    this.send('control', { audioMuted: mute });
  }

  setCameraOff(off) {
    for (const t of this.stream.getVideoTracks()) t.enabled = !off;
    this.send('control', { videoMuted: off });
  }

  applyBitrate() {
    if (!this.maxBitrateKbps) return;
    for (const s of this.pc.getSenders()) {
      if (!s.track || s.track.kind !== 'video') continue;
      const p = s.getParameters();
      if (!p.encodings || !p.encodings.length) continue;
      p.encodings[0].maxBitrate = this.maxBitrateKbps * 1000;
      s.setParameters(p).catch(() => {});
    }
  }

  // pollFirstMedia reads stats every few milliseconds from the moment the
  // connection is up until the first audio (and, in a video call, video)
  // packet is in. Not before: getStats stalls the page's main thread for
  // milliseconds, and during negotiation that would delay every relay. The
  // arrival time of the first packet is the last packet's when only one
  // arrived, otherwise estimated back by the count at 20 ms per packet.
  pollFirstMedia() {
    this.polling = true;
    const poll = async () => {
      if (this.closed) return;
      let report;
      try {
        report = await this.pc.getStats();
      } catch {
        return;
      }
      for (const s of report.values()) {
        if (s.type !== 'inbound-rtp' || !s.packetsReceived) continue;
        const last = s.lastPacketReceivedTimestamp || Date.now();
        if (s.kind === 'audio' && !this.firstAudioAt) {
          this.firstAudioAt = last - (s.packetsReceived - 1) * 20;
          this.emit('AUDIO_AVAILABLE', { userId: this.peer, available: true, at: this.firstAudioAt });
        } else if (s.kind === 'video' && !this.firstVideoAt) {
          this.firstVideoAt = s.packetsReceived === 1 ? last : Date.now();
          this.emit('VIDEO_AVAILABLE', { userId: this.peer, available: true, at: this.firstVideoAt });
        }
      }
      const waiting = !this.firstAudioAt || (this.callType === 2 && !this.firstVideoAt);
      if (waiting && Date.now() - this.activatedAt < this.noMediaAfterMs) {
        this.timers.push(setTimeout(poll, FIRST_MEDIA_POLL_MS));
      }
    };
    poll();
  }

  // checkMediaArrived runs once, noMediaAfterMs after accept: a call with
  // no incoming media by then gets a MEDIA_WARNING naming the cause here,
  // and the peer is told (it may itself receive fine).
  async checkMediaArrived() {
    if (this.closed) return;
    const got = await this.inboundPackets();
    if (got > 0) return;
    const cause = await this.noMediaCause();
    this.log('no media', cause);
    this.emit('MEDIA_WARNING', { kind: 'noMedia', error: cause, remote: false, userId: this.peer });
    this.send('control', { mediaWarning: { kind: 'noMedia', error: `the peer receives no media: ${cause}` } });
  }

  async inboundPackets() {
    let n = 0;
    try {
      const report = await this.pc.getStats();
      for (const s of report.values()) if (s.type === 'inbound-rtp') n += s.packetsReceived || 0;
    } catch {
      // closed meanwhile
    }
    return n;
  }

  // noMediaCause names the first stage of the media path that did not
  // complete: descriptions, candidates, ICE, DTLS, then RTP.
  async noMediaCause() {
    const secs = Math.round(this.noMediaAfterMs / 1000);
    const pc = this.pc;
    if (this.lastError) return `media negotiation failed: ${this.lastError}`;
    if (!pc.remoteDescription) {
      return this.offerer
        ? `no answer from the peer within ${secs} s of accept`
        : `no offer from the peer within ${secs} s of accept`;
    }
    if (this.remoteCandidates === 0 && !/a=candidate:/.test(pc.remoteDescription.sdp)) {
      return `no ICE candidates from the peer within ${secs} s (its relayed candidates did not arrive)`;
    }
    const ice = pc.iceConnectionState;
    if (ice === 'new' || ice === 'checking' || ice === 'failed') {
      return `ICE ${ice}: no network path to the peer (${this.localCandidates} local, ${this.remoteCandidates} remote candidates)`;
    }
    const dtls = pc.getSenders().map((s) => s.transport && s.transport.state).find(Boolean) || 'unknown';
    if (dtls !== 'connected') return `DTLS ${dtls}: the encrypted media transport did not come up`;
    const sending = /a=(sendrecv|sendonly)/.test(pc.remoteDescription.sdp);
    if (!sending) return 'the peer sends no media (no microphone or camera)';
    return `connected, but no RTP arrived from the peer within ${secs} s`;
  }

  async sampleStats() {
    if (this.closed) return;
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      return;
    }
    const now = Date.now();
    const cur = { at: now, sent: 0, recv: 0, aSent: 0, aRecv: 0, vSent: 0, vRecv: 0, pkts: 0, lost: 0 };
    const out = {
      channelId: this.channelId, userId: this.peer,
      sendKbps: 0, recvKbps: 0, audioSendKbps: 0, audioRecvKbps: 0, videoSendKbps: 0, videoRecvKbps: 0,
      lossPct: 0, jitterMs: 0, rttMs: 0, fps: 0, width: 0, height: 0, sendFps: 0, sendWidth: 0, sendHeight: 0,
      playoutDelayMs: 0, mos: 0, audioPacketsReceived: 0, videoFramesDecoded: 0,
      audioCodec: '', videoCodec: '', candidateType: '', remoteCandidateType: '',
    };
    const codecs = new Map();
    let pair = null;
    const candidates = new Map();
    for (const s of report.values()) {
      if (s.type === 'codec') codecs.set(s.id, s.mimeType);
      if (s.type === 'local-candidate' || s.type === 'remote-candidate') candidates.set(s.id, s.candidateType);
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
    }
    for (const s of report.values()) {
      const bytesOut = (s.bytesSent || 0) + (s.headerBytesSent || 0);
      const bytesIn = (s.bytesReceived || 0) + (s.headerBytesReceived || 0);
      if (s.type === 'outbound-rtp') {
        cur.sent += bytesOut;
        if (s.kind === 'audio') cur.aSent += bytesOut;
        else {
          cur.vSent += bytesOut;
          out.sendFps = s.framesPerSecond || 0;
          out.sendWidth = s.frameWidth || 0;
          out.sendHeight = s.frameHeight || 0;
        }
      } else if (s.type === 'inbound-rtp') {
        cur.recv += bytesIn;
        cur.pkts += s.packetsReceived || 0;
        cur.lost += Math.max(0, s.packetsLost || 0);
        const codec = codecs.get(s.codecId) || '';
        if (s.kind === 'audio') {
          cur.aRecv += bytesIn;
          out.jitterMs = (s.jitter || 0) * 1000;
          out.audioPacketsReceived = s.packetsReceived || 0;
          out.audioCodec = codec;
          if (s.jitterBufferEmittedCount) {
            out.playoutDelayMs = (s.jitterBufferDelay / s.jitterBufferEmittedCount) * 1000;
          }
        } else {
          cur.vRecv += bytesIn;
          out.fps = s.framesPerSecond || 0;
          out.width = s.frameWidth || 0;
          out.height = s.frameHeight || 0;
          out.videoFramesDecoded = s.framesDecoded || 0;
          out.videoCodec = codec;
        }
      }
    }
    if (pair) {
      out.rttMs = (pair.currentRoundTripTime || 0) * 1000;
      out.candidateType = candidates.get(pair.localCandidateId) || '';
      out.remoteCandidateType = candidates.get(pair.remoteCandidateId) || '';
    }
    const prev = this.prevStats;
    this.prevStats = cur;
    if (prev) {
      const secs = Math.max(0.001, (now - prev.at) / 1000);
      const kbps = (a, b) => Math.max(0, ((a - b) * 8) / 1000 / secs);
      out.sendKbps = kbps(cur.sent, prev.sent);
      out.recvKbps = kbps(cur.recv, prev.recv);
      out.audioSendKbps = kbps(cur.aSent, prev.aSent);
      out.audioRecvKbps = kbps(cur.aRecv, prev.aRecv);
      out.videoSendKbps = kbps(cur.vSent, prev.vSent);
      out.videoRecvKbps = kbps(cur.vRecv, prev.vRecv);
      const lost = cur.lost - prev.lost;
      const total = cur.pkts - prev.pkts + lost;
      out.lossPct = total > 0 ? (100 * lost) / total : 0;
    }
    out.mos = mosFromNetwork(out.rttMs / 2 + out.playoutDelayMs, out.jitterMs, out.lossPct);
    this.lastStats = out;
    this.emit('STATS', out);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.pc.close();
  }
}

// withoutLoopbackServers drops the STUN/TURN URLs whose host is a loopback
// address, as the Go engine does (call/rtc/ice.go): such a server only
// reflects or relays addresses the host candidates already reach, and its
// allocations and relay candidates add work and relays to every call's
// setup. A relay-only session keeps them: there the relay is the point.
export function withoutLoopbackServers(servers) {
  const out = [];
  for (const s of servers) {
    const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => !isLoopbackICEURL(u));
    if (urls.length) out.push({ ...s, urls });
  }
  return out;
}

// isLoopbackICEURL reports a stun:/turn:/turns: URL whose host is
// localhost or a loopback IP (127.0.0.0/8, ::1).
export function isLoopbackICEURL(u) {
  const m = /^[a-z]+:(\[[^\]]*\]|[^:?]*)/i.exec(String(u));
  if (!m) return false;
  const host = m[1].replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '0:0:0:0:0:0:0:1';
}

// cleanCandidate keeps exactly the documented RTCIceCandidateInit fields
// (browsers add none today, but the server refuses unknown ones).
function cleanCandidate(c) {
  const out = { candidate: c.candidate || '' };
  if (c.sdpMid !== undefined && c.sdpMid !== null) out.sdpMid = c.sdpMid;
  if (c.sdpMLineIndex !== undefined && c.sdpMLineIndex !== null) out.sdpMLineIndex = c.sdpMLineIndex;
  if (c.usernameFragment) out.usernameFragment = c.usernameFragment;
  return out;
}
