// necallkit.js — NeCallKit's call API for the browser, over softphone's
// signaling protocol (docs/protocol.md) and WebRTC. The method and event
// names are the seed's (NeCallKit for mini programs): login, call, accept,
// reject, cancel, hangup, switchCallType, setCallTimeout, on, off, and the
// EVENT constants INVITED … MESSAGE_SENT. Usage: docs/web-client.md.

import { Signaling, SignalingError } from './signaling.js';
import { MediaSession } from './media.js';
import { normLanguage, recordText } from './i18n.js';

// EVENT holds the event names. The values are the names on the wire and in
// the Go engine; on/off also take the seed's strings (onInvited, …).
export const EVENT = Object.freeze({
  INVITED: 'INVITED',
  USER_ACCEPT: 'USER_ACCEPT',
  USER_REJECT: 'USER_REJECT',
  USER_BUSY: 'USER_BUSY',
  USER_CANCEL: 'USER_CANCEL',
  CALLING_TIMEOUT: 'CALLING_TIMEOUT',
  CALL_END: 'CALL_END',
  OTHER_CLIENT_ACCEPT: 'OTHER_CLIENT_ACCEPT',
  OTHER_CLIENT_REJECT: 'OTHER_CLIENT_REJECT',
  CALL_TYPE_CHANGE: 'CALL_TYPE_CHANGE',
  AUDIO_AVAILABLE: 'AUDIO_AVAILABLE',
  VIDEO_AVAILABLE: 'VIDEO_AVAILABLE',
  AUDIO_MUTED: 'AUDIO_MUTED',
  VIDEO_MUTED: 'VIDEO_MUTED',
  MESSAGE_SENT: 'MESSAGE_SENT',
  PRESENCE: 'PRESENCE',
  STATS: 'STATS',
  MEDIA_WARNING: 'MEDIA_WARNING',
  DISCONNECT: 'onDisconnect',
  RECONNECTED: 'RECONNECTED',
  SESSION_ENDED: 'SESSION_ENDED',
  ERROR: 'ERROR',
});

// The seed's event strings (its EVENT values), accepted by on/off.
const SEED_NAMES = {
  onInvited: EVENT.INVITED,
  onUserAccept: EVENT.USER_ACCEPT,
  onUserReject: EVENT.USER_REJECT,
  onUserBusy: EVENT.USER_BUSY,
  onUserCancel: EVENT.USER_CANCEL,
  onCallingTimeOut: EVENT.CALLING_TIMEOUT,
  onCallEnd: EVENT.CALL_END,
  onOtherClientAccept: EVENT.OTHER_CLIENT_ACCEPT,
  onOtherClientReject: EVENT.OTHER_CLIENT_REJECT,
  onCallTypeChange: EVENT.CALL_TYPE_CHANGE,
  onAudioAvailable: EVENT.AUDIO_AVAILABLE,
  onCameraAvailable: EVENT.VIDEO_AVAILABLE,
  onAudioMuted: EVENT.AUDIO_MUTED,
  onVideoMuted: EVENT.VIDEO_MUTED,
  onMessageSent: EVENT.MESSAGE_SENT,
  onError: EVENT.ERROR,
};

// CallingStatus is NeCallKit's call state.
export const CallingStatus = Object.freeze({ idle: 0, calling: 1, called: 2, inCall: 3 });
export const CallType = Object.freeze({ AUDIO: 1, VIDEO: 2 });

// NeCallKit's error codes for an operation in a state that does not allow
// it (columns: idle, calling, called, inCall; 0 = allowed).
const STATE_TABLE = {
  call: [0, 20002, 20003, 20004],
  hangup: [20005, 0, 0, 0],
  cancel: [20013, 0, 20015, 20016],
  accept: [20017, 20018, 0, 20020],
  reject: [20021, 20022, 0, 20024],
  switchCallType: [20025, 20026, 20027, 0],
};
const STATE_NAMES = ['idle', 'calling', 'called', 'inCall'];

