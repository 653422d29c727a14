/**
 * A world for `mgproxy/runtime`'s tests: the test PKI, one HTTPS+WSS upstream answering for the
 * fake domains (test/helpers/upstreams.ts's routes, plus the few below), and a proxy started by
 * test/helpers/proxy.ts in front, its admin URL given to the runtime as MGPROXY_ADMIN would be.
 *
 * Extra routes:
 *   /hold/NAME          answers only when the test calls release(NAME) (holds the call in flight)
 *   /multipart          parses a multipart/form-data body: {"contentType", "parts": [{name, filename, type, bytes, sha256, text}]}
 *   /headers            answers with Mixed-Case header names and two Set-Cookie headers
 *   /chunks             three chunks, 100 ms apart
 *   /redirect?to=URL    302 to URL (default /echo)
 */
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { baseConfig, HOSTS } from './fixture.js';
import { TestPki } from './pki.js';
import { type ProxyProcess, startProxy } from './proxy.js';
import { startUpstream, type Upstream } from './upstreams.js';

export interface Held { name: string; res: ServerResponse; at: number }

export interface RuntimeWorld {
  pki: TestPki;
  upstream: Upstream;
  proxy: ProxyProcess;
  /** Calls the upstream holds, in the order they arrived. */
  held: Held[];
  /** Answers the held calls named NAME (200, body = NAME). */
  release(name: string): number;
  /** Resolves once `n` calls named NAME are held (bounded). */
  heldCount(name: string, n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

function parseMultipart(req: IncomingMessage, body: Buffer) {
  const type = req.headers['content-type'] ?? '';
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  const parts: { name?: string; filename?: string; type?: string; bytes: number; sha256: string; text: string }[] = [];
  if (boundary) {
    const delim = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
    let at = body.indexOf(delim);
    while (at >= 0) {
      const start = at + delim.length;
      if (body.subarray(start, start + 2).toString() === '--') break;
      const next = body.indexOf(delim, start);
      if (next < 0) break;
      const part = body.subarray(start + 2, next - 2);
      const sep = part.indexOf('\r\n\r\n');
      const head = part.subarray(0, sep).toString();
      const content = part.subarray(sep + 4);
      parts.push({
        name: /name="([^"]*)"/.exec(head)?.[1],
        filename: /filename="([^"]*)"/.exec(head)?.[1],
        type: /content-type: *(.*)/i.exec(head)?.[1]?.trim(),
        bytes: content.length,
        sha256: crypto.createHash('sha256').update(content).digest('hex'),
        text: content.length <= 256 ? content.toString() : '',
      });
      at = next;
    }
  }
  return { contentType: type, parts };
}

/** `config` joins the base config (test/helpers/fixture.ts); `hosts` joins its `upstream.hosts` (a name to `127.0.0.1:PORT`). */
export async function startRuntimeWorld(config: Record<string, unknown> = {}, hosts: Record<string, string> = {}): Promise<RuntimeWorld> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: HOSTS });
  const held: Held[] = [];
  const waiters: (() => void)[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'https://upstream');
    const m = /^\/hold\/([\w-]+)$/.exec(url.pathname);
    if (m) {
      req.resume();
      held.push({ name: m[1]!, res, at: Date.now() });
      for (const w of [...waiters]) w();
      return true;
    }
    if (url.pathname === '/multipart') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(parseMultipart(req, Buffer.concat(chunks))));
      });
      return true;
    }
    if (url.pathname === '/headers') {
      req.resume();
      res.writeHead(200, [['Content-Type', 'application/json'], ['X-Game-Version', '7'], ['Set-Cookie', 'a=1; Path=/'], ['Set-Cookie', 'b=2; HttpOnly']]);
      res.end('{"ok":true}');
      return true;
    }
    if (url.pathname === '/redirect') {
      req.resume();
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/echo' });
      res.end();
      return true;
    }
    if (url.pathname === '/chunks') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const tick = () => { if (i < 3) { res.write(`chunk${i++};`); setTimeout(tick, 100); } else res.end(); };
      tick();
      return true;
    }
    return false;
  };
  const upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem, handle });
  const base = baseConfig(upstream.address, pki.rootFile);
  const proxy = await startProxy({ config: { ...base, ...config, upstream: { ...base.upstream, hosts: { ...base.upstream.hosts, ...hosts } } } });
  return {
    pki, upstream, proxy, held,
    release(name) {
      let n = 0;
      for (const h of held) {
        if (h.name !== name || h.res.writableEnded) continue;
        h.res.writeHead(200, { 'content-type': 'text/plain' });
        h.res.end(name);
        n++;
      }
      return n;
    },
    heldCount: (name, n, ms = 10_000) => new Promise((resolve, reject) => {
      const check = () => held.filter((h) => h.name === name).length >= n;
      if (check()) { resolve(); return; }
      const timer = setTimeout(() => reject(new Error(`${n} held calls named ${name} not within ${ms} ms (have ${held.filter((h) => h.name === name).length})`)), ms);
      const w = () => { if (check()) { clearTimeout(timer); waiters.splice(waiters.indexOf(w), 1); resolve(); } };
      waiters.push(w);
    }),
    close: async () => {
      for (const h of held) if (!h.res.writableEnded) h.res.destroy();
      await proxy.stop();
      await upstream.close();
      pki.cleanup();
    },
  };
}
