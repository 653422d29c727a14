/**
 * HTTP/2 to the client (docs/http2.md): real h2 clients through the proxy (curl --http2, Node's
 * http2.connect over a CONNECT tunnel) in front of an origin that speaks h2 only and one that
 * speaks HTTP/1.1 only, side by side. Each stream is one exchange with what an HTTP/1.1 exchange
 * has: the caps (streams queued per API), faults on one stream alone, the proxy's own answers,
 * the exchange line, the events and the HAR, all saying `protocol`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { curl, readAll, tlsTunnel } from './helpers/clients.js';
import { admin, baseConfig } from './helpers/fixture.js';
import { startH2Origin, type H2Origin } from './helpers/h2-origin.js';
import { h2Request, h2ViaProxy } from './helpers/h2-client.js';
import { parseHar } from './helpers/har.js';
import { TestPki } from './helpers/pki.js';
import { type LogLine, type ProxyProcess, startProxy, tempDir } from './helpers/proxy.js';
import { patternSha256, startUpstream, type Upstream } from './helpers/upstreams.js';

/** Served by the h2-only origin: `h2.example.test` under request, `dl.example.test` under downloadFile only. */
const H2_HOST = 'h2.example.test';
const DL_HOST = 'dl.example.test';
/** Served by the HTTP/1.1-only origin (test/helpers/upstreams.ts). */
const H1_HOST = 'api.example.test';

function configFor(h1: Upstream, h2: H2Origin, pki: TestPki, extra: Record<string, unknown> = {}) {
  const config = baseConfig(h1.address, pki.rootFile, extra) as ReturnType<typeof baseConfig> & { domains: Record<string, string[]> };
  config.domains.request.push(`https://${H2_HOST}`);
  config.domains.downloadFile.push(`https://${DL_HOST}`);
  Object.assign(config.upstream.hosts, { [H2_HOST]: h2.address, [DL_HOST]: h2.address });
  return config;
}

/** curl through `proxy`: the body, and the HTTP version it spoke to the proxy (`2`, `1.1`). */
async function curlVia(proxy: ProxyProcess, url: string, args: string[] = []) {
  const r = await curl(['-x', proxy.url, '--cacert', proxy.caFile, '--http2', '-w', '\n%{http_version}', ...args, url]);
  const out = r.stdout.toString('latin1');
  const cut = out.lastIndexOf('\n');
  return { code: r.code, stderr: r.stderr, body: Buffer.from(out.slice(0, cut), 'latin1'), version: out.slice(cut + 1) };
}

const exchangeLine = (proxy: ProxyProcess, url: string, extra: (l: LogLine) => boolean = () => true) =>
  proxy.waitFor((l) => l.msg === 'exchange' && l.url === url && extra(l));