// Reply codes meaning the channel can no longer be acted on by this device.
const CHANNEL_GONE = new Set([10404, 10406, 10408, 10409, 10410]);
// Re-login refusals that end the session instead of retrying.
const LOGIN_REFUSED = new Set([401, 403, 404]);
const MAX_EARLY_RELAYS = 256;

// CallKitError is what failed methods reject with (and pass to fail):
// code is a protocol code (docs/protocol.md) or a state-table code.
export class CallKitError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'CallKitError';
    this.code = code;
  }
}

function toKitError(err) {
  if (err instanceof CallKitError) return err;
  if (err instanceof SignalingError) return new CallKitError(err.code, err.message);
  return new CallKitError(500, err && err.message ? err.message : String(err));
}

function randomId(prefix) {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// deviceId keeps one id per browser tab (sessionStorage), so a reload
// resumes the tab's session and two tabs are two devices.
function deviceId() {
  try {
    let id = sessionStorage.getItem('softphone.device');
    if (!id) {
      id = randomId('w');
      sessionStorage.setItem('softphone.device', id);
    }
    return id;
  } catch {
    return randomId('w');
  }
}

// defaultServer is the signaling URL of the server that served the page.
export function defaultServer() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/v1/ws`;
}

// normalizeServer accepts ws(s)://, http(s):// or host:port and adds the
// endpoint path when it is missing, as the Go engine does.
export function normalizeServer(s) {
  s = String(s || '').trim();
  if (!s) return defaultServer();
  if (!s.includes('://')) s = `ws://${s}`;
  const u = new URL(s);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new CallKitError(400, `server ${s}: scheme must be ws, wss, http or https`);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/v1/ws';
  return u.toString();
}

// NECallKit is one logged-in device.
export class NECallKit {
  // config: server (default: the page's server), language ('zh'|'en'),
  // openMicrophone, openCamera, videoWidth, videoHeight, maxBitrate (kbps,
  // video), relayOnly, checkSum (default true), device, prepareMediaOnInvite
  // (default true: open the microphone/camera when a call rings, so
  // answering starts media at once), noMediaAfterMs, debug.
  constructor(config = {}) {
    this.config = {
      server: '', language: 'zh', openMicrophone: true, openCamera: true,
      videoWidth: 640, videoHeight: 360, maxBitrate: 0, relayOnly: false, checkSum: true,
      device: '', prepareMediaOnInvite: true, noMediaAfterMs: undefined, debug: false,
      reconnectMin: 200, reconnectMax: 5000, requestTimeout: 10000,
      ...config,
    };
    this.config.language = normLanguage(this.config.language);
    this.EVENT = EVENT;
    this.device = this.config.device || deviceId();
    this.handlers = new Map();
    this.state = CallingStatus.idle;
    this.cur = null; // {channelId, requestId, channelName, peer, callType, outgoing, mediaToken}
    this.invite = null;
    this.early = []; // channel events that beat our call's reply
    this.earlyRelay = [];
    this.seen = new Set();
    this.sig = null;
    this.account = '';
    this.token = '';
    this.loginReply = null;
    this.iceServers = [];
    this.loggedIn = false;
    this.reconnectTimer = 0;
    this.session = null;
    this.stream = null; // local MediaStream of the call
    this.micMuted = false;
    this.camOff = false;
    this.remoteAudioMuted = false;
    this.callTimeout = 0;
    this.views = { local: null, remote: null };
  }

  log(...args) {
    if (this.config.debug) console.debug('[necallkit]', Date.now(), ...args);
  }

  // ---- events ----

  // on registers handler for an event (EVENT value, seed name, or '*');
  // it is called as handler.call(context, {eventCode, data}).
  on(eventCode, handler, context) {
    const name = SEED_NAMES[eventCode] || eventCode;
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push({ handler, context });
    return this;
  }

  // off removes handler, or every handler of the event without one.
  off(eventCode, handler) {
    const name = SEED_NAMES[eventCode] || eventCode;
    if (!handler) this.handlers.delete(name);
    else this.handlers.set(name, (this.handlers.get(name) || []).filter((h) => h.handler !== handler));
    return this;
  }

