/**
 * Node's HTTP/2 client through the proxy: a CONNECT tunnel, TLS inside it offering h2, and
 * `http2.connect` on that socket. Each request returns what a user would look at, and how its
 * stream ended (`rstCode`: 0 for a clean end, 8 for CANCEL).
 */
import http2 from 'node:http2';
import type tls from 'node:tls';
import { tlsTunnel } from './clients.js';
import { sha256 } from './upstreams.js';

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  sha256: string;
  /** The stream's RST_STREAM code (0: ended cleanly). */
  rstCode: number;
  /** The response ended with END_STREAM (not cut). */
  ended: boolean;
}

/** An h2 session to `host` through the proxy; rejects when the proxy did not choose h2. */
export async function h2ViaProxy(proxyPort: number, host: string, ca: string, port = 443): Promise<{ session: http2.ClientHttp2Session; socket: tls.TLSSocket }> {
  const socket = await tlsTunnel(proxyPort, host, port, ca, { ALPNProtocols: ['h2', 'http/1.1'] });
  if (socket.alpnProtocol !== 'h2') { socket.destroy(); throw new Error(`the proxy chose ${String(socket.alpnProtocol)}, not h2`); }
  const session = http2.connect(`https://${host}${port === 443 ? '' : `:${port}`}`, { createConnection: () => socket });
  session.on('error', () => undefined);
  return { session, socket };
}

/** One request on `session`; resolves however the stream ends (bounded by `timeoutMs`). */
export function h2Request(session: http2.ClientHttp2Session, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {}): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': opts.method ?? 'GET', ':path': path, ...opts.headers }, { endStream: opts.body === undefined });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let ended = false;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { stream.close(http2.constants.NGHTTP2_CANCEL); reject(new Error(`no end of ${path} within ${opts.timeoutMs ?? 15_000} ms`)); }, opts.timeoutMs ?? 15_000);
    stream.on('response', (h) => { headers = h; status = Number(h[':status']); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => { ended = true; });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(timer);
      const body = Buffer.concat(chunks);
      resolve({ status, headers, body, sha256: sha256(body), rstCode: stream.rstCode ?? 0, ended });
    });
    if (opts.body !== undefined) stream.end(opts.body);
  });
}
