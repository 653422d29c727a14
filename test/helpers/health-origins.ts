/**
 * Origins for the health report tests: one that accepts h2 (and HTTP/1.1, which the proxy forwards
 * with) and one that speaks HTTP/1.1 only, both serving routes that each plant one offender of a
 * check of docs/health.md, or none.
 */
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { streamPattern } from './upstreams.js';
import type { TestPki } from './pki.js';

export const HEALTH_HOSTS = ['api.example.test', 'cdn.example.test', 'old.example.test', 'evil.example.test'];

type Req = IncomingMessage | http2.Http2ServerRequest;
type Res = ServerResponse | http2.Http2ServerResponse;

const JSON_2KB = JSON.stringify({ items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item number ${i}` })) });

/** The routes: `/plain.json` (2 KB JSON, not compressed), `/gzip.json`, `/miss.png`, `/hit.png`, `/big` (3.1 MB), `/slow`, `/status/N`, `/asset` (200 KB, a cache hit), `/ok`. */
function route(req: Req, res: Res): void {
  const url = new URL(req.url ?? '/', 'https://origin');
  const p = url.pathname;
  let m: RegExpExecArray | null;
  if (p === '/plain.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(JSON_2KB) });
    res.end(JSON_2KB);
  } else if (p === '/gzip.json') {
    const body = zlib.gzipSync(JSON_2KB);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', 'content-length': body.length });
    res.end(body);
  } else if (p === '/miss.png' || p === '/hit.png') {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 500, 'x-cache': p === '/hit.png' ? 'HIT from cdn' : 'MISS from cdn' });
    res.end(Buffer.alloc(500, 7));
  } else if ((m = /^\/bytes\/(\d+)$/.exec(p))) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Number(m[1]), 'cf-cache-status': 'HIT' });
    streamPattern(res as ServerResponse, Number(m[1]));
  } else if (p === '/slow') {
    const timer = setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('slow'); }, Number(url.searchParams.get('ms') ?? 1600));
    res.on('close', () => clearTimeout(timer));
  } else if ((m = /^\/status\/(\d{3})$/.exec(p))) {
    res.writeHead(Number(m[1]), { 'content-type': 'text/plain' });
    res.end(`status ${m[1]}`);
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  }
}

export interface HealthOrigins { h2Address: string; h1Address: string; close(): Promise<void> }

export async function startHealthOrigins(pki: TestPki): Promise<HealthOrigins> {
  const leaf = pki.leaf({ names: HEALTH_HOSTS });
  const opts = { cert: pki.chain(leaf), key: leaf.keyPem };
  const h2 = http2.createSecureServer({ ...opts, allowHTTP1: true }, route);
  const h1 = https.createServer(opts, route);
  for (const s of [h2, h1]) s.on('tlsClientError', () => undefined);
  await Promise.all([h2, h1].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => { sessions.add(s); s.on('close', () => sessions.delete(s)); });
  return {
    h2Address: `127.0.0.1:${(h2.address() as AddressInfo).port}`,
    h1Address: `127.0.0.1:${(h1.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sessions) s.destroy();
      h1.closeAllConnections();
      await Promise.all([new Promise((r) => h2.close(r)), new Promise((r) => h1.close(r))]);
    },
  };
}

/** A config where api/cdn go to the h2 origin and old.example.test to the h1-only one; evil.example.test is in no list. */
export function healthConfig(o: HealthOrigins, rootFile: string) {
  return {
    appid: 'wx0123456789abcdef',
    version: '0',
    domains: {
      request: ['https://api.example.test', 'https://old.example.test'],
      downloadFile: ['https://cdn.example.test'],
    },
    upstream: {
      hosts: { 'api.example.test': o.h2Address, 'cdn.example.test': o.h2Address, 'evil.example.test': o.h2Address, 'old.example.test': o.h1Address },
      extraCaFiles: [rootFile],
    },
  };
}