  emit(eventCode, data) {
    this.log('event', eventCode, data);
    const hs = [...(this.handlers.get(eventCode) || []), ...(this.handlers.get('*') || [])];
    for (const h of hs) {
      try {
        h.handler.call(h.context, { eventCode, data });
      } catch (err) {
        console.error(`necallkit: ${eventCode} handler failed`, err);
      }
    }
  }

  // ---- helpers for the seed's success/fail callbacks ----

  async settle(opts, fn) {
    try {
      const res = await fn();
      if (opts && typeof opts.success === 'function') opts.success(res);
      return res;
    } catch (e) {
      const err = toKitError(e);
      if (opts && typeof opts.fail === 'function') opts.fail(err);
      throw err;
    }
  }

  checkState(op) {
    const code = STATE_TABLE[op][this.state];
    if (code) throw new CallKitError(code, `${op} is not allowed while ${STATE_NAMES[this.state]}`);
  }

  request(type, data) {
    if (!this.loggedIn) return Promise.reject(new CallKitError(440, 'not logged in'));
    if (!this.sig || this.sig.closed) return Promise.reject(new CallKitError(503, 'signaling connection lost; reconnecting'));
    return this.sig.request(type, data);
  }

  // ---- login ----

  // login({account, token, success, fail}) connects and logs in; after it
  // the kit reconnects by itself until logout.
  login(opts = {}) {
    return this.settle(opts, async () => {
      if (this.loggedIn) throw new CallKitError(409, `already logged in as ${this.account}`);
      this.account = opts.account;
      this.token = opts.token || '';
      const reply = await this.connect(false);
      this.loggedIn = true;
      return reply;
    });
  }

  async connect(reconnect) {
    const url = normalizeServer(this.config.server);
    const sig = new Signaling(url, {
      onEvent: (name, data) => this.handleEvent(sig, name, data),
      onClose: (reason) => this.onSignalingClosed(sig, reason),
      requestTimeout: this.config.requestTimeout,
      trace: this.config.debug ? (dir, text) => this.log(dir, text.length > 160 ? `${text.slice(0, 160)}…` : text) : null,
    });
    await sig.open();
    this.sig = sig;
    let reply;
    try {
      reply = await sig.request('login', {
        account: this.account, token: this.token, device: this.device,
        checkSum: this.config.checkSum !== false, client: 'softphone-web/1',
      });
    } catch (err) {
      if (this.sig === sig) this.sig = null;
      sig.close();
      throw err;
    }
    this.loginReply = reply;
    this.iceServers = reply.iceServers || [];
    sig.startKeepalive();
    if (reconnect) {
      this.emit(EVENT.RECONNECTED, { account: this.account, device: this.device, state: STATE_NAMES[this.state] });
    }
    this.reconcile(reply.calls || []);
    return reply;
  }

  onSignalingClosed(sig, reason) {
    if (sig !== this.sig) return;
    this.sig = null;
    if (!this.loggedIn) return;
    this.emit(EVENT.DISCONNECT, { error: reason, reconnecting: true });
    this.scheduleReconnect(this.config.reconnectMin);
  }

  scheduleReconnect(delay) {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(async () => {
      if (!this.loggedIn) return;
      try {
        await this.connect(true);
      } catch (err) {
        if (err instanceof SignalingError && LOGIN_REFUSED.has(err.code)) {
          this.loggedIn = false;
          this.toIdle();
          this.emit(EVENT.DISCONNECT, { error: err.message, reconnecting: false });
          return;
        }
        const next = Math.min(delay * 2, this.config.reconnectMax);
        this.scheduleReconnect(next * (0.75 + Math.random() / 2));
      }
    }, delay);
  }

  // logout({success, fail}) ends the session on the server and stops
  // reconnecting; any call ends at once.
  logout(opts = {}) {
    return this.settle(opts, async () => {
      clearTimeout(this.reconnectTimer);
      const sig = this.sig;
      const was = this.loggedIn;
      this.loggedIn = false;
      this.toIdle();
      if (sig && was) {
        try {
          await sig.request('logout');
        } finally {
          this.sig = null;
          sig.close();
        }
      }
      return {};
    });
  }

