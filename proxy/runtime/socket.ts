/**
 * `connectSocket` and its SocketTask
 * (https://developers.weixin.qq.com/minigame/dev/api/network/websocket/wx.connectSocket.html):
 * `success` only means the task exists; the connection's outcome comes as onOpen or onError.
 * At most 5 open sockets: a 6th task is created, then gets onError `exceed max task count` and never
 * connects (sockets are never queued).
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { Listeners, Settle } from './callbacks.js';
import { type Core, headerObject, outgoingHeaders, timeoutFor } from './core.js';
import { badUrlFailure, callUrl, failure, failureOfAnswer, failureOfError } from './errors.js';
import { emptyProfile } from './http-call.js';
import type { Settings } from './settings.js';
import { tunnelConnector } from './tunnel.js';
import type { ConnectSocketOptions, ConnectSocketSuccess, FailResult, GeneralResult, Headers, Profile, SocketTask } from './types.js';

let nextId = 1;

/** Close reasons the runtime shows when the peer gave none (RFC 6455 §7.4.1 codes, in the words devices report). */
const CLOSE_TEXT: Readonly<Record<number, string>> = {
  1000: 'normal closure', 1001: 'going away', 1002: 'protocol error', 1003: 'unsupported data', 1005: 'no status',
  1006: 'abnormal closure', 1007: 'invalid frame payload data', 1008: 'policy violation', 1009: 'message too big',
  1010: 'mandatory extension', 1011: 'internal server error', 1015: 'tls handshake',
};

const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** Calls `fn` on a later turn, so that listeners the game adds right after the call are in place. */
const later = (fn: () => void) => setImmediate(fn);

