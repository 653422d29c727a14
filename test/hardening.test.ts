/**
 * Hardening (docs/architecture.md): requests a hostile network or an odd client sends, answered for that
 * client alone, with what the client asked for kept.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readAll, tlsTunnel } from './helpers/clients.js';
import { baseConfig, startWorld, type World } from './helpers/fixture.js';

/** One raw request inside a fresh TLS tunnel to `host`; everything the proxy sent back until it closed. */
async function rawInTunnel(w: World, host: string, request: string, ms = 10_000): Promise<string> {
  const s = await tlsTunnel(w.proxy.port, host, 443, w.proxy.caPem);
  const all = readAll(s, ms);
  s.write(request);
  return (await all).toString('latin1');
}

const headOf = (raw: string) => {
  const [status, ...fields] = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
  return { status: status!, headers: Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()])) };
};

describe('hardening: odd requests', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ config: (a, r) => baseConfig(a, r, { networkTimeout: { request: 1500 } }) });
  });
  after(async () => { await w.close(); });

  it('answers an HTTP/0.9 request line (no version) 400 inside a tunnel; nothing goes upstream', async () => {
    const seen = w.upstream.seen.length;
    const raw = await rawInTunnel(w, 'api.example.test', 'GET /bytes/5\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400 /, raw);
    assert.match(raw, /HTTP\/0\.9/);
    assert.equal(w.upstream.seen.length, seen, 'the upstream saw no request');
    // The proxy serves on: the same request with a version goes through.
    assert.equal((await w.fetch('https://api.example.test/bytes/5')).status, 200);
    assert.equal(w.upstream.seen.length, seen + 1);
  });

  it('answers an HTTP/0.9 absolute-form request 400 (not a rule\'s 403): it is malformed, not forbidden', async () => {
    const { default: net } = await import('node:net');
    const s = net.connect(w.proxy.port, '127.0.0.1');
    const all = readAll(s);
    s.write('GET http://api.example.test/bytes/5\r\n\r\n');
    const raw = (await all).toString('latin1');
    assert.match(raw, /^HTTP\/1\.1 400 /, raw);
    assert.equal(w.proxy.violations().filter((l) => l.url === 'http://api.example.test/bytes/5').length, 0);
  });

  for (const [what, path, status] of [['timeout 504', '/hang', 504], ['unreachable upstream 502', '/reset', 502]] as const) {
    it(`keeps the client's Connection: close on a proxy ${what} given after forwarding began`, async () => {
      const before = w.upstream.seen.filter((s) => s.url === path).length;
      const raw = await rawInTunnel(w, 'api.example.test', `GET ${path} HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n`);
      const head = headOf(raw);
      assert.match(head.status, new RegExp(`^HTTP/1\\.1 ${status} `), raw);
      assert.equal(w.upstream.seen.filter((s) => s.url === path).length, before + 1, 'forwarding had begun');
      assert.equal(head.headers.connection, 'close');
    });
  }

  it('closes, never answers 400 into, a connection whose response is under way when the client sends a malformed request', async () => {
    const s = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
    let raw = '';
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    s.on('error', () => undefined);
    const headSeen = new Promise<void>((resolve) => {
      s.on('data', (c: Buffer) => { raw += c.toString('latin1'); if (raw.includes('head ')) resolve(); });
    });
    s.write('GET /drip?ms=1000 HTTP/1.1\r\nHost: api.example.test\r\n\r\n');
    await headSeen;
    s.write('NOT A REQUEST\r\n\r\n');
    await closed;
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(raw, /HTTP\/1\.1 400|malformed/, raw);
  });

  it('keeps a keep-alive client\'s connection on the same late 504', async () => {
    const s = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
    try {
      const got = new Promise<string>((resolve) => {
        let buf = '';
        s.on('data', (c: Buffer) => { buf += c.toString('latin1'); if (buf.includes('\r\n\r\n') && buf.endsWith('}')) resolve(buf); });
      });
      s.write('GET /hang?keep HTTP/1.1\r\nHost: api.example.test\r\n\r\n');
      const head = headOf(await got);
      assert.match(head.status, /^HTTP\/1\.1 504 /);
      assert.equal(head.headers.connection, 'keep-alive');
    } finally {
      s.destroy();
    }
  });
});