  // ---- calls ----

  // setCallTimeout(ms): ring timeout of the next call, 1000–120000 ms (the
  // server enforces it; 0 = the server's default, 30 s).
  setCallTimeout(ms) {
    if (ms !== 0 && !(ms >= 1000 && ms <= 120000)) throw new CallKitError(400, `call timeout ${ms} ms: must be between 1000 and 120000`);
    this.callTimeout = ms;
  }

  // call({userId, type, attachment, success, fail}) invites userId to an
  // audio (1) or video (2) call.
  call(opts = {}) {
    return this.settle(opts, async () => {
      this.checkState('call');
      if (!this.loggedIn) throw new CallKitError(440, 'not logged in');
      const type = Number(opts.type || CallType.AUDIO);
      if (type !== 1 && type !== 2) throw new CallKitError(106, `call type ${opts.type}: must be 1 (audio) or 2 (video)`);
      const cur = { channelId: '', peer: opts.userId, callType: type, outgoing: true, mediaToken: '' };
      this.state = CallingStatus.calling;
      this.cur = cur;
      const req = { to: opts.userId, callType: type };
      if (opts.attachment !== undefined) req.attachment = opts.attachment;
      if (this.callTimeout) req.timeoutMs = this.callTimeout;
      // The invite goes out first; the camera and microphone open and the
      // peer connection is built while it travels, and the offer is made
      // and candidates gathered while it rings: they leave the moment the
      // callee accepts.
      const replyP = this.request('call', req);
      const session = this.createSession(cur);
      session.start(this.adoptMedia(cur, this.openMedia(type)), this.mediaWant(type));
      let reply;
      try {
        reply = await replyP;
      } catch (err) {
        if (this.cur === cur) {
          const early = this.early;
          this.toIdle();
          this.early = early;
          this.replayEarly();
        }
        throw err;
      }
      if (this.cur !== cur) return reply;
      Object.assign(cur, { channelId: reply.channelId, requestId: reply.requestId, channelName: reply.channelName });
      session.channelId = reply.channelId;
      this.replayEarly();
      return { ...reply };
    });
  }

  // accept({success, fail}) answers the ringing invite (the INVITED data may
  // be passed back, as in the seed).
  accept(opts = {}) {
    return this.settle(opts, async () => {
      this.checkState('accept');
      const cur = this.cur;
      if (opts.channelId && opts.channelId !== cur.channelId) throw new CallKitError(10408, `invite ${opts.channelId} is not the ringing call`);
      const session = this.session;
      let reply;
      try {
        const replyP = this.request('accept', { channelId: cur.channelId });
        // Without prepareMediaOnInvite the devices open now, while the
        // accept travels.
        if (session && !session.started) session.start(this.adoptMedia(cur, this.openMedia(cur.callType)), this.mediaWant(cur.callType));
        reply = await replyP;
      } catch (err) {
        if (this.cur === cur && CHANNEL_GONE.has(err.code)) this.toIdle();
        throw err;
      }
      if (this.cur !== cur) return reply;
      cur.mediaToken = reply.mediaToken || '';
      this.state = CallingStatus.inCall;
      this.invite = null;
      if (this.session) this.session.activate();
      return { channelId: reply.channelId };
    });
  }

  // reject({success, fail}) declines the ringing invite.
  reject(opts = {}) {
    return this.settle(opts, async () => {
      this.checkState('reject');
      const cur = this.cur;
      try {
        await this.request('reject', { channelId: cur.channelId });
      } catch (err) {
        if (this.cur === cur && CHANNEL_GONE.has(err.code)) this.toIdle();
        throw err;
      }
      if (this.cur === cur) this.toIdle();
      return {};
    });
  }

  // cancel({success, fail}) withdraws our ringing call; USER_CANCEL follows
  // here with our own account, as in the seed.
  cancel(opts = {}) {
    return this.settle(opts, async () => {
      this.checkState('cancel');
      const cur = this.cur;
      if (!cur.channelId) throw new CallKitError(409, 'call setup still in progress');
      try {
        await this.request('cancel', { channelId: cur.channelId });
      } catch (err) {
        if (this.cur === cur && err.code !== 10410 && CHANNEL_GONE.has(err.code)) this.toIdle();
        throw err;
      }
      if (this.cur === cur && this.state === CallingStatus.calling) {
        this.toIdle();
        this.emit(EVENT.USER_CANCEL, { channelId: cur.channelId, userId: this.account, device: this.device });
      }
      return {};
    });
  }

