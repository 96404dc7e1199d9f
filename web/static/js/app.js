// app.js — the web client's screens over the NECallKit module: log in,
// contacts with live presence, calls, the incoming prompt with its
// countdown, the in-call view, history with the seed's record texts, zh/en.

import { NECallKit, EVENT, CallingStatus, defaultServer } from './necallkit.js';
import { translator, normLanguage, recordText } from './i18n.js';
import { qualityLevel } from './quality.js';

const $ = (id) => document.getElementById(id);
const PRESENCE_ORDER = { inCall: 0, online: 1, offline: 2, pending: 3 };
const LOG_LINES = 200;

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function when(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export class App {
  constructor() {
    const params = new URLSearchParams(location.search);
    this.lang = normLanguage(params.get('lang') || localStorage.getItem('softphone.lang') || 'zh');
    this.t = translator(this.lang);
    this.relayOnly = params.get('relayOnly') === '1';
    this.debug = params.get('debug') === '1';
    this.kit = null;
    this.contacts = [];
    this.records = [];
    this.clockSkew = 0; // server clock − local clock, ms
    this.acceptedAt = 0;
    this.deadline = 0; // ring deadline (local clock) of the call shown
    this.ticker = 0;
    this.toastTimer = 0;
    this.warnings = [];
    this.peerMuted = false;
    this.peerCamOff = false;
    this.lastStats = null;
  }

  init() {
    $('server').value = localStorage.getItem('softphone.server') || defaultServer();
    $('account').value = localStorage.getItem('softphone.account') || '';
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.login();
    });
    $('btn-lang').addEventListener('click', () => this.setLanguage(this.lang === 'zh' ? 'en' : 'zh'));
    $('btn-logout').addEventListener('click', () => this.logout());
    $('tab-contacts').addEventListener('click', () => this.showTab('contacts'));
    $('tab-history').addEventListener('click', () => this.showTab('history'));
    $('add-contact-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.addContact($('add-contact').value.trim());
    });
    $('btn-accept').addEventListener('click', () => this.act(async () => {
      await this.kit.accept();
      this.acceptedAt = Date.now();
      this.renderCall();
    }));
    $('btn-reject').addEventListener('click', () => this.act(() => this.kit.reject()));
    $('btn-hangup').addEventListener('click', () => this.act(() => this.kit.hangup()));
    $('btn-mute').addEventListener('click', () => this.kit.muteLocalAudio(!this.kit.micMuted));
    $('btn-camera').addEventListener('click', () => this.kit.enableLocalVideo(this.kit.camOff));
    $('btn-switch').addEventListener('click', () => this.switchType());
    $('btn-switch-agree').addEventListener('click', () => this.answerSwitch('agree'));
    $('btn-switch-refuse').addEventListener('click', () => this.answerSwitch('reject'));
    this.renderTexts();
    window.softphoneApp = this; // for the console and for tests
  }

  // ---- language ----

  setLanguage(lang) {
    this.lang = normLanguage(lang);
    this.t = translator(this.lang);
    localStorage.setItem('softphone.lang', this.lang);
    if (this.kit) this.kit.config.language = this.lang;
    this.renderTexts();
    this.renderContacts();
    this.renderHistory();
    this.renderCall();
  }

  renderTexts() {
    document.documentElement.lang = this.lang === 'zh' ? 'zh-CN' : 'en';
    document.title = this.t('title');
    for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = this.t(e.dataset.i18n);
    for (const e of document.querySelectorAll('[data-i18n-placeholder]')) e.placeholder = this.t(e.dataset.i18nPlaceholder);
  }

  // ---- login ----

  async login() {
    const server = $('server').value.trim();
    const account = $('account').value.trim();
    const token = $('token').value;
    $('login-error').textContent = this.t('loggingIn');
    $('btn-login').disabled = true;
    const kit = new NECallKit({ server, language: this.lang, relayOnly: this.relayOnly, debug: this.debug });
    this.bind(kit);
    try {
      const reply = await kit.login({ account, token });
      this.clockSkew = reply.serverTime - Date.now();
      localStorage.setItem('softphone.server', server);
      localStorage.setItem('softphone.account', account);
      this.kit = kit;
      $('token').value = '';
      $('login-error').textContent = '';
      $('me').textContent = reply.nickName ? `${reply.nickName} (${account})` : account;
      $('login-view').hidden = true;
      $('home-view').hidden = false;
      $('btn-logout').hidden = false;
      kit.setupLocalView($('local-video'));
      kit.setupRemoteView($('remote-video'));
      this.setConn('');
      await this.refresh();
      this.renderCall();
    } catch (err) {
      kit.off('*');
      $('login-error').textContent = `${this.t('errorPrefix')} ${err.code}: ${err.message}`;
    } finally {
      $('btn-login').disabled = false;
    }
  }

  async logout() {
    if (!this.kit) return;
    const kit = this.kit;
    this.kit = null;
    await kit.logout().catch(() => {});
    kit.off('*');
    $('home-view').hidden = true;
    $('call-view').hidden = true;
    $('incoming').hidden = true;
    $('login-view').hidden = false;
    $('btn-logout').hidden = true;
    $('me').textContent = '';
    this.setConn('');
  }

  async refresh() {
    const [contacts, records] = await Promise.all([this.kit.contacts(), this.kit.records({ limit: 100 })]);
    this.contacts = contacts;
    this.records = records;
    this.renderContacts();
    this.renderHistory();
  }

  // act runs a kit call and shows its failure.
  async act(fn) {
    try {
      await fn();
    } catch (err) {
      this.toast(`${this.t('errorPrefix')} ${err.code}: ${err.message}`);
    }
  }

  setConn(text, bad) {
    $('conn-status').textContent = text;
    $('conn-status').classList.toggle('bad', !!bad);
  }

  toast(text) {
    const t = $('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => {
      t.hidden = true;
    }, 4000);
  }

  // ---- contacts and history ----

  showTab(which) {
    $('tab-contacts').classList.toggle('active', which === 'contacts');
    $('tab-history').classList.toggle('active', which === 'history');
    $('contacts-pane').hidden = which !== 'contacts';
    $('history-pane').hidden = which !== 'history';
  }

  async addContact(account) {
    if (!account) return;
    await this.act(async () => {
      this.contacts = await this.kit.addContact(account);
      $('add-contact').value = '';
      this.renderContacts();
    });
  }

  async removeContact(account) {
    await this.act(async () => {
      this.contacts = await this.kit.removeContact(account);
      this.renderContacts();
    });
  }

  renderContacts() {
    const list = $('contacts-list');
    list.textContent = '';
    if (!this.contacts.length) {
      list.append(el('li', { class: 'empty' }, this.t('noContacts')));
      return;
    }
    const sorted = [...this.contacts].sort((a, b) =>
      (PRESENCE_ORDER[a.presence] ?? 3) - (PRESENCE_ORDER[b.presence] ?? 3) || a.account.localeCompare(b.account));
    for (const c of sorted) {
      list.append(el('li', { dataset: { account: c.account, presence: c.presence } },
        el('span', { class: `presence ${c.presence}`, title: this.t(c.presence) }),
        el('span', { class: 'name' }, c.nickName || c.account, ' ', el('span', { class: 'sub' }, `${c.account} · ${this.t(c.presence)}`)),
        el('button', { type: 'button', class: 'call-audio', onclick: () => this.startCall(c.account, 1) }, this.t('audioCall')),
        el('button', { type: 'button', class: 'call-video', onclick: () => this.startCall(c.account, 2) }, this.t('videoCall')),
        el('button', { type: 'button', class: 'remove', onclick: () => this.removeContact(c.account) }, this.t('remove'))));
    }
  }

  renderHistory() {
    const list = $('history-list');
    list.textContent = '';
    if (!this.records.length) {
      list.append(el('li', { class: 'empty' }, this.t('noRecords')));
      return;
    }
    const self = this.kit ? this.kit.account : '';
    for (const r of this.records) {
      const incoming = r.to === self && r.from !== self;
      const peer = incoming ? r.from : r.to;
      const secs = Math.max(0, ...(r.durations || []).map((d) => d.duration));
      list.append(el('li', { dataset: { channel: r.channelId, status: String(r.status) } },
        el('span', { class: 'sub' }, when(r.createdAt)),
        el('span', {}, this.t(incoming ? 'incomingDir' : 'outgoing')),
        el('span', { class: 'name' }, peer),
        el('span', {}, this.t(r.type === 2 ? 'video' : 'audio')),
        el('span', {}, r.status === 1 ? mmss(secs * 1000) : '–'),
        el('span', { class: 'record-text' }, recordText(r, self, this.lang)),
        el('button', { type: 'button', onclick: () => this.startCall(peer, r.type) }, this.t(r.type === 2 ? 'videoCall' : 'audioCall'))));
    }
  }

  // ---- calls ----

  async startCall(peer, type) {
    await this.act(async () => {
      this.resetCallView();
      const p = this.kit.call({ userId: peer, type });
      this.renderCall();
      const reply = await p;
      this.deadline = reply.expiresAt - this.clockSkew;
      this.renderCall();
    });
    this.renderCall();
  }

  switchType() {
    const cur = this.kit.cur;
    if (!cur) return;
    if (cur.callType === 2) this.act(() => this.kit.switchCallType({ type: 1 }));
    else this.act(() => this.kit.switchCallType({ type: 2, state: 'invite' }));
  }

  answerSwitch(state) {
    $('switch-prompt').hidden = true;
    this.act(() => this.kit.switchCallType({ type: 2, state }));
  }

  resetCallView() {
    this.acceptedAt = 0;
    this.deadline = 0;
    this.warnings = [];
    this.peerMuted = false;
    this.peerCamOff = false;
    this.lastStats = null;
  }

  // renderCall shows the call view for the kit's state, or hides it.
  renderCall() {
    clearInterval(this.ticker);
    const kit = this.kit;
    const state = kit ? kit.state : CallingStatus.idle;
    const cur = kit ? kit.cur : null;
    $('incoming').hidden = state !== CallingStatus.called;
    const inCallView = state === CallingStatus.calling || state === CallingStatus.inCall;
    $('call-view').hidden = !inCallView;
    $('home-view').hidden = !kit || inCallView;
    if (!cur) return;
    const t = this.t;
    if (state === CallingStatus.called) {
      const inv = kit.invite || {};
      $('incoming-from').textContent = inv.fromNick ? `${inv.fromNick} (${inv.from})` : cur.peer;
      $('incoming-type').textContent = t(cur.callType === 2 ? 'incomingVideo' : 'incomingAudio');
      this.deadline = (inv.expiresAt || 0) - this.clockSkew;
    }
    $('call-peer').textContent = cur.peer;
    $('call-type').textContent = t(cur.callType === 2 ? 'video' : 'audio');
    $('remote-placeholder').textContent = cur.peer;
    $('call-view').querySelector('.videos').classList.toggle('audio', cur.callType !== 2);
    $('btn-mute').textContent = t(kit.micMuted ? 'unmute' : 'mute');
    $('btn-mute').classList.toggle('on', kit.micMuted);
    $('btn-camera').textContent = t(kit.camOff ? 'cameraOn' : 'cameraOff');
    $('btn-camera').classList.toggle('on', kit.camOff);
    $('btn-camera').disabled = cur.callType !== 2 || state !== CallingStatus.inCall;
    $('btn-mute').disabled = state !== CallingStatus.inCall;
    $('btn-switch').textContent = t(cur.callType === 2 ? 'toAudio' : 'toVideo');
    $('btn-switch').disabled = state !== CallingStatus.inCall;
    $('btn-hangup').textContent = t(state === CallingStatus.calling ? 'cancel' : 'hangup');
    this.renderWarnings();
    this.renderStats();
    const tick = () => {
      const now = Date.now();
      if (state === CallingStatus.inCall) {
        $('call-status').textContent = this.acceptedAt ? t('connected', { d: mmss(now - this.acceptedAt) }) : t('connecting');
      } else if (state === CallingStatus.calling) {
        $('call-status').textContent = this.deadline ? t('waitingAnswer', { s: Math.max(0, Math.ceil((this.deadline - now) / 1000)) }) : t('calling');
      } else if (state === CallingStatus.called) {
        $('incoming-countdown').textContent = this.deadline ? t('waitingAnswer', { s: Math.max(0, Math.ceil((this.deadline - now) / 1000)) }) : '';
      }
    };
    tick();
    this.ticker = setInterval(tick, 500);
  }

  renderWarnings() {
    const list = $('call-warnings');
    list.textContent = '';
    const notes = [...this.warnings];
    if (this.peerMuted) notes.push(this.t('peerMutedAudio'));
    if (this.peerCamOff) notes.push(this.t('peerCameraOff'));
    for (const w of notes) list.append(el('li', {}, w));
  }

  renderStats() {
    const s = this.lastStats;
    const q = $('call-quality');
    if (!s) {
      q.textContent = '';
      $('call-stats').textContent = '';
      return;
    }
    const level = qualityLevel(s.mos);
    q.textContent = `${this.t('quality')}: ${this.t('qualityLevels')[level]}`;
    q.dataset.level = String(level);
    const parts = [`MOS ${s.mos.toFixed(2)}`, `RTT ${Math.round(s.rttMs)} ms`, `loss ${s.lossPct.toFixed(1)}%`,
      `jitter ${s.jitterMs.toFixed(1)} ms`, `↑ ${Math.round(s.sendKbps)} kbps`, `↓ ${Math.round(s.recvKbps)} kbps`];
    if (s.width) parts.push(`${s.width}×${s.height} @ ${Math.round(s.fps)} fps`);
    $('call-stats').textContent = parts.join(' · ');
  }

  warningText(w) {
    if (w.kind === 'noMedia') return this.t(w.remote ? 'peerNoMedia' : 'noMedia', { cause: w.error });
    return this.t('deviceWarning', { cause: `${w.kind}: ${w.error}` });
  }

  // ---- kit events ----

  bind(kit) {
    kit.on('*', ({ eventCode, data }) => {
      if (kit !== this.kit) return;
      this.logEvent(eventCode, data);
      this.onEvent(eventCode, data);
    });
  }

  logEvent(name, data) {
    if (name === EVENT.STATS) return;
    const log = $('event-log');
    log.append(el('li', {}, `${new Date().toISOString().slice(11, 23)} ${name} ${JSON.stringify(data)}`));
    while (log.children.length > LOG_LINES) log.firstChild.remove();
  }

  onEvent(name, data) {
    const t = this.t;
    switch (name) {
      case EVENT.INVITED:
        this.resetCallView();
        this.renderCall();
        break;
      case EVENT.USER_ACCEPT:
        this.acceptedAt = Date.now();
        this.renderCall();
        break;
      case EVENT.USER_REJECT:
      case EVENT.USER_BUSY:
      case EVENT.CALLING_TIMEOUT:
      case EVENT.USER_CANCEL:
      case EVENT.CALL_END:
        $('switch-prompt').hidden = true;
        this.renderCall();
        break;
      case EVENT.OTHER_CLIENT_ACCEPT:
        this.toast(t('otherClientAccept'));
        this.renderCall();
        break;
      case EVENT.OTHER_CLIENT_REJECT:
        this.toast(t('otherClientReject'));
        this.renderCall();
        break;
      case EVENT.CALL_TYPE_CHANGE:
        if (data.state === 'invite' && data.userId !== this.kit.account) {
          $('switch-text').textContent = t('switchAsk', { peer: data.userId });
          $('switch-prompt').hidden = false;
        } else if (data.state === 'reject' && data.userId !== this.kit.account) {
          this.toast(t('switchRefused'));
        }
        this.renderCall();
        break;
      case EVENT.AUDIO_MUTED:
        if (data.userId !== this.kit.account) this.peerMuted = data.mute;
        this.renderCall();
        break;
      case EVENT.VIDEO_MUTED:
        if (data.userId !== this.kit.account) this.peerCamOff = data.mute;
        this.renderCall();
        break;
      case EVENT.MEDIA_WARNING:
        this.warnings.push(this.warningText(data));
        this.renderWarnings();
        if (this.kit.state === CallingStatus.idle) this.toast(this.warningText(data));
        break;
      case EVENT.STATS:
        this.lastStats = data;
        this.renderStats();
        break;
      case EVENT.MESSAGE_SENT:
        this.records = [data, ...this.records.filter((r) => r.channelId !== data.channelId)];
        this.renderHistory();
        this.toast(`${t('callEnded')}: ${recordText(data, this.kit.account, this.lang)}`);
        break;
      case EVENT.PRESENCE: {
        const c = this.contacts.find((x) => x.account === data.account);
        if (c) {
          c.presence = data.presence;
          this.renderContacts();
        }
        break;
      }
      case EVENT.DISCONNECT:
        this.setConn(t('disconnected'), true);
        if (!data.reconnecting) this.logout();
        break;
      case EVENT.RECONNECTED:
        this.setConn(t('reconnected'));
        this.refresh().catch(() => {});
        this.renderCall();
        break;
      case EVENT.ERROR:
        this.toast(`${t('errorPrefix')} ${data.code}: ${data.message}`);
        break;
    }
  }
}

const app = new App();
app.init();
if (app.debug) {
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 6) console.debug('[necallkit]', Date.now(), `main thread stalled ${Math.round(now - last)} ms`);
    last = now;
  }, 1);
}
