/**
 * The shaping primitive (proxy/network/shaper.ts) in process: rate, latency per chunk in order,
 * loss, outage holds, backpressure. The clock is node:test's mock timers (setTimeout and Date, with
 * `performance.now` read from the mocked Date), so each figure is exact to one clock step whatever
 * the machine's load; the shaper on real sockets is test/network-shaping.test.ts.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HIGH_WATER, Shaper } from '../proxy/network/shaper.js';
import { patternChunks, patternSha256 } from './helpers/upstreams.js';

/** One step of the mocked clock: every time below is exact to this. */
const STEP_MS = 5;

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  mock.method(performance, 'now', () => Date.now());
});
afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

/**
 * Moves the mocked clock on in STEP_MS steps until `done()`, letting streams run between steps
 * (setImmediate is real); fails past `maxMs` of mocked time.
 */
async function runClock(done: () => boolean, maxMs = 60_000): Promise<void> {
  while (!done()) {
    if (Date.now() > maxMs) throw new Error(`not done after ${maxMs} ms of mocked time`);
    await new Promise((r) => setImmediate(r));
    if (!done()) mock.timers.tick(STEP_MS);
  }
}

describe('Shaper', () => {
  it('lets bytes out at the configured rate, unchanged', async () => {
    const n = 200 * 1024;
    const kbps = 800; // 100 kB/s: 2048 ms (the bucket's 50 ms only make up for a stall, and the clock starts at 0)
    const h = crypto.createHash('sha256');
    let finished = false;
    const flow = pipeline(Readable.from(patternChunks(n)), new Shaper({ kbps, profile: { downKbps: kbps }, perChunkLatency: false }),
      new Writable({ write(c: Buffer, _e, cb) { h.update(c); cb(); } })).then(() => { finished = true; });
    await runClock(() => finished);
    await flow;
    assert.equal(h.digest('hex'), patternSha256(n));
    const ms = Date.now();
    assert.ok(Math.abs(ms - (n * 8) / kbps) <= 2 * STEP_MS, `took ${ms} ms of mocked time, want ${(n * 8) / kbps}`);
  });

  it('adds the latency to each chunk, keeping their order, without adding the latencies up', async () => {
    const shaper = new Shaper({ profile: { latencyMs: 150, jitterMs: 50 }, perChunkLatency: true });
    const got: { text: string; ms: number }[] = [];
    let ended = false;
    shaper.on('data', (c: Buffer) => got.push({ text: c.toString(), ms: Date.now() }));
    shaper.on('end', () => { ended = true; });
    for (let i = 0; i < 20; i++) shaper.write(`m${i};`);
    shaper.end();
    await runClock(() => ended);
    assert.equal(got.map((g) => g.text).join(''), Array.from({ length: 20 }, (_, i) => `m${i};`).join(''));
    // Each latency is drawn from 150 ± 50 ms; in order, so none leaves before the one ahead of it.
    assert.ok(got[0]!.ms >= 100, `first chunk after ${got[0]!.ms} ms`);
    assert.ok(got.at(-1)!.ms <= 200 + STEP_MS, `last chunk after ${got.at(-1)!.ms} ms: latencies overlap, as on a real link`);
  });

  it('delays a lost chunk by one retransmission timeout (at least 200 ms, or 2 × latency)', async () => {
    const shaper = new Shaper({ profile: { latencyMs: 150, lossPercent: 100 }, perChunkLatency: true });
    let at: number | undefined;
    shaper.once('data', () => { at = Date.now(); });
    shaper.end('x');
    await runClock(() => at !== undefined);
    assert.ok(at! >= 450 && at! <= 450 + STEP_MS, `a lost chunk arrived after ${at} ms (150 latency + 300 RTO)`);
  });

  it('stops every byte while held (an outage), then goes on', async () => {
    const shaper = new Shaper({ profile: {}, perChunkLatency: false, heldUntil: () => 300 });
    let at: number | undefined;
    shaper.once('data', () => { at = Date.now(); });
    shaper.end('held');
    await runClock(() => at !== undefined);
    assert.ok(at! >= 300 && at! <= 300 + STEP_MS, `the held bytes left after ${at} ms`);
  });

  it('makes its writer wait past HIGH_WATER bytes: backpressure, never a whole body in memory', () => {
    const shaper = new Shaper({ kbps: 80, profile: { downKbps: 80 }, perChunkLatency: false });
    let accepted = 0;
    while (shaper.write(Buffer.alloc(4096))) accepted += 4096;
    assert.ok(accepted <= HIGH_WATER * 2, `took ${accepted} bytes before asking its writer to wait`);
    shaper.destroy();
  });
});