  // hangup({success, fail}) ends whatever goes on: calling → cancel,
  // called → reject, inCall → hang up (CALL_END follows here).
  hangup(opts = {}) {
    if (this.state === CallingStatus.calling) return this.cancel(opts);
    if (this.state === CallingStatus.called) return this.reject(opts);
    return this.settle(opts, async () => {
      this.checkState('hangup');
      const cur = this.cur;
      try {
        await this.request('hangup', { channelId: cur.channelId });
      } catch (err) {
        if (this.cur === cur && (CHANNEL_GONE.has(err.code) || err.code === 10411)) this.toIdle();
        throw err;
      }
      if (this.cur === cur) {
        this.toIdle();
        this.emit(EVENT.CALL_END, { channelId: cur.channelId, userId: this.account, device: this.device, reason: 'hangup' });
      }
      return {};
    });
  }

  // switchCallType({type, state, success, fail}): video→audio applies at
  // once; audio→video asks the peer (state 'invite'), which answers with
  // state 'agree' or 'reject'. CALL_TYPE_CHANGE reports the outcome.
  switchCallType(opts = {}) {
    return this.settle(opts, async () => {
      this.checkState('switchCallType');
      const type = Number(opts.type);
      if (type !== 1 && type !== 2) throw new CallKitError(106, `call type ${opts.type}: must be 1 (audio) or 2 (video)`);
      const req = { channelId: this.cur.channelId, callType: type };
      if (opts.state) req.state = opts.state;
      await this.request('switch', req);
      return {};
    });
  }

  // ---- media controls ----

  // muteLocalAudio(mute): stop or resume sending the microphone.
  muteLocalAudio(mute) {
    this.micMuted = !!mute;
    if (this.stream) for (const t of this.stream.getAudioTracks()) t.enabled = !this.micMuted;
    if (this.session) this.session.setMicMuted(this.micMuted);
    this.emit(EVENT.AUDIO_MUTED, { userId: this.account, mute: this.micMuted });
  }

  // enableLocalVideo(enabled): camera on, or black frames instead.
  enableLocalVideo(enabled) {
    this.camOff = !enabled;
    if (this.stream) for (const t of this.stream.getVideoTracks()) t.enabled = !this.camOff;
    if (this.session) this.session.setCameraOff(this.camOff);
    this.emit(EVENT.VIDEO_MUTED, { userId: this.account, mute: this.camOff });
  }

  muteLocalVideo(mute) {
    this.enableLocalVideo(!mute);
  }

  // setAudioMute({mute, userId}) mutes the peer's audio here (playback only).
  setAudioMute({ mute } = {}) {
    this.remoteAudioMuted = !!mute;
    if (this.session) for (const t of this.session.remoteStream.getAudioTracks()) t.enabled = !this.remoteAudioMuted;
  }

  // setupLocalView / setupRemoteView: <video> elements the kit keeps showing
  // the local preview and the peer (the remote one also plays its audio).
  setupLocalView(el) {
    this.views.local = el;
    this.attachViews();
  }

  setupRemoteView(el) {
    this.views.remote = el;
    this.attachViews();
  }

  attachViews() {
    const { local, remote } = this.views;
    if (local && local.srcObject !== this.stream) {
      local.muted = true;
      local.srcObject = this.stream;
    }
    const rs = this.session ? this.session.remoteStream : null;
    if (remote && remote.srcObject !== rs) {
      remote.srcObject = rs;
      if (rs) remote.play().catch(() => {});
    }
  }

  // getStats returns the last STATS sample of the call (null without one).
  getStats() {
    return this.session ? this.session.lastStats : null;
  }

  // ---- contacts and records ----

  async contacts() {
    return (await this.request('contacts')).contacts || [];
  }