describe('HTTP/2 to the client', () => {
  let pki: TestPki;
  let h1: Upstream;
  let h2: H2Origin;
  let proxy: ProxyProcess;
  let harFile: string;
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [H2_HOST, DL_HOST, H1_HOST, 'evil.example.test', 'cdn.example.test', 'ws.example.test', 'upload.example.test'] });
    h1 = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    h2 = await startH2Origin({ cert: pki.chain(leaf), key: leaf.keyPem });
    harFile = path.join(tempDir(), 'h2.har');
    // The queue is configured explicitly: the 11th stream of one API waits for a slot (as a device
    // does: docs/device.md), whatever the default of `overflow` is.
    proxy = await startProxy({ config: configFor(h1, h2, pki, { concurrency: { http: 10, overflow: 'queue' } }), args: ['--har', harFile] });
  });
  after(async () => {
    await proxy?.stop();
    await h1?.close();
    await h2?.close();
    pki?.cleanup();
  });

  it('the fixtures: the h2 origin negotiates h2 and refuses HTTP/1.1 alone; the HTTP/1.1 origin never chooses h2', async () => {
    const alpn = (port: number, protocols: string[]) => new Promise<string | false | Error>((resolve) => {
      const s = tls.connect({ port, host: '127.0.0.1', servername: H2_HOST, ca: pki.root.certPem, ALPNProtocols: protocols }, () => { resolve(s.alpnProtocol ?? false); s.destroy(); });
      s.on('error', (err) => resolve(err));
    });
    assert.equal(await alpn(h2.port, ['h2', 'http/1.1']), 'h2');
    assert.ok(await alpn(h2.port, ['http/1.1']) instanceof Error, 'an HTTP/1.1-only client is refused by the h2 origin');
    assert.equal(await alpn(h1.port, ['h2', 'http/1.1']), 'http/1.1');
  });

  it('curl --http2 speaks h2 through the proxy to the h2 origin, HTTP/1.1 to the HTTP/1.1 one, byte-exact', async () => {
    const a = await curlVia(proxy, `https://${H2_HOST}/bytes/300000`);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.version, '2');
    assert.equal(a.body.length, 300000);
    const b = await curlVia(proxy, `https://${H1_HOST}/bytes/300000`);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.version, '1.1');
    const la = await exchangeLine(proxy, `https://${H2_HOST}/bytes/300000`);
    assert.deepEqual([la.protocol, la.upstreamAlpn, la.status, la.bytesOut], ['h2', 'h2', 200, 300000]);
    const lb = await exchangeLine(proxy, `https://${H1_HOST}/bytes/300000`);
    assert.deepEqual([lb.protocol, lb.upstreamAlpn], ['http/1.1', 'http/1.1']);
  });

  it('a host the rules refuse is offered http/1.1 only, and gets its 403 there', async () => {
    const r = await curlVia(proxy, 'https://evil.example.test/x');
    assert.equal(r.version, '1.1');
    assert.match(r.body.toString(), /url not in domain list/);
  });

  it('Node\'s http2.connect over a CONNECT tunnel: 20 streams on one connection, byte-exact, 10 of them queued', async () => {
    const { session } = await h2ViaProxy(proxy.port, H2_HOST, proxy.caPem);
    // `concurrency-queued`, or `concurrency-exceeded` with action `queued` where the queue event has no id of its own yet.
    const isQueued = (v: LogLine) => v.action === 'queued' && String(v.rule).startsWith('concurrency-');
    const queuedBefore = proxy.violations().filter(isQueued).length;
    const seenBefore = h2.maxOpenStreams;
    // Each answer waits 600 ms at the origin, so the first 10 hold their slots while the other 10
    // arrive: a window of over half a second for 20 frames on one connection, on a loaded machine.
    const sizes = Array.from({ length: 20 }, (_, i) => 10_000 + i * 997);
    const replies = await Promise.all(sizes.map((n) => h2Request(session, `/delay-bytes?ms=600&n=${n}`, { timeoutMs: 30_000 })));
    replies.forEach((r, i) => {
      assert.equal(r.status, 200, `stream ${i}`);
      assert.equal(r.sha256, patternSha256(sizes[i]!), `stream ${i} byte-exact`);
    });
    session.close();
    for (const n of sizes) await exchangeLine(proxy, `https://${H2_HOST}/delay-bytes?ms=600&n=${n}`);
    const queued = proxy.violations().filter(isQueued).slice(queuedBefore);
    assert.equal(queued.length, 10);
    assert.ok(queued.every((v) => v.protocol === 'h2'));
    assert.ok(h2.maxOpenStreams <= Math.max(10, seenBefore), `the origin saw at most 10 at once (${h2.maxOpenStreams})`);
  });

  it('an upload over h2 reaches the origin byte-exact (the stream is the body, with backpressure)', async () => {
    const { session } = await h2ViaProxy(proxy.port, H2_HOST, proxy.caPem);
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const r = await h2Request(session, '/sha256', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body, timeoutMs: 30_000 });
    session.close();
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { sha256: (await import('./helpers/upstreams.js')).sha256(body), bytes: body.length });
    const line = await exchangeLine(proxy, `https://${H2_HOST}/sha256`);
    assert.deepEqual([line.protocol, line.bytesIn], ['h2', body.length]);
  });

  it('a reset fault cuts one stream with RST_STREAM CANCEL after afterBytes; another stream of the connection completes', async () => {
    const { session } = await h2ViaProxy(proxy.port, H2_HOST, proxy.caPem);
    // A: its head comes before the fault is set (a condition is taken at the head), its body after.
    const a = h2Request(session, '/delay-bytes?ms=1500&n=200000', { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await admin(proxy, 'POST', '/api/network', { default: 'none', rules: [{ host: H2_HOST, fault: { type: 'reset', afterBytes: 1000 } }] })).status, 200);
    try {
      const b = await h2Request(session, '/bytes/50000');
      assert.equal(b.rstCode, 8, 'RST_STREAM CANCEL');
      assert.equal(b.body.length, 1000, 'exactly afterBytes');
      const short = await h2Request(session, '/bytes/600');
      assert.deepEqual([short.rstCode, short.ended, short.body.length], [0, true, 600], 'a response shorter than afterBytes is not cut');
      const ra = await a;
      assert.deepEqual([ra.status, ra.rstCode, ra.sha256], [200, 0, patternSha256(200000)], 'the other stream completes');
      const line = await exchangeLine(proxy, `https://${H2_HOST}/bytes/50000`, (l) => l.outcome === 'cut');
      assert.deepEqual([line.protocol, line.network], ['h2', 'reset']);
    } finally {
      await admin(proxy, 'POST', '/api/network', { default: 'none', rules: [] });
      session.close();
    }
  });

  it('the proxy\'s 403 over h2: same status, JSON and x-mgproxy-rule as over HTTP/1.1, no connection field, the origin never asked', async () => {
    const { session } = await h2ViaProxy(proxy.port, DL_HOST, proxy.caPem);
    const seen = h2.seen.length;
    // A GET of a downloadFile host is allowed; a POST to it is a `request`, whose list lacks it.
    const ok = await h2Request(session, '/bytes/100');
    assert.equal(ok.status, 200);
    const r = await h2Request(session, '/submit', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://game.example' }, body: '{}' });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-mgproxy-rule'], 'domain-not-allowed');
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.headers['access-control-allow-origin'], 'https://game.example');
    assert.equal(r.headers.connection, undefined);
    assert.deepEqual(JSON.parse(r.body.toString()).errMsg, 'request:fail url not in domain list');
    // The connection serves on.
    assert.equal((await h2Request(session, '/bytes/100')).status, 200);
    session.close();
    assert.equal(h2.seen.filter((s) => s.url === '/submit').length, 0);
    assert.ok(h2.seen.length >= seen + 2);
    const v = await proxy.waitFor((l) => l.msg === 'violation' && l.url === `https://${DL_HOST}/submit`);
    assert.deepEqual([v.rule, v.protocol, v.action], ['domain-not-allowed', 'h2', 'blocked']);
  });

  it('header names from an h2 origin reach an HTTP/1.1 client as the origin sent them: lowercase', async () => {
    const s = await tlsTunnel(proxy.port, H2_HOST, 443, proxy.caPem);
    assert.equal(s.alpnProtocol, 'http/1.1');
    const all = readAll(s);
    s.write(`GET /h2-headers HTTP/1.1\r\nHost: ${H2_HOST}\r\nConnection: close\r\n\r\n`);
    const text = (await all).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /\r\ncontent-type: application\/json\r\n/);
    assert.match(text, /\r\nx-game-token: abc\r\n/);
    const line = await exchangeLine(proxy, `https://${H2_HOST}/h2-headers`, (l) => l.protocol === 'http/1.1');
    assert.equal(line.upstreamAlpn, 'h2');
  });

  it('an h2 stream for another origin than its connection\'s gets 421', async () => {
    const { session } = await h2ViaProxy(proxy.port, H2_HOST, proxy.caPem);
    const r = await h2Request(session, '/bytes/10', { headers: { ':authority': H1_HOST } });
    assert.equal(r.status, 421);
    session.close();
  });

  it('the HAR says h2 for the streams and HTTP/1.1 for the rest, with _mgproxy.protocol', async () => {
    await proxy.stop();
    const har = parseHar(fs.readFileSync(harFile, 'utf8'));
    const h2Entry = har.log.entries.find((e) => e.request.url === `https://${H2_HOST}/bytes/300000`)!;
    const h1Entry = har.log.entries.find((e) => e.request.url === `https://${H1_HOST}/bytes/300000`)!;
    assert.equal(h2Entry.request.httpVersion, 'h2');
    assert.equal((h2Entry as unknown as { response: { httpVersion: string } }).response.httpVersion, 'h2');
    assert.equal((h2Entry._mgproxy as Record<string, unknown>).protocol, 'h2');
    assert.equal(h1Entry.request.httpVersion, 'HTTP/1.1');
    assert.equal((h1Entry._mgproxy as Record<string, unknown>).protocol, 'http/1.1');
    const blocked = har.log.entries.find((e) => e.request.url === `https://${DL_HOST}/submit`)!;
    assert.deepEqual([blocked.response.status, blocked.request.httpVersion], [403, 'h2']);
  });
});

