import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type WebSocket from 'ws';
import { openWs, viaProxy, type Reply } from '../helpers/clients.js';
import { assertBlocked, violationsOf } from '../helpers/assertions.js';
import { admin, baseConfig, holdAtUpstream, startWorld } from '../helpers/fixture.js';
import { pollUntil } from '../helpers/poll.js';

const API = 'https://api.example.test';

describe('concurrency-exceeded (reject)', () => {
  it('answers the 11th request in flight with 429 exceed max task count; after one completes the next succeeds', async () => {
    const w = await startWorld();
    try {
      const long = await holdAtUpstream(w, [...Array.from({ length: 9 }, () => `${API}/slow?ms=8000`), `${API}/slow?ms=1500`]);
      assert.deepEqual((await admin(w.proxy, 'GET', '/api/stats')).json.inFlight, { '127.0.0.1': { http: 10, socket: 0 } });
      const seen = w.upstream.seen.length;
      assertBlocked(await w.fetch('https://api.example.test/bytes/1'), 429, 'concurrency-exceeded', 'request:fail exceed max task count');
      assertBlocked(await w.fetch('https://cdn.example.test/bytes/1'), 429, 'concurrency-exceeded', 'downloadFile:fail exceed max task count');
      assert.equal(w.upstream.seen.length, seen, 'the upstream never saw them');
      assert.equal(((await long[9]) as Reply).status, 200);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200, 'a slot was freed');
      const [line] = await violationsOf(w.proxy, 'concurrency-exceeded');
      assert.equal(line!.action, 'blocked');
      await w.proxy.stop();
      await Promise.all(long);
    } finally {
      await w.close();
    }
  });

  it('frees the slots of requests whose clients left', async () => {
    const w = await startWorld();
    try {
      const agents = Array.from({ length: 10 }, () => new HttpsProxyAgent(w.proxy.url, { ca: w.proxy.caPem }));
      const seen = w.upstream.seen.length;
      const pending = agents.map((agent) => viaProxy(w.proxy.url, w.proxy.caPem, 'https://api.example.test/hang', { agent }).catch(() => undefined));
      await pollUntil('10 hanging requests', () => w.upstream.seen.length - seen >= 10);
      for (const a of agents) a.destroy();
      await Promise.all(pending);
      await pollUntil('no request in flight', async () => Object.keys((await admin(w.proxy, 'GET', '/api/stats')).json.inFlight).length === 0);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
    } finally {
      await w.close();
    }
  });

  it('caps open sockets at 5 per client, and frees a slot when one closes', async () => {
    const w = await startWorld();
    try {
      const sockets: WebSocket[] = [];
      for (let i = 0; i < 5; i++) sockets.push(await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock'));
      const err = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock').then(() => undefined, (e: { status?: number; body?: string }) => e);
      assert.equal(err?.status, 429);
      assert.equal(JSON.parse(err!.body!).errMsg, 'connectSocket:fail exceed max task count');
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200, 'sockets do not use HTTP slots');
      const closed = new Promise((r) => sockets[0]!.once('close', r));
      sockets[0]!.close();
      await closed;
      await pollUntil('the socket slot to be released', async () => (await admin(w.proxy, 'GET', '/api/stats')).json.inFlight['127.0.0.1']?.socket === 4);
      sockets.push(await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock'));
      for (const s of sockets) s.terminate();
    } finally {
      await w.close();
    }
  });
});

describe('concurrency-exceeded (queue, report)', () => {
  it('queue: holds the 11th until a slot frees, records it as queued, then serves it', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { concurrency: { http: 10, socket: 5, overflow: 'queue' } }) });
    try {
      const long = await holdAtUpstream(w, [...Array.from({ length: 9 }, () => `${API}/slow?ms=8000`), `${API}/slow?ms=1500`]);
      const t0 = Date.now();
      const r = await w.fetch('https://api.example.test/bytes/7');
      assert.equal(r.status, 200);
      // The short request ends 1.5 s after it reached the upstream: waiting for its slot takes at least
      // a good part of that (500 ms is far above an unqueued request's few ms).
      assert.ok(Date.now() - t0 >= 500, 'it waited for the short request to finish');
      assert.equal((await violationsOf(w.proxy, 'concurrency-exceeded'))[0]!.action, 'queued');
      await w.proxy.stop();
      await Promise.all(long);
    } finally {
      await w.close();
    }
  });

  it('report: forwards the 11th and records it', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { mode: 'report', concurrency: { http: 2, socket: 5, overflow: 'reject' } }) });
    try {
      const long = await holdAtUpstream(w, [`${API}/slow?ms=3000`, `${API}/slow?ms=3000`]);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
      assert.equal((await violationsOf(w.proxy, 'concurrency-exceeded'))[0]!.action, 'reported');
      await Promise.all(long);
    } finally {
      await w.close();
    }
  });
});