  async addContact(account) {
    return (await this.request('contact.add', { account })).contacts || [];
  }

  async removeContact(account) {
    return (await this.request('contact.remove', { account })).contacts || [];
  }

  // records({peer, limit}) lists our call records, newest first, each with
  // the seed's status text and direction.
  async records({ peer, limit } = {}) {
    const q = {};
    if (peer) q.peer = peer;
    if (limit) q.limit = limit;
    const r = await this.request('records', q);
    return (r.records || []).map((rec) => this.decorate(rec));
  }

  decorate(rec) {
    const incoming = rec.to === this.account && rec.from !== this.account;
    return { ...rec, text: recordText(rec, this.account, this.config.language), direction: incoming ? 'incoming' : 'outgoing' };
  }

  // ---- internals: media ----

  // mediaWant is what openMedia opens for a call of type: {audio, video}.
  mediaWant(type) {
    return { audio: this.config.openMicrophone !== false, video: type === 2 && this.config.openCamera !== false };
  }

  // openMedia opens the microphone and, for video, the camera; a device that
  // fails is reported with MEDIA_WARNING and the call goes on without it.
  async openMedia(type) {
    const want = this.mediaWant(type);
    const videoC = { width: { ideal: this.config.videoWidth }, height: { ideal: this.config.videoHeight } };
    const get = (audio, video) => navigator.mediaDevices.getUserMedia({ audio, video: video ? videoC : false });
    if (!navigator.mediaDevices || (!want.audio && !want.video)) return new MediaStream();
    try {
      return await get(want.audio, want.video);
    } catch (err) {
      if (want.audio && want.video) {
        // Try each alone so one missing device does not cost the other.
        const stream = new MediaStream();
        for (const kind of ['audio', 'video']) {
          try {
            const s = await get(kind === 'audio', kind === 'video');
            for (const t of s.getTracks()) stream.addTrack(t);
          } catch (e) {
            this.emit(EVENT.MEDIA_WARNING, { kind, error: `${e.name}: ${e.message}` });
          }
        }
        return stream;
      }
      this.emit(EVENT.MEDIA_WARNING, { kind: want.video ? 'video' : 'audio', error: `${err.name}: ${err.message}` });
      return new MediaStream();
    }
  }

  // adoptMedia makes the opened devices the call's local stream, unless
  // the call ended meanwhile (then they are released).
  adoptMedia(cur, mediaPromise) {
    return mediaPromise.then((stream) => {
      if (this.cur !== cur) {
        stopStream(stream);
        return new MediaStream();
      }
      stopStream(this.stream);
      this.stream = stream;
      for (const t of stream.getAudioTracks()) t.enabled = !this.micMuted;
      for (const t of stream.getVideoTracks()) t.enabled = !this.camOff;
      this.attachViews();
      return stream;
    });
  }

  // createSession builds the call's peer connection; it sends nothing
  // until activate (the call is active).
  createSession(cur) {
    if (this.session) this.session.close();
    const s = new MediaSession({
      channelId: cur.channelId,
      peer: cur.peer,
      offerer: cur.outgoing,
      callType: cur.callType,
      iceServers: this.iceServers,
      relayOnly: this.config.relayOnly,
      maxBitrateKbps: this.config.maxBitrate,
      noMediaAfterMs: this.config.noMediaAfterMs,
      relay: (kind, payload) => this.relay(cur, kind, payload),
      emit: (name, data) => {
        if (this.session === s) this.emit(name, data);
      },
      log: (...a) => this.log(...a),
      onRemoteStream: () => {
        if (this.session === s) this.attachViews();
      },
    });
    this.session = s;
    const early = this.earlyRelay.filter((r) => r.channelId === cur.channelId);
    this.earlyRelay = [];
    for (const r of early) s.deliver(r.kind, r.payload);
    return s;
  }

  relay(cur, kind, payload) {
    return this.request('relay', { channelId: cur.channelId, token: cur.mediaToken, kind, payload }).catch((err) => {
      // A refused relay is a bug on one side: say so rather than fail silently.
      this.emit(EVENT.ERROR, { code: err.code, message: `relay ${kind}: ${err.message}` });
      throw err;
    });
  }