describe('--http2 off', () => {
  let pki: TestPki;
  let h1: Upstream;
  let h2: H2Origin;
  let proxy: ProxyProcess;
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [H2_HOST, DL_HOST, H1_HOST] });
    h1 = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    h2 = await startH2Origin({ cert: pki.chain(leaf), key: leaf.keyPem });
    proxy = await startProxy({ config: configFor(h1, h2, pki), args: ['--http2', 'off'] });
  });
  after(async () => {
    await proxy?.stop();
    await h1?.close();
    await h2?.close();
    pki?.cleanup();
  });

  it('offers http/1.1 only, even for an h2 origin, which the proxy still reaches over h2', async () => {
    const r = await curlVia(proxy, `https://${H2_HOST}/bytes/5000`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.version, '1.1');
    assert.equal(r.body.length, 5000);
    const line = await exchangeLine(proxy, `https://${H2_HOST}/bytes/5000`);
    assert.deepEqual([line.protocol, line.upstreamAlpn], ['http/1.1', 'h2']);
  });

  it('a bad value is refused with exit code 2', async () => {
    const { runCli } = await import('./helpers/proxy.js');
    const r = await runCli(['start', '--port', '0', '--http2', 'maybe'], { timeoutMs: 15_000 });
    assert.equal(r.code, 2);
  });
});
