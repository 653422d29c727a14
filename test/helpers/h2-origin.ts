/**
 * An HTTPS origin that speaks HTTP/2 only (`allowHTTP1: false`: a client offering only
 * `http/1.1` fails its handshake), on 127.0.0.1 and a free port, with the routes of
 * test/helpers/upstreams.ts served through Node's compatibility API, and a few of its own:
 *   /h2-headers   a head with several fields, which HTTP/2 sends in lowercase
 *   /delay-bytes?ms=M&n=N   N pattern bytes after M ms
 *   /game.html    a small HTML page
 * It counts what it receives, so "the upstream never saw it" is asserted, not assumed.
 */
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { route, type SeenRequest, streamPattern } from './upstreams.js';

export interface H2Origin {
  port: number;
  address: string;
  seen: SeenRequest[];
  /** TLS connections whose ALPN chose h2. */
  sessions: number;
  /** Streams whose request the origin saw, in total, and at most at once. */
  streams: number;
  maxOpenStreams: number;
  close(): Promise<void>;
}

export async function startH2Origin(opts: { cert: string; key: string }): Promise<H2Origin> {
  const server = http2.createSecureServer({ cert: opts.cert, key: opts.key, allowHTTP1: false });
  const sessions = new Set<http2.ServerHttp2Session>();
  let open = 0;
  const origin: H2Origin = {
    port: 0, address: '', seen: [], sessions: 0, streams: 0, maxOpenStreams: 0,
    close: () => new Promise((resolve) => {
      for (const s of sessions) s.destroy();
      server.close(() => resolve());
    }),
  };
  server.on('session', (session) => {
    origin.sessions++;
    sessions.add(session);
    session.on('error', () => undefined);
    session.on('close', () => sessions.delete(session));
  });
  server.on('sessionError', () => undefined);
  server.on('tlsClientError', () => undefined);
  server.on('request', (req, res) => {
    origin.seen.push({ method: req.method, url: req.url, headers: req.headers });
    origin.streams++;
    origin.maxOpenStreams = Math.max(origin.maxOpenStreams, ++open);
    req.stream.on('error', () => undefined);
    res.on('close', () => open--);
    if (req.url === '/h2-headers') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Game-Token': 'abc', 'Cache-Control': 'no-store' });
      res.end('{"ok":true}');
      return;
    }
    if (req.url === '/game.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><head><meta charset="utf-8"><title>mini game H5 over h2</title></head><body>game</body></html>');
      return;
    }
    const url = new URL(req.url, 'https://origin');
    if (url.pathname === '/delay-bytes') {
      const n = Number(url.searchParams.get('n') ?? 0);
      const timer = setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
        streamPattern(res as unknown as ServerResponse, n);
      }, Number(url.searchParams.get('ms') ?? 500));
      res.on('close', () => clearTimeout(timer));
      return;
    }
    // The HTTP/1.1 routes read only what the compatibility API also has.
    route(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin.port = (server.address() as AddressInfo).port;
  origin.address = `127.0.0.1:${origin.port}`;
  return origin;
}