  applyCallType(type) {
    const s = this.session;
    if (!s) return;
    if (type === 1) {
      s.setCallType(1);
      return;
    }
    const want = this.config.openCamera !== false;
    const video = want
      ? navigator.mediaDevices.getUserMedia({ video: { width: { ideal: this.config.videoWidth }, height: { ideal: this.config.videoHeight } } })
      : Promise.resolve(null);
    video.then(
      (vs) => {
        const track = vs ? vs.getVideoTracks()[0] : null;
        if (this.session !== s) {
          if (track) track.stop();
          return;
        }
        if (track) track.enabled = !this.camOff;
        s.setCallType(2, track);
        this.attachViews();
      },
      (err) => {
        this.emit(EVENT.MEDIA_WARNING, { kind: 'video', error: `${err.name}: ${err.message}` });
        if (this.session === s) s.setCallType(2, null);
      },
    );
  }

  // toIdle ends the local side of a call: media closed, devices released.
  toIdle() {
    if (this.session) {
      this.session.close();
      this.session = null;
    }
    stopStream(this.stream);
    this.stream = null;
    this.state = CallingStatus.idle;
    this.cur = null;
    this.invite = null;
    this.early = [];
    this.earlyRelay = [];
    this.attachViews();
  }

  // ---- internals: events ----

  handleEvent(sig, name, data) {
    if (sig !== this.sig) return;
    switch (name) {
      case EVENT.INVITED:
        this.onInvite(data);
        return;
      case EVENT.USER_ACCEPT:
      case EVENT.USER_REJECT:
      case EVENT.USER_BUSY:
      case EVENT.USER_CANCEL:
      case EVENT.CALLING_TIMEOUT:
      case EVENT.CALL_END:
      case EVENT.OTHER_CLIENT_ACCEPT:
      case EVENT.OTHER_CLIENT_REJECT:
        if (this.stash(name, data)) return;
        this.onPeer(name, data);
        return;
      case EVENT.CALL_TYPE_CHANGE:
        if (this.stash(name, data)) return;
        if (this.cur && data.channelId === this.cur.channelId && data.state === 'agree' && (data.callType === 1 || data.callType === 2)) {
          const changed = this.cur.callType !== data.callType;
          this.cur.callType = data.callType;
          if (changed) this.applyCallType(data.callType);
        }
        this.emit(name, data);
        return;
      case EVENT.MESSAGE_SENT:
        this.emit(name, this.decorate(data));
        return;
      case 'RELAY':
        this.onRelay(data);
        return;
      case 'SESSION_ENDED':
        // The token was reset or the account removed: logging in again with
        // the same token cannot work, so the kit stops here.
        this.emit(name, data);
        this.loggedIn = false;
        clearTimeout(this.reconnectTimer);
        this.toIdle();
        this.emit(EVENT.DISCONNECT, { error: data.message || data.reason, reason: data.reason, reconnecting: false });
        return;
      default:
        this.emit(name, data);
    }
  }

  stash(name, data) {
    if (this.state !== CallingStatus.calling || !this.cur || this.cur.channelId) return false;
    this.early.push([name, data]);
    return true;
  }

  replayEarly() {
    const early = this.early;
    this.early = [];
    for (const [name, data] of early) this.handleEvent(this.sig, name, data);
  }

  onInvite(inv) {
    if (this.seen.has(inv.channelId)) return;
    this.seen.add(inv.channelId);
    if (this.seen.size > 512) this.seen.delete(this.seen.values().next().value);
    if (this.state !== CallingStatus.idle) return; // the server answers busy for us
    this.state = CallingStatus.called;
    this.cur = {
      channelId: inv.channelId, requestId: inv.requestId, channelName: inv.channelName,
      peer: inv.from, callType: inv.callType, outgoing: false, mediaToken: '',
    };
    this.invite = inv;
    // The peer connection is built while it rings, and with
    // prepareMediaOnInvite the devices open too, so accepting only has to
    // answer the caller's offer.
    const session = this.createSession(this.cur);
    if (this.config.prepareMediaOnInvite) session.start(this.adoptMedia(this.cur, this.openMedia(inv.callType)), this.mediaWant(inv.callType));
    // The seed's INVITED data also names the caller `invitor` and the call
    // type `type`.
    this.emit(EVENT.INVITED, { ...inv, invitor: inv.from, type: inv.callType, isFromGroup: false, userIds: [] });
  }

