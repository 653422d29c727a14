import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { curl, openWs } from '../helpers/clients.js';
import { assertBlocked, violationsOf } from '../helpers/assertions.js';
import { admin, startWorld } from '../helpers/fixture.js';

describe('background-interrupted', () => {
  it('5 s after background mode goes on, in-flight exchanges fail: 503 interrupted, cut once begun, sockets closed; new calls are refused until it goes off', async () => {
    const w = await startWorld();
    try {
      const slow = w.fetch('https://api.example.test/slow?ms=15000');
      const drip = curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, 'https://api.example.test/drip?ms=15000'], 20_000);
      const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock');
      const wsClosed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      const seen = w.upstream.seen.length;
      while (w.upstream.seen.length < seen + 2 && w.upstream.seen.filter((s) => s.url.startsWith('/drip')).length === 0) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await admin(w.proxy, 'POST', '/api/background', { background: true });
      assertBlocked(await slow, 503, 'background-interrupted', 'request:fail interrupted');
      const took = Date.now() - t0;
      assert.ok(took >= 4500 && took < 9000, `interrupted after ${took} ms`);
      const d = await drip;
      assert.notEqual(d.code, 0, 'the begun response was cut');
      assert.equal(d.stdout.toString(), 'head ');
      assert.equal(await wsClosed, 1006, 'the socket was closed without a close frame');
      const lines = await violationsOf(w.proxy, 'background-interrupted', { count: 3 });
      assert.deepEqual(lines.map((l) => l.action).sort(), ['blocked', 'cut', 'cut']);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 403);
      await admin(w.proxy, 'POST', '/api/background', { background: false });
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
    } finally {
      await w.close();
    }
  });

  it('switching back within 5 s interrupts nothing', async () => {
    const w = await startWorld();
    try {
      const slow = w.fetch('https://api.example.test/slow?ms=6500&body=done');
      await new Promise((r) => setTimeout(r, 300));
      await admin(w.proxy, 'POST', '/api/background', { background: true });
      await new Promise((r) => setTimeout(r, 1000));
      await admin(w.proxy, 'POST', '/api/background', { background: false });
      const r = await slow;
      assert.equal(r.body.toString(), 'done');
      assert.equal((await violationsOf(w.proxy, 'background-interrupted', { ms: 200 })).length, 0);
    } finally {
      await w.close();
    }
  });
});
