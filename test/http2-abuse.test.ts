/**
 * Abuse of HTTP/2 stays one client's problem (docs/http2.md, RFC 9113 §10.5): raw frames through
 * a CONNECT tunnel — rapid resets (CVE-2023-44487), a CONTINUATION flood, SETTINGS and PING
 * floods, a window held at zero, a header block over 64 KiB. Each ends that stream or connection,
 * the origin never sees a flood of requests, the proxy's memory stays bounded, and a second client
 * is served meanwhile.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type tls from 'node:tls';
import { curl, tlsTunnel } from './helpers/clients.js';
import { baseConfig } from './helpers/fixture.js';
import { startH2Origin, type H2Origin } from './helpers/h2-origin.js';
import {
  continuation, ERROR, FRAME, getFields, headerBlock, headers, ping, PREFACE, readFrames, rstStream, SETTING, settings,
} from './helpers/h2-frames.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, startProxy } from './helpers/proxy.js';
import { startUpstream, type Upstream } from './helpers/upstreams.js';

const HOST = 'h2.example.test';

/** The proxy's resident memory, in MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

describe('HTTP/2 abuse through the proxy', () => {
  let pki: TestPki;
  let h1: Upstream;
  let origin: H2Origin;
  let proxy: ProxyProcess;
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [HOST, 'api.example.test'] });
    h1 = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    origin = await startH2Origin({ cert: pki.chain(leaf), key: leaf.keyPem });
    const config = baseConfig(h1.address, pki.rootFile, { networkTimeout: { request: 3000 }, concurrency: { http: 10, overflow: 'queue' } }) as ReturnType<typeof baseConfig> & { domains: Record<string, string[]> };
    config.domains.request.push(`https://${HOST}`);
    Object.assign(config.upstream.hosts, { [HOST]: origin.address });
    proxy = await startProxy({ config });
    // The origin's ALPN is learnt once, so every tunnel below is offered h2 at once.
    const warm = await curl(['-x', proxy.url, '--cacert', proxy.caFile, '--http2', '-o', '/dev/null', `https://${HOST}/bytes/10`]);
    assert.equal(warm.code, 0, warm.stderr);
  });
  after(async () => {
    await proxy?.stop();
    await h1?.close();
    await origin?.close();
    pki?.cleanup();
  });

  /** A raw h2 connection through the proxy: TLS offering h2 only, the preface and empty SETTINGS sent. */
  async function raw(extraSettings: [number, number][] = []): Promise<{ s: tls.TLSSocket; reader: ReturnType<typeof readFrames> }> {
    const s = await tlsTunnel(proxy.port, HOST, 443, proxy.caPem, { ALPNProtocols: ['h2'] });
    assert.equal(s.alpnProtocol, 'h2');
    const reader = readFrames(s);
    s.write(Buffer.concat([PREFACE, settings(extraSettings)]));
    return { s, reader };
  }

  /** Another client, on its own connection, served while the abuse goes on. */
  async function secondClientServed(): Promise<void> {
    const r = await curl(['-x', proxy.url, '--cacert', proxy.caFile, '--http2', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{http_version}', 'https://api.example.test/bytes/1000'], 20_000);
    assert.equal(r.stdout.toString(), '200 1.1', r.stderr);
  }

  const bounded = (what: string, p: Promise<unknown>, ms: number) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

  it('the server\'s SETTINGS: max concurrent streams 100, no extended CONNECT', async () => {
    const { s, reader } = await raw();
    await bounded('the server SETTINGS', (async () => { while (!reader.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === 0)) await new Promise((r) => setTimeout(r, 20)); })(), 5000);
    const f = reader.frames.find((x) => x.type === FRAME.SETTINGS && x.flags === 0)!;
    const values = new Map<number, number>();
    for (let i = 0; i + 6 <= f.payload.length; i += 6) values.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
    assert.equal(values.get(SETTING.MAX_CONCURRENT_STREAMS), 100);
    assert.notEqual(values.get(SETTING.ENABLE_CONNECT_PROTOCOL), 1);
    s.destroy();
  });

  it('rapid reset (CVE-2023-44487): 2000 requests opened and cancelled at once end the connection with GOAWAY ENHANCE_YOUR_CALM; the origin sees no flood', async () => {
    const before = origin.seen.filter((r) => r.url === '/rapid').length;
    const rss0 = rssMiB(proxy.child.pid!);
    const { s, reader } = await raw();
    const block = headerBlock(getFields(HOST, '/rapid'));
    const burst: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = 1 + i * 2;
      burst.push(headers(id, block), rstStream(id, ERROR.CANCEL));
    }
    s.write(Buffer.concat(burst));
    const second = secondClientServed();
    await bounded('the connection to close', reader.closed, 15_000);
    await second;
    assert.ok(reader.goaways().includes(ERROR.ENHANCE_YOUR_CALM), `GOAWAY codes ${reader.goaways().join(',')}`);
    const seen = origin.seen.filter((r) => r.url === '/rapid').length - before;
    // A stream reset in the read that opened it is closed before its exchange would be forwarded.
    assert.ok(seen <= 10, `the origin saw ${seen} of 2000 requests`);
    assert.ok(rssMiB(proxy.child.pid!) - rss0 < 64, 'memory stays bounded');
  });

  it('a CONTINUATION flood (a header block that never ends) closes the connection; nothing reaches the origin', async () => {
    const before = origin.seen.length;
    const { s, reader } = await raw();
    s.write(headers(1, headerBlock(getFields(HOST, '/continuation')), { endHeaders: false }));
    const piece = continuation(1, headerBlock([['x-flood', 'a'.repeat(100)]]));
    const second = secondClientServed();
    // Written until the proxy closes (bounded: 20,000 frames, 2.2 MB).
    for (let i = 0; i < 200 && !s.destroyed; i++) {
      s.write(Buffer.concat(Array.from({ length: 100 }, () => piece)));
      await new Promise((r) => setImmediate(r));
    }
    await bounded('the connection to close', reader.closed, 15_000);
    await second;
    const ended = reader.goaway() !== undefined || reader.resets().has(1) || s.destroyed;
    assert.ok(ended);
    assert.equal(origin.seen.filter((r) => r.url === '/continuation').length, 0);
    assert.ok(origin.seen.length - before <= 1);
  });

  for (const [name, make] of [['SETTINGS', () => settings()], ['PING', () => ping()]] as const) {
    it(`a ${name} flood from a client that never reads its ACKs closes the connection with GOAWAY ENHANCE_YOUR_CALM`, async () => {
      const { s, reader } = await raw();
      // Not reading: the ACKs pile up in the proxy until its bound, instead of in the client.
      s.pause();
      const rss0 = rssMiB(proxy.child.pid!);
      const second = secondClientServed();
      const batch = Buffer.concat(Array.from({ length: 1000 }, make));
      for (let i = 0; i < 200 && !s.destroyed && s.writable; i++) {
        if (!s.write(batch)) await Promise.race([new Promise((r) => s.once('drain', r)), new Promise((r) => setTimeout(r, 200))]);
      }
      s.resume();
      await bounded('the connection to close', reader.closed, 20_000);
      await second;
      // Closed (awaited above): with GOAWAY ENHANCE_YOUR_CALM when it could still be read, else a
      // reset of the TCP connection whose unread ACKs were dropped (nghttp2's own bound on queued ACKs).
      const codes = reader.goaways();
      assert.ok(codes.length === 0 || codes.includes(ERROR.ENHANCE_YOUR_CALM), `GOAWAY codes ${codes.join(',')}`);
      assert.ok(rssMiB(proxy.child.pid!) - rss0 < 64, 'memory stays bounded');
    });
  }

  it('a window held at zero: the stream is reset when its timeout fires, the origin is read no faster than the client', async () => {
    const rss0 = rssMiB(proxy.child.pid!);
    const { s, reader } = await raw([[SETTING.INITIAL_WINDOW_SIZE, 0]]);
    s.write(headers(1, headerBlock(getFields(HOST, '/bytes/50000000'))));
    const second = secondClientServed();
    // networkTimeout.request is 3 s here: the head went out, so the timeout cuts the stream.
    await bounded('the stream reset', (async () => { while (!reader.resets().has(1)) await new Promise((r) => setTimeout(r, 50)); })(), 15_000);
    await second;
    assert.equal(reader.resets().get(1), ERROR.CANCEL);
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.url === `https://${HOST}/bytes/50000000`);
    assert.equal(line.outcome, 'cut');
    assert.ok((line.bytesOut as number) < 8 * 1024 * 1024, `backpressure: ${line.bytesOut as number} bytes taken from the origin's 50 MB`);
    assert.ok(rssMiB(proxy.child.pid!) - rss0 < 64, 'memory stays bounded');
    assert.ok(!s.destroyed, 'the connection itself stays');
    s.destroy();
  });

  it('a header block over 64 KiB ends that stream (or its connection); the origin never sees it', async () => {
    const { s, reader } = await raw();
    const block = headerBlock([...getFields(HOST, '/huge-headers'), ['x-big', 'b'.repeat(70 * 1024)]]);
    // In frames of the default maximum size (16 KiB): HEADERS then CONTINUATIONs.
    const parts: Buffer[] = [];
    for (let i = 0; i < block.length; i += 16_384) parts.push(block.subarray(i, i + 16_384));
    s.write(Buffer.concat(parts.map((p, i) => (i === 0 ? headers(1, p, { endHeaders: parts.length === 1 }) : continuation(1, p, i === parts.length - 1)))));
    const second = secondClientServed();
    await bounded('the stream or connection to end', (async () => {
      while (!reader.resets().has(1) && reader.goaway() === undefined && !s.destroyed && !reader.frames.some((f) => f.type === FRAME.HEADERS && f.streamId === 1)) await new Promise((r) => setTimeout(r, 50));
    })(), 10_000);
    await second;
    const answered = reader.frames.find((f) => f.type === FRAME.HEADERS && f.streamId === 1);
    // A 431 would be a HEADERS frame; a reset or GOAWAY ends it without one.
    assert.ok(reader.resets().has(1) || reader.goaway() !== undefined || s.destroyed || answered, 'ended');
    assert.equal(origin.seen.filter((r) => r.url === '/huge-headers').length, 0);
    s.destroy();
  });
});