  onPeer(name, p) {
    const data = { ...p };
    delete data.mediaToken; // a secret: never handed to handlers
    delete data.tokenExpiresAt;
    if (this.cur && p.channelId === this.cur.channelId) {
      if (name === EVENT.USER_ACCEPT) {
        if (this.state === CallingStatus.calling) {
          this.state = CallingStatus.inCall;
          this.cur.mediaToken = p.mediaToken || '';
          if (this.session) this.session.activate();
        }
      } else {
        this.toIdle();
      }
    }
    this.emit(name, data);
  }

  onRelay(r) {
    if (!this.cur || r.channelId !== this.cur.channelId) return;
    if (this.session) {
      this.session.deliver(r.kind, r.payload);
    } else if (this.earlyRelay.length < MAX_EARLY_RELAYS) {
      this.earlyRelay.push(r);
    }
  }

  // reconcile aligns the local state with the server's after a (re)login:
  // resume an active call, ring a pending invite once, end what ended.
  reconcile(calls) {
    const byId = new Map(calls.map((c) => [c.channelId, c]));
    const cur = this.cur;
    if (cur && cur.channelId) {
      const cs = byId.get(cur.channelId);
      byId.delete(cur.channelId);
      if (!cs || cs.state === 'ended') {
        this.toIdle();
        this.emit(EVENT.CALL_END, { channelId: cur.channelId, userId: cur.peer, reason: 'endedWhileDisconnected' });
      } else if (cs.state === 'active') {
        if (cs.callType === 1 || cs.callType === 2) cur.callType = cs.callType;
        if (cs.mediaToken) cur.mediaToken = cs.mediaToken;
        if (this.state === CallingStatus.calling) {
          this.state = CallingStatus.inCall;
          this.emit(EVENT.USER_ACCEPT, { channelId: cur.channelId, userId: cur.peer });
          if (this.session) this.session.activate();
        } else if (this.state === CallingStatus.called) {
          this.state = CallingStatus.inCall;
          this.invite = null;
          if (!this.session) this.createSession(cur);
          if (!this.session.started) this.session.start(this.adoptMedia(cur, this.openMedia(cur.callType)), this.mediaWant(cur.callType));
          this.session.activate();
        }
      }
    }
    if (this.state !== CallingStatus.idle) return;
    for (const cs of byId.values()) {
      if (cs.state === 'ringing' && cs.to === this.account && cs.from !== this.account) {
        this.onInvite({
          channelId: cs.channelId, requestId: cs.requestId, channelName: cs.channelName, from: cs.from,
          fromNick: cs.fromNick, to: cs.to, callType: cs.callType, attachment: cs.attachment,
          createdAt: cs.createdAt, expiresAt: cs.expiresAt, offline: true,
        });
      } else if (cs.state === 'ringing' || cs.state === 'active') {
        // A call this device took part in before a reload: take it over.
        const out = cs.from === this.account;
        this.seen.add(cs.channelId);
        this.cur = {
          channelId: cs.channelId, requestId: cs.requestId, channelName: cs.channelName,
          peer: out ? cs.to : cs.from, callType: cs.callType, outgoing: out, mediaToken: cs.mediaToken || '',
        };
        this.state = cs.state === 'active' ? CallingStatus.inCall : CallingStatus.calling;
        this.createSession(this.cur).start(this.adoptMedia(this.cur, this.openMedia(cs.callType)), this.mediaWant(cs.callType));
        if (this.state === CallingStatus.inCall) this.session.activate();
      }
      if (this.state !== CallingStatus.idle) return;
    }
  }
}

function stopStream(s) {
  if (s) for (const t of s.getTracks()) t.stop();
}
