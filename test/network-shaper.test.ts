/** The shaping primitive (proxy/network/shaper.ts) on real sockets: rate, latency per chunk in order, loss, outage holds, backpressure. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { HIGH_WATER, Shaper, type ShaperOptions } from '../proxy/network/shaper.js';
import { patternChunks, patternSha256 } from './helpers/upstreams.js';
import crypto from 'node:crypto';

/** A loopback server that sends `n` pattern bytes to whoever connects. */
let server: net.Server;
let port = 0;
before(async () => {
  server = net.createServer(async (socket) => {
    socket.on('error', () => undefined);
    const n = Number((await new Promise<Buffer>((r) => socket.once('data', r))).toString());
    for await (const c of patternChunks(n)) if (!socket.write(c)) await new Promise((r) => socket.once('drain', r));
    socket.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
after(() => server.close());

/** Downloads `n` bytes through a shaper; resolves with the time taken and the sha256. */
async function download(n: number, opts: ShaperOptions): Promise<{ ms: number; sha: string }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const t0 = performance.now();
  socket.write(String(n));
  const h = crypto.createHash('sha256');
  await pipeline(socket, new Shaper(opts), new Writable({ write(c: Buffer, _e, cb) { h.update(c); cb(); } }));
  return { ms: performance.now() - t0, sha: h.digest('hex') };
}

describe('Shaper', () => {
  it('lets bytes out at the configured rate, unchanged', async () => {
    const n = 200 * 1024;
    const kbps = 800; // 100 kB/s: about 2.05 s
    const { ms, sha } = await download(n, { kbps, profile: { downKbps: kbps }, perChunkLatency: false });
    assert.equal(sha, patternSha256(n));
    const ratio = ((n * 8) / ms) / kbps;
    assert.ok(ratio > 0.85 && ratio < 1.1, `measured/configured ${ratio.toFixed(3)} (${ms.toFixed(0)} ms)`);
  });

  it('adds the latency to each chunk, keeping their order, without adding the latencies up', async () => {
    const shaper = new Shaper({ profile: { latencyMs: 150, jitterMs: 50 }, perChunkLatency: true });
    const got: { text: string; ms: number }[] = [];
    const t0 = performance.now();
    shaper.on('data', (c: Buffer) => got.push({ text: c.toString(), ms: performance.now() - t0 }));
    for (let i = 0; i < 20; i++) shaper.write(`m${i};`);
    shaper.end();
    await new Promise((r) => shaper.on('end', r));
    assert.equal(got.map((g) => g.text).join(''), Array.from({ length: 20 }, (_, i) => `m${i};`).join(''));
    assert.ok(got[0]!.ms >= 95, `first chunk after ${got[0]!.ms.toFixed(0)} ms`);
    assert.ok(got.at(-1)!.ms < 600, `last chunk after ${got.at(-1)!.ms.toFixed(0)} ms: latencies overlap, as on a real link`);
  });

  it('delays a lost chunk by one retransmission timeout (at least 200 ms, or 2 × latency)', async () => {
    const t0 = performance.now();
    const shaper = new Shaper({ profile: { latencyMs: 150, lossPercent: 100 }, perChunkLatency: true });
    const at = new Promise<number>((r) => shaper.once('data', () => r(performance.now() - t0)));
    shaper.end('x');
    const ms = await at;
    assert.ok(ms >= 440 && ms < 1200, `a lost chunk arrived after ${ms.toFixed(0)} ms (150 latency + 300 RTO)`);
  });

  it('stops every byte while held (an outage), then goes on', async () => {
    const t0 = performance.now();
    const shaper = new Shaper({ profile: {}, perChunkLatency: false, heldUntil: () => t0 + 300 });
    const at = new Promise<number>((r) => shaper.once('data', () => r(performance.now() - t0)));
    shaper.end('held');
    assert.ok((await at) >= 290);
  });

  it('makes its writer wait past HIGH_WATER bytes: backpressure, never a whole body in memory', async () => {
    const shaper = new Shaper({ kbps: 80, profile: { downKbps: 80 }, perChunkLatency: false });
    let accepted = 0;
    while (shaper.write(Buffer.alloc(4096))) accepted += 4096;
    assert.ok(accepted <= HIGH_WATER * 2, `took ${accepted} bytes before asking its writer to wait`);
    shaper.destroy();
  });
});
