/**
 * The HTTP/2 load generator beside bench/load.ts: one TLS connection offering only h2 (its own
 * CONNECT tunnel when proxied), `streams` requests in flight on it at once, each stream sending
 * the next request as soon as its response has ended. Same warm-up, histogram and CPU reading as
 * the HTTP/1.1 generator, so the two rows compare.
 */
import http2 from 'node:http2';
import { createHistogram } from 'node:perf_hooks';
import { cpuMs } from './processes.js';
import type { LoadResult } from './load.js';
import { openTls, originOf, type Route } from './tunnel.js';

export interface H2LoadOptions {
  host: string;
  path: string;
  headers: Record<string, string>;
  streams: number;
  warmupMs: number;
  durationMs: number;
  cpuPid?: number;
}

function get(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers });
    let status = 0;
    stream.on('response', (h) => { status = Number(h[':status']); });
    stream.on('data', () => undefined);
    stream.on('end', () => resolve(status));
    stream.on('error', reject);
  });
}

export async function runH2Load(route: Route, opts: H2LoadOptions): Promise<LoadResult> {
  const socket = await openTls(route, opts.host, { alpn: ['h2'] });
  if (socket.alpnProtocol !== 'h2') throw new Error(`${opts.host} answered ALPN ${String(socket.alpnProtocol)}, not h2`);
  const session = http2.connect(originOf(route, opts.host), { createConnection: () => socket });
  session.on('error', () => undefined);
  const hist = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  let counting = false;
  let stopped = false;
  let requests = 0;
  let errors = 0;
  const loop = async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        const status = await get(session, opts.path, opts.headers);
        if (status !== 200) throw new Error(`status ${status}`);
        if (counting && !stopped) {
          hist.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          requests++;
        }
      } catch (err) {
        errors++;
        if (errors > 100) throw new Error(`too many errors; last: ${(err as Error).message}`);
      }
    }
  };
  const loops = Array.from({ length: opts.streams }, () => loop());
  await new Promise((r) => setTimeout(r, opts.warmupMs));
  counting = true;
  const t0 = performance.now();
  const cpu0 = opts.cpuPid === undefined ? 0 : cpuMs(opts.cpuPid);
  await new Promise((r) => setTimeout(r, opts.durationMs));
  stopped = true;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = opts.cpuPid === undefined ? undefined : cpuMs(opts.cpuPid) - cpu0;
  await Promise.all(loops);
  session.close();
  if (requests === 0) throw new Error(`no request completed (${errors} errors)`);
  return {
    requests, seconds, perSecond: requests / seconds, errors,
    ...(cpu === undefined ? {} : { cpuUsPerRequest: (cpu * 1000) / requests }),
    p50Ms: hist.percentile(50) / 1000, p99Ms: hist.percentile(99) / 1000,
  };
}

/** One connection to `host` that has served one small GET and is left open, idle: h2 or HTTP/1.1. */
export async function openIdleHttps(route: Route, host: string, protocol: 'h2' | 'http/1.1'): Promise<{ close(): void }> {
  const socket = await openTls(route, host, { alpn: [protocol] });
  if (protocol === 'h2') {
    const session = http2.connect(originOf(route, host), { createConnection: () => socket });
    session.on('error', () => undefined);
    const status = await get(session, '/small', {});
    if (status !== 200) throw new Error(`status ${status}`);
    return { close: () => session.destroy() };
  }
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (c: Buffer) => {
      head += c.toString('latin1');
      // /small is 200 bytes with a Content-Length: the whole answer is in once the body is.
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0 && head.length >= end + 4 + 200) { socket.off('data', onData); resolve(); }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET /small HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
  socket.on('error', () => undefined);
  return { close: () => socket.destroy() };
}
