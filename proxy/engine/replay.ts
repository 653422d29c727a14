/**
 * Replay (docs/toolkit.md): a kept request sent again through the proxy as a new exchange from the
 * client `replay`. It comes in as a tunnel of its own on an in-memory connection (no port, no TLS
 * to ourselves), so it takes the path of any request: the rules, the network condition, the map
 * rules, the upstream, the events, the exchange line and the HAR. Its answer is read and dropped.
 */
import { Duplex } from 'node:stream';
import type { ProxyContext } from '../context.js';
import type { Exchange } from '../flow/exchange.js';
import { droppedFromRequest } from './headers.js';

import type { ReplayRequest } from './replay-request.js';

/** A finished exchange's request, as replay and copy as cURL send it again (a leaf module, proxy/engine/replay-request.ts). */
export type { ReplayRequest };

export const REPLAY_CLIENT = 'replay';
/** The new exchange starts at once; past this something is wrong (the request was refused before it began). */
const START_TIMEOUT_MS = 10_000;
/** A replay's connection is closed after this long whatever happens (the rules' timeouts are at most 60 s). */
const REPLAY_LIFETIME_MS = 120_000;

/** Two connected in-memory ends: what one writes, the other reads. */
function socketPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) => {
    const d = new Duplex({
      read() { /* pushed by the peer */ },
      write(chunk: Buffer, _enc, cb) { peer().push(chunk); cb(); },
      final(cb) { peer().push(null); cb(); },
      destroy(err, cb) { const p = peer(); if (!p.destroyed) p.destroy(); cb(err); },
    });
    // What Node's HTTP server may call on a connection; no socket is behind this one.
    Object.assign(d, { setTimeout: () => d, setNoDelay: () => d, setKeepAlive: () => d, remoteAddress: REPLAY_CLIENT });
    d.on('error', () => undefined);
    return d;
  };
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

/** The request's head as the proxy gets it again: hop-by-hop fields out, the body's length said. */
export function replayHead(r: ReplayRequest): string {
  const lines = [`${r.method} ${r.path} HTTP/1.1`];
  const socket = r.api === 'connectSocket';
  for (let i = 0; i + 1 < r.rawHeaders.length; i += 2) {
    const lower = r.rawHeaders[i]!.toLowerCase();
    if (lower === 'content-length' || (droppedFromRequest(lower) && !(socket && lower === 'upgrade'))) continue;
    lines.push(`${r.rawHeaders[i]}: ${r.rawHeaders[i + 1]}`);
  }
  if (r.body.length > 0 || r.rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-length')) lines.push(`Content-Length: ${r.body.length}`);
  lines.push(socket ? 'Connection: Upgrade' : 'Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Sends `r` again; resolves with the new exchange's id as soon as it exists. */
export function replay(ctx: ProxyContext, r: ReplayRequest): Promise<number> {
  const open = ctx.state.openTunnel;
  if (!open) return Promise.reject(new Error('the proxy is not listening'));
  const [client, server] = socketPair();
  return new Promise((resolve, reject) => {
    const onStart = (ex: Exchange) => {
      if (ex.req.socket !== server) return;
      ctx.events.off('exchange-start', onStart);
      clearTimeout(startTimer);
      resolve(ex.id);
    };
    const startTimer = setTimeout(() => {
      ctx.events.off('exchange-start', onStart);
      client.destroy();
      reject(new Error(`the replay of exchange ${r.id} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const lifetime = setTimeout(() => client.destroy(), REPLAY_LIFETIME_MS).unref();
    client.on('close', () => clearTimeout(lifetime));
    client.on('end', () => client.destroy());
    // The answer is the new exchange's to record; here it is only read (a 101 ends the replay: nobody talks on it).
    client.on('data', (chunk: Buffer) => { if (chunk.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101') setImmediate(() => client.destroy()); });
    ctx.events.on('exchange-start', onStart);
    open(server, { host: r.host, port: r.port, client: REPLAY_CLIENT, secure: r.scheme === 'https' || r.scheme === 'wss' });
    client.write(replayHead(r));
    if (r.body.length > 0) client.write(r.body);
  });
}
