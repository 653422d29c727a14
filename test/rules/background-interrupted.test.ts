import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { curl, openWs } from '../helpers/clients.js';
import { assertBlocked, violationsOf } from '../helpers/assertions.js';
import { admin, startWorld, type World } from '../helpers/fixture.js';
import { pollUntil } from '../helpers/poll.js';

/** The proxy's own view (GET /api/stats): this many exchanges of 127.0.0.1 admitted and in flight. */
const inFlight = (w: World, http: number, socket: number) => pollUntil(`${http} http and ${socket} sockets in flight`, async () => {
  const mine = (await admin(w.proxy, 'GET', '/api/stats')).json.inFlight['127.0.0.1'] as { http: number; socket: number } | undefined;
  return (mine?.http ?? 0) === http && (mine?.socket ?? 0) === socket;
});

/** Switches background mode and checks the proxy reports it on or off. */
async function background(w: World, on: boolean): Promise<void> {
  assert.deepEqual((await admin(w.proxy, 'POST', '/api/background', { background: on })).json, { background: on });
  assert.equal((await admin(w.proxy, 'GET', '/api/stats')).json.background, on);
}

describe('background-interrupted', () => {
  it('5 s after background mode goes on, in-flight exchanges fail: 503 interrupted, cut once begun, sockets closed; new calls are refused until it goes off', async () => {
    const w = await startWorld();
    try {
      const slow = w.fetch('https://api.example.test/slow?ms=15000');
      const drip = curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, 'https://api.example.test/drip?ms=15000'], 20_000);
      const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock');
      const wsClosed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      // The state the interruption needs: both requests forwarded (the drip's head is out) and the socket open.
      await pollUntil('the upstream saw /slow and /drip', () => ['/slow', '/drip'].every((p) => w.upstream.seen.some((s) => s.url.startsWith(p))));
      await inFlight(w, 2, 1);
      const t0 = Date.now();
      await background(w, true);
      assertBlocked(await slow, 503, 'background-interrupted', 'request:fail interrupted');
      const took = Date.now() - t0;
      // The 5 s grace: not before it (less the time the switch took to report), and well before the
      // 15 s the upstream would take, with room for a loaded machine.
      assert.ok(took >= 4500 && took < 9000, `interrupted after ${took} ms`);
      const d = await drip;
      assert.notEqual(d.code, 0, 'the begun response was cut');
      assert.equal(d.stdout.toString(), 'head ');
      assert.equal(await wsClosed, 1006, 'the socket was closed without a close frame');
      const lines = await violationsOf(w.proxy, 'background-interrupted', { count: 3 });
      // docs/rules.md: the action is `cut`, also for the one the proxy answered 503 (nothing sent yet).
      assert.deepEqual(lines.map((l) => l.action), ['cut', 'cut', 'cut']);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 403);
      await background(w, false);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
    } finally {
      await w.close();
    }
  });

  it('switching back within 5 s interrupts nothing', async () => {
    const w = await startWorld();
    try {
      const slow = w.fetch('https://api.example.test/slow?ms=6500&body=done');
      await inFlight(w, 1, 0);
      await background(w, true);
      // Background mode stays on for 1 s of its 5 s grace (a duration, not a state to wait for).
      await new Promise((r) => setTimeout(r, 1000));
      await background(w, false);
      const r = await slow;
      assert.equal(r.body.toString(), 'done');
      await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://api.example.test/slow?ms=6500&body=done');
      assert.equal(w.proxy.lines.filter((l) => l.msg === 'violation' && l.rule === 'background-interrupted').length, 0);
    } finally {
      await w.close();
    }
  });
});
