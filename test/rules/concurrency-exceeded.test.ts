/**
 * `concurrency-exceeded` on real sockets (docs/device.md): with `overflow: "reject"` (what the
 * developer tools' simulator does) a call over its API's cap gets 429 `<api>:fail exceed max task
 * count`; a 6th open socket is refused whatever `overflow` says (the default `queue` included); in
 * `report` mode the call goes on and is recorded. The upstream holds `/held` requests until the
 * test releases them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type WebSocket from 'ws';
import { openWs, viaProxy, type Reply } from '../helpers/clients.js';
import { assertBlocked, assertEventFields, exchangeLogged, violationsOf } from '../helpers/assertions.js';
import { admin } from '../helpers/fixture.js';
import { startGatedWorld, type GatedWorld } from '../helpers/gate.js';
import { pollUntil } from '../helpers/poll.js';

const API = 'https://api.example.test/held?tag=';
const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const send = (w: GatedWorld, names: string[]) => names.map((t) => w.fetch(`${API}${t}`).catch((e: Error) => e));
const statusOf = async (p: Promise<Reply | Error>) => { const r = await p; return r instanceof Error ? r.message : r.status; };

describe('concurrency-exceeded (overflow "reject", what the developer tools do)', () => {
  it('answers the 11th request in flight with 429 exceed max task count; a download has its own cap; after one ends the next passes', async () => {
    const w = await startGatedWorld({ concurrency: { overflow: 'reject' } });
    try {
      const ten = send(w, tags('r', 10));
      await w.gate.arrivedAll(tags('r', 10));
      assert.deepEqual((await admin(w.proxy, 'GET', '/api/stats')).json.inFlight, { '127.0.0.1': { http: 10, socket: 0, request: 10, uploadFile: 0, downloadFile: 0 } });
      const seen = w.upstream.seen.length;
      assertBlocked(await w.fetch('https://api.example.test/bytes/1'), 429, 'concurrency-exceeded', 'request:fail exceed max task count');
      assert.equal((await w.fetch('https://cdn.example.test/bytes/1')).status, 200, 'downloads are counted apart');
      assert.equal(w.upstream.seen.length, seen + 1, 'the upstream never saw the refused one');
      const [line] = await violationsOf(w.proxy, 'concurrency-exceeded');
      assertEventFields(line!, { severity: 'error', action: 'blocked', api: 'request', message: '127.0.0.1 already has 10 request in flight (max 10)' });
      assert.equal((line!.inFlight as unknown[]).length, 10, 'the holders are listed');
      w.gate.release('r0');
      assert.equal(await statusOf(ten[0]!), 200);
      await exchangeLogged(w.proxy, `${API}r0`);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200, 'a place was freed');
      assert.equal(w.proxy.violations().filter((l) => l.rule === 'concurrency-queued').length, 0, 'reject never queues');
    } finally {
      await w.close();
    }
  });

  it('frees the places of requests whose clients left', async () => {
    const w = await startGatedWorld({ concurrency: { overflow: 'reject' } });
    try {
      const agents = Array.from({ length: 10 }, () => new HttpsProxyAgent(w.proxy.url, { ca: w.proxy.caPem }));
      const pending = agents.map((agent, i) => viaProxy(w.proxy.url, w.proxy.caPem, `${API}left${i}`, { agent }).catch(() => undefined));
      await w.gate.arrivedAll(tags('left', 10));
      for (const a of agents) a.destroy();
      await Promise.all(pending);
      await pollUntil('no request in flight', async () => Object.keys((await admin(w.proxy, 'GET', '/api/stats')).json.inFlight).length === 0);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
    } finally {
      await w.close();
    }
  });
});

describe('sockets are never queued', () => {
  it('refuses a 6th open socket with 429 under the default overflow "queue", and frees a place when one closes', async () => {
    const w = await startGatedWorld();
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < 5; i++) sockets.push(await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock'));
      const err = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock').then(() => undefined, (e: { status?: number; body?: string }) => e);
      assert.equal(err?.status, 429);
      assert.equal(JSON.parse(err!.body!).errMsg, 'connectSocket:fail exceed max task count');
      const [line] = await violationsOf(w.proxy, 'concurrency-exceeded');
      assertEventFields(line!, { severity: 'error', action: 'blocked', api: 'connectSocket', message: '127.0.0.1 already has 5 sockets open (max 5)' });
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200, 'sockets do not use HTTP places');
      const closed = new Promise((r) => sockets[0]!.once('close', r));
      sockets[0]!.close();
      await closed;
      await pollUntil('the socket place to be released', async () => (await admin(w.proxy, 'GET', '/api/stats')).json.inFlight['127.0.0.1']?.socket === 4);
      sockets.push(await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock'));
      assert.equal(w.proxy.violations().filter((l) => l.rule === 'concurrency-queued').length, 0);
    } finally {
      for (const s of sockets) s.terminate();
      await w.close();
    }
  });
});

describe('report mode', () => {
  it('reject: forwards the 3rd and records concurrency-exceeded as reported', async () => {
    const w = await startGatedWorld({ mode: 'report', concurrency: { request: 2, overflow: 'reject' } });
    try {
      const two = send(w, ['a', 'b']);
      await w.gate.arrivedAll(['a', 'b']);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
      const [line] = await violationsOf(w.proxy, 'concurrency-exceeded');
      assertEventFields(line!, { action: 'reported', severity: 'error' });
      for (const t of w.gate.held()) w.gate.release(t);
      for (const p of two) assert.equal(await statusOf(p), 200);
    } finally {
      await w.close();
    }
  });

  it('queue: the 3rd does not wait in report mode; concurrency-queued is reported with queuedMs 0', async () => {
    const w = await startGatedWorld({ mode: 'report', concurrency: { request: 2 } });
    try {
      const two = send(w, ['a', 'b']);
      await w.gate.arrivedAll(['a', 'b']);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
      const [line] = await violationsOf(w.proxy, 'concurrency-queued', { url: 'https://api.example.test/bytes/1' });
      assertEventFields(line!, { action: 'reported', severity: 'info', queuedMs: 0 });
      assert.equal((line!.inFlight as unknown[]).length, 2);
      for (const t of w.gate.held()) w.gate.release(t);
      for (const p of two) assert.equal(await statusOf(p), 200);
    } finally {
      await w.close();
    }
  });
});