export function connectSocket(core: Core, options: ConnectSocketOptions): SocketTask {
  const o = options ?? ({} as ConnectSocketOptions);
  const id = nextId++;
  const onOpen = new Listeners<{ header: Headers; profile: Profile }>();
  const onMessage = new Listeners<{ data: string | ArrayBuffer }>();
  const onClose = new Listeners<{ code: number; reason: string }>();
  const onError = new Listeners<FailResult>();
  let ws: WebSocket | undefined;
  let settings: Settings | undefined;
  let state: 'connecting' | 'open' | 'closed' = 'connecting';
  let holdsSlot = false;
  let timer: NodeJS.Timeout | undefined;
  let userClose: { code: number; reason: string } | undefined;
  const profile = emptyProfile();

  const release = () => {
    clearTimeout(timer);
    core.live.delete(live);
    if (holdsSlot && settings) { holdsSlot = false; settings.slots.connectSocket.release(host); }
  };
  const fail = (err: FailResult) => {
    if (state === 'closed') return;
    state = 'closed';
    release();
    ws?.terminate();
    later(() => onError.emit(err));
  };
  const closed = (code: number, reason: string) => {
    if (state === 'closed') return;
    state = 'closed';
    release();
    later(() => onClose.emit({ code, reason: reason || CLOSE_TEXT[code] || '' }));
  };
  const live = {
    // Sent to the background, a device closes its sockets: 1000 "interrupted" (observed,
    // https://developers.weixin.qq.com/community/develop/doc/000a0cbd84c480897c1e455105b800).
    interrupt: () => {
      if (state === 'open') { try { ws?.close(1000, 'interrupted'); } catch { ws?.terminate(); } closed(1000, 'interrupted'); } else fail(failure('connectSocket', settings!.platform.backgroundReason));
    },
  };

  let url: URL | undefined;
  let host = '';
  try {
    url = callUrl(o.url, true);
    host = url.host;
  } catch (err) {
    new Settle<ConnectSocketSuccess>(o).fail(badUrlFailure('connectSocket', err));
    state = 'closed';
  }
  if (url) {
    new Settle<ConnectSocketSuccess>(o).succeed({ errMsg: 'connectSocket:ok', socketTaskId: id });
    const target = url;
    core.ready.then((s) => {
      settings = s;
      if (state !== 'connecting') return;
      if (core.background) { fail(failure('connectSocket', s.platform.backgroundReason)); return; }
      if (!s.slots.connectSocket.tryTake(host)) { fail(failure('connectSocket', 'exceed max task count')); return; }
      holdsSlot = true;
      core.live.add(live);
      open(s, target);
    }, (err: Error) => fail({ errMsg: `connectSocket:fail ${err.message}` }));
  }

  function open(s: Settings, target: URL): void {
    profile.fetchStart = Date.now();
    timer = setTimeout(() => fail(failure('connectSocket', 'timeout')), timeoutFor(core, 'connectSocket', o.timeout));
    const secure = target.protocol === 'wss:';
    const protocols = Array.isArray(o.protocols) && o.protocols.length > 0 ? o.protocols : undefined;
    try {
      ws = new WebSocket(target.href, protocols, {
        headers: outgoingHeaders(s, o.header),
        perMessageDeflate: false,
        ...(core.proxy ? { createConnection: tunnelConnector(core.proxy, secure, core.ca) as never } : core.ca ? { ca: core.ca } : {}),
      });
    } catch (err) {
      fail(failureOfError('connectSocket', err, core.device));
      return;
    }
    ws.binaryType = 'nodebuffer';
    let upgradeHeader: Headers = {};
    ws.on('upgrade', (res: IncomingMessage) => {
      profile.responseStart = Date.now();
      upgradeHeader = headerObject(res.rawHeaders).header;
    });
    ws.on('open', () => {
      if (state !== 'connecting') return;
      clearTimeout(timer);
      state = 'open';
      profile.responseEnd = Date.now();
      if (userClose) { ws!.close(userClose.code, userClose.reason); return; }
      later(() => onOpen.emit({ header: upgradeHeader, profile }));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (state !== 'open') return;
      const value = isBinary ? toArrayBuffer(data) : data.toString('utf8');
      later(() => onMessage.emit({ data: value }));
    });
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => { if (size < 64 * 1024) { chunks.push(c); size += c.length; } });
      res.on('error', () => undefined);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        // A server that answers the upgrade with anything but 101: Cronet's "Invalid HttpCode".
        fail(failureOfAnswer('connectSocket', res.headers, body, core.device) ?? { errMsg: `connectSocket:fail Invalid HttpCode ${res.statusCode}` });
      });
    });
    ws.on('error', (err) => {
      if (state === 'connecting') fail(failureOfError('connectSocket', err, core.device));
      // An open socket that breaks: onError, then onClose (1006) when ws closes it.
      else if (state === 'open' && !core.background) { const e = failureOfError('connectSocket', err, core.device); later(() => onError.emit(e)); }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (userClose && state !== 'closed') { closed(userClose.code, userClose.reason); return; }
      // The proxy closes sockets it interrupts in the background too: that is the device's own closing.
      if (core.background && code === 1006) { closed(1000, 'interrupted'); return; }
      closed(code, reason.toString('utf8'));
    });
  }

  return {
    send(opts) {
      const cb = new Settle<GeneralResult>(opts ?? {});
      if (state !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) {
        cb.fail({ errMsg: 'SocketTask.send:fail SocketTask.readyState is not OPEN' });
        return;
      }
      const data = opts?.data;
      const payload = data instanceof ArrayBuffer ? Buffer.from(data) : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : String(data);
      ws.send(payload, { binary: typeof payload !== 'string' }, (err) => {
        if (err) cb.fail({ errMsg: `SocketTask.send:fail ${err.message}` });
        else cb.succeed({ errMsg: 'SocketTask.send:ok' });
      });
    },
    close(opts) {
      const cb = new Settle<GeneralResult>(opts ?? {});
      const code = opts?.code ?? 1000;
      const reason = opts?.reason ?? '';
      if (code !== 1000 && !(code >= 3000 && code <= 4999)) { cb.fail({ errMsg: 'SocketTask.close:fail The code must be either 1000, or between 3000 and 4999' }); return; }
      if (Buffer.byteLength(reason) > 123) { cb.fail({ errMsg: 'SocketTask.close:fail The message must not be greater than 123 bytes' }); return; }
      if (state === 'closed') { cb.fail({ errMsg: 'SocketTask.close:fail SocketTask.readyState is CLOSED' }); return; }
      userClose = { code, reason };
      if (state === 'open' && ws) ws.close(code, reason);
      else { ws?.terminate(); closed(code, reason); }
      cb.succeed({ errMsg: 'SocketTask.close:ok' });
    },
    onOpen: (fn) => onOpen.add(fn),
    onMessage: (fn) => onMessage.add(fn),
    onClose: (fn) => onClose.add(fn),
    onError: (fn) => onError.add(fn),
  };
}
