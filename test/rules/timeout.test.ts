import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curl, openWs } from '../helpers/clients.js';
import { assertBlocked, violationsOf } from '../helpers/assertions.js';
import { baseConfig, startWorld, type World } from '../helpers/fixture.js';
import { tempDir } from '../helpers/proxy.js';
import { pollUntil } from '../helpers/poll.js';

describe('timeout (from game.json: request 1500 ms, connectSocket 1500 ms)', () => {
  let w: World;
  before(async () => {
    const dir = tempDir();
    const gameJson = path.join(dir, 'game.json');
    fs.writeFileSync(gameJson, JSON.stringify({ networkTimeout: { request: 1500, connectSocket: 1500 } }));
    w = await startWorld({ config: (a, r) => baseConfig(a, r, { gameJson }) });
  });
  after(async () => { await w.close(); });

  it('answers 504 request:fail timeout when nothing was sent yet, after about the timeout', async () => {
    const t0 = Date.now();
    const r = await w.fetch('https://api.example.test/slow?ms=6000');
    const took = Date.now() - t0;
    assertBlocked(r, 504, 'timeout', 'request:fail timeout');
    // game.json's 1500 ms: not before it (less a timer's slack), well before the upstream's 6 s, with
    // room for a loaded machine.
    assert.ok(took >= 1400 && took < 5000, `answered after ${took} ms`);
    const [line] = await violationsOf(w.proxy, 'timeout');
    assert.equal(line!.action, 'blocked');
  });

  it('cuts the connection when the response had begun', async () => {
    const r = await curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, 'https://api.example.test/drip?ms=6000']);
    assert.notEqual(r.code, 0, 'curl saw the transfer cut');
    assert.equal(r.stdout.toString(), 'head ');
    const lines = await violationsOf(w.proxy, 'timeout', { count: 2 });
    assert.equal(lines[1]!.action, 'cut');
  });

  it('times a socket\'s handshake only', async () => {
    const err = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/ws-slow?ms=6000').then(() => undefined, (e: { status?: number; body?: string }) => e);
    assert.equal(err?.status, 504);
    assert.equal(JSON.parse(err!.body!).errMsg, 'connectSocket:fail timeout');
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock');
    // Open for longer than the 1500 ms handshake timeout (a duration, not a state to wait for).
    await new Promise((r) => setTimeout(r, 2000));
    ws.send('still open');
    assert.equal(await new Promise((r) => ws.once('message', (d) => r(d.toString()))), 'still open', 'an open socket outlives the handshake timeout');
    ws.close();
  });
});

describe('timeout precedence', () => {
  it('the config wins over game.json, and values above 60000 are capped with a warning at start', async () => {
    const dir = tempDir();
    const gameJson = path.join(dir, 'game.json');
    fs.writeFileSync(gameJson, JSON.stringify({ networkTimeout: { request: 90000 } }));
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { gameJson, networkTimeout: { request: 1000 } }) });
    try {
      const t0 = Date.now();
      assertBlocked(await w.fetch('https://api.example.test/slow?ms=5000'), 504, 'timeout', 'request:fail timeout');
      // The config's 1000 ms, not game.json's 90 s (capped to 60): answered well before the upstream's 5 s.
      assert.ok(Date.now() - t0 < 4000);
      assert.ok(w.proxy.lines.some((l) => l.id === 'config-timeout-above-max'), 'one warning line at start');
    } finally {
      await w.close();
    }
  });

  it('report mode records the timeout and lets the response through', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { mode: 'report', networkTimeout: { request: 800 } }) });
    try {
      const r = await w.fetch('https://api.example.test/slow?ms=1500&body=late');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'late');
      assert.equal((await violationsOf(w.proxy, 'timeout'))[0]!.action, 'reported');
    } finally {
      await w.close();
    }
  });
});

describe('timeout with overflow: "queue" (the default)', () => {
  it('starts the clock when a request leaves the queue, not while it waits for a slot', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { networkTimeout: { request: 2500 }, concurrency: { request: 1 } }) });
    try {
      const first = w.fetch('https://api.example.test/slow?ms=1500&body=first');
      // The first holds the one slot before the second arrives.
      await pollUntil('the first request to hold the slot', async () => {
        const stats = await (await fetch(`${w.proxy.adminUrl}/api/stats`)).json() as { inFlight: Record<string, { http: number }> };
        return Object.values(stats.inFlight).some((c) => c.http >= 1);
      });
      const t0 = Date.now();
      const second = await w.fetch('https://api.example.test/slow?ms=1500&body=second');
      const took = Date.now() - t0;
      assert.equal((await first).status, 200);
      // Queued for about 1.5 s, then 1.5 s upstream: over 2.5 s from its head, within it from its dispatch.
      assert.ok(took > 2500, `the second request took ${took} ms in all (it must have waited in the queue)`);
      assert.equal(second.status, 200, second.body.toString());
      assert.equal(second.body.toString(), 'second');
      assert.equal((await violationsOf(w.proxy, 'concurrency-queued'))[0]!.action, 'queued');
      assert.deepEqual(await violationsOf(w.proxy, 'timeout', { url: 'https://api.example.test/slow?ms=1500&body=second', count: 0 }), []);
    } finally {
      await w.close();
    }
  });
});
