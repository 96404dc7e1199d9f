// signaling.js — one WebSocket to `softphone serve` speaking protocol
// version 1 (docs/protocol.md): requests correlated with their replies by
// id, events handed to a callback, an application keepalive.

export const PROTOCOL_VERSION = 1;

// SignalingError is a failed reply (or a transport failure, code 0).
export class SignalingError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SignalingError';
    this.code = code;
  }
}

// Signaling is one connection. It does not reconnect by itself: the kit
// decides when to dial again and logs in with the same device id, which
// resumes the session on the server.
export class Signaling {
  // url: ws(s)://host:port/v1/ws. onEvent(name, data) runs for every event
  // frame; onClose(reason) once when the connection ends for any reason.
  constructor(url, { onEvent, onClose, requestTimeout = 10000, pingInterval = 15000, trace } = {}) {
    this.url = url;
    this.onEvent = onEvent || (() => {});
    this.onClose = onClose || (() => {});
    this.requestTimeout = requestTimeout;
    this.pingInterval = pingInterval;
    this.trace = trace || null; // (direction, frameText) for debugging
    this.seq = 0;
    this.pending = new Map(); // id -> {resolve, reject, timer, type}
    this.ws = null;
    this.closed = false;
    this.pinger = 0;
  }

  // open resolves once the WebSocket is open.
  open() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        reject(new SignalingError(0, `cannot open ${this.url}: ${err.message}`));
        return;
      }
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (msg) => this.receive(msg.data);
      ws.onerror = () => {
        if (!opened) reject(new SignalingError(0, `server ${this.url} is unreachable`));
      };
      ws.onclose = (ev) => {
        if (!opened) reject(new SignalingError(0, `server ${this.url} is unreachable (close ${ev.code})`));
        this.fail(`connection closed (${ev.code}${ev.reason ? ' ' + ev.reason : ''})`);
      };
    });
  }

  // startKeepalive pings every pingInterval once logged in; a ping left
  // unanswered closes the connection, so a half-open socket is noticed.
  startKeepalive() {
    if (this.pinger || this.pingInterval <= 0) return;
    this.pinger = setInterval(() => {
      this.request('ping').catch((err) => {
        if (err.code === 0) this.close();
      });
    }, this.pingInterval);
  }

  receive(text) {
    if (this.trace) this.trace('in', text);
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return; // the server only sends JSON; nothing sensible to do with the rest
    }
    if (!m || m.v !== PROTOCOL_VERSION) return;
    if (m.type === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.code) p.reject(new SignalingError(m.code, m.error || `error ${m.code}`));
      else p.resolve(m.data === undefined ? {} : m.data);
    } else if (m.type === 'event') {
      this.onEvent(m.event, m.data === undefined ? {} : m.data);
    }
  }

  // request sends one request and resolves with the reply's data, or
  // rejects with a SignalingError. Requests are answered in the order they
  // were sent, so callers may pipeline without awaiting each one.
  request(type, data) {
    if (this.closed || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SignalingError(0, 'signaling connection lost'));
    }
    const id = String(++this.seq);
    const frame = { v: PROTOCOL_VERSION, type, id };
    if (data !== undefined && data !== null) frame.data = data;
    const text = JSON.stringify(frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError(0, `${type}: no reply within ${this.requestTimeout} ms`));
      }, this.requestTimeout);
      this.pending.set(id, { resolve, reject, timer, type });
      if (this.trace) this.trace('out', text);
      this.ws.send(text);
    });
  }

  fail(reason) {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new SignalingError(0, `${p.type}: ${reason}`));
    }
    this.pending.clear();
    this.onClose(reason);
  }

  // close ends the connection on purpose.
  close() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      try {
        this.ws.close(1000, 'bye');
      } catch {
        // already closing
      }
    }
    this.fail('closed by client');
  }
}
