/**
 * Local HTTPS + WSS upstreams for the tests, on 127.0.0.1 and a free port, presenting a
 * certificate from the test PKI. They count what they receive, so "the upstream never saw it" is
 * asserted, not assumed. Routes:
 *   /bytes/N            N deterministic bytes (patternSha256(N) is their hash), streamed
 *   /sha256             reads the request body, answers {"sha256", "bytes"}
 *   /echo               {"method", "url", "headers", "body"} of the request
 *   /slow?ms=N[&body=]  answers after N ms
 *   /drip?ms=N          sends the head at once, the body after N ms
 *   /status/N           status N
 *   /big-headers?kb=N   a response header of N KiB
 *   /broken-length      Content-Length 1000, 500 bytes, then the connection is cut
 *   /broken-chunked     one chunk, then the connection is cut
 *   /hang               never answers
 *   /reset              destroys the connection on receipt
 *   /raw?hex=…&type=…[&enc=gzip]   exactly these bytes, with this Content-Type (gzip-encoded on the wire when asked)
 * WebSocket (any path): echoes text and binary as they came; "close:CODE:REASON" closes with them.
 * A WebSocket handshake to /ws-slow?ms=N is answered after N ms.
 */
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import zlib from 'node:zlib';
import { WebSocketServer } from 'ws';

const BLOCK = (() => {
  const out = Buffer.alloc(64 * 1024);
  let seed = crypto.createHash('sha256').update('mgproxy').digest();
  for (let i = 0; i < out.length; i += seed.length) {
    seed.copy(out, i);
    seed = crypto.createHash('sha256').update(seed).digest();
  }
  return out;
})();

/** Writes N pattern bytes with backpressure (also the bench upstream's `/bytes/N`). */
export function streamPattern(res: ServerResponse, n: number): void {
  let sent = 0;
  const pump = () => {
    while (sent < n) {
      const size = Math.min(BLOCK.length, n - sent);
      sent += size;
      if (!res.write(size === BLOCK.length ? BLOCK : BLOCK.subarray(0, size))) { res.once('drain', pump); return; }
    }
    res.end();
  };
  pump();
}

/** The N pattern bytes, block by block (the bench writes them to the files nginx serves). */
export function* patternBytes(n: number): Generator<Buffer> {
  for (let sent = 0; sent < n; sent += BLOCK.length) yield BLOCK.subarray(0, Math.min(BLOCK.length, n - sent));
}

export function patternSha256(n: number): string {
  const h = crypto.createHash('sha256');
  for (const chunk of patternBytes(n)) h.update(chunk);
  return h.digest('hex');
}

/** A readable of N pattern bytes, for uploads. */
export async function* patternChunks(n: number): AsyncGenerator<Buffer> {
  yield* patternBytes(n);
}

export const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

export interface SeenRequest { method: string; url: string; headers: IncomingMessage['headers'] }

export interface Upstream {
  port: number;
  /** `127.0.0.1:PORT`, for `upstream.hosts`. */
  address: string;
  seen: SeenRequest[];
  /** Request sockets the upstream saw close (for "the proxy closed the upstream connection"). */
  closedSockets: number;
  /** Connections accepted (TLS handshakes that reached the server). */
  connections: number;
  /** TCP connections accepted, whether or not their TLS handshake finished. */
  tcpConnections: number;
  wsMessages: number;
  close(): Promise<void>;
}

export interface UpstreamOptions {
  /** The chain the server sends (PEM) and its key. */
  cert: string;
  key: string;
  tls?: tls.TlsOptions;
  /** Extra routes, tried first; return true when handled. */
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Negotiate permessage-deflate (compressing every message) when the client offers it. */
  wsDeflate?: boolean;
  /** Each WebSocket message the upstream receives, before it echoes it. */
  onWsMessage?: (data: Buffer, isBinary: boolean) => void;
}

export function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://upstream');
  const p = url.pathname;
  let m: RegExpExecArray | null;
  if ((m = /^\/bytes\/(\d+)$/.exec(p))) {
    const n = Number(m[1]);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
    streamPattern(res, n);
  } else if (p === '/sha256') {
    const h = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => { h.update(c); bytes += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sha256: h.digest('hex'), bytes }));
    });
  } else if (p === '/echo') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
  } else if (p === '/slow') {
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(url.searchParams.get('body') ?? 'slow');
    }, Number(url.searchParams.get('ms') ?? 1000));
    res.on('close', () => clearTimeout(timer));
    req.resume();
  } else if (p === '/drip') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('head ');
    const timer = setTimeout(() => res.end('tail'), Number(url.searchParams.get('ms') ?? 1000));
    res.on('close', () => clearTimeout(timer));
  } else if ((m = /^\/status\/(\d{3})$/.exec(p))) {
    res.writeHead(Number(m[1]), { 'content-type': 'text/plain' });
    res.end(`status ${m[1]}`);
  } else if (p === '/big-headers') {
    const kb = Number(url.searchParams.get('kb') ?? 64);
    res.writeHead(200, { 'x-big': 'b'.repeat(kb * 1024), 'content-type': 'text/plain' });
    res.end('big headers');
  } else if (p === '/broken-length') {
    res.writeHead(200, { 'content-length': 1000, 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(500, 0x61), () => setTimeout(() => res.socket?.destroy(), 50));
  } else if (p === '/broken-chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk', () => setTimeout(() => res.socket?.destroy(), 50));
  } else if (p === '/hang') {
    req.resume();
  } else if (p === '/reset') {
    req.socket.destroy();
  } else if (p === '/raw') {
    const raw = Buffer.from(url.searchParams.get('hex') ?? '', 'hex');
    const gzip = url.searchParams.get('enc') === 'gzip';
    const body = gzip ? zlib.gzipSync(raw) : raw;
    res.writeHead(200, {
      'content-type': url.searchParams.get('type') ?? 'application/octet-stream', 'content-length': body.length,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(body);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no such route');
  }
}

export async function startUpstream(opts: UpstreamOptions): Promise<Upstream> {
  const server = https.createServer({ cert: opts.cert, key: opts.key, ...opts.tls });
  const up: Upstream = {
    port: 0, address: '', seen: [], closedSockets: 0, connections: 0, tcpConnections: 0, wsMessages: 0,
    close: () => new Promise((resolve) => {
      wss.clients.forEach((c) => c.terminate());
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  server.on('connection', () => { up.tcpConnections++; });
  server.on('secureConnection', (socket) => {
    up.connections++;
    socket.on('close', () => up.closedSockets++);
  });
  server.on('tlsClientError', () => undefined);
  server.on('request', (req, res) => {
    up.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (opts.handle?.(req, res)) return;
    route(req, res);
  });
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: opts.wsDeflate ? { threshold: 0 } : false,
    verifyClient: (info, done) => {
      const url = new URL(info.req.url ?? '/', 'https://upstream');
      if (url.pathname === '/ws-slow') setTimeout(() => done(true), Number(url.searchParams.get('ms') ?? 1000));
      else done(true);
    },
  });
  wss.on('connection', (ws, req) => {
    up.seen.push({ method: 'UPGRADE', url: req.url ?? '', headers: req.headers });
    ws.on('message', (data, isBinary) => {
      up.wsMessages++;
      opts.onWsMessage?.(data as Buffer, isBinary);
      const text = isBinary ? '' : data.toString();
      const m = /^close:(\d+):?(.*)$/.exec(text);
      if (m) ws.close(Number(m[1]), m[2]);
      else ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as AddressInfo).port;
  up.address = `127.0.0.1:${up.port}`;
  return up;
}
