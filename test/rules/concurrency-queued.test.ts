/**
 * `concurrency-queued` on real sockets (docs/device.md): with the default `overflow: "queue"` a
 * call over its API's cap waits, first come first served, and goes on when a place frees, as a
 * device's runtime holds it. The upstream holds `/held` requests until the test releases them, so
 * the time a place takes to free is the test's, not a guess. Caps are per API (10 each; Douyin's
 * mini game 15 requests); a written `concurrency.http` is still one shared cap.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tunnelAgent, type Reply } from '../helpers/clients.js';
import { assertEventFields, exchangeLogged, violationsOf } from '../helpers/assertions.js';
import { admin } from '../helpers/fixture.js';
import { multipart, startGatedWorld, type GatedWorld } from '../helpers/gate.js';
import { tempDir } from '../helpers/proxy.js';
import { mgproxyRun, startRunWorld } from '../helpers/run.js';
import { findAll, parseXml } from '../helpers/xml.js';

const API = 'https://api.example.test/held?tag=';
const CDN = 'https://cdn.example.test/held?tag=';
const UPLOAD = 'https://upload.example.test/held?tag=';
const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Calls sent at once, each on its own tunnel; settled either way (the test's end may cut them). */
function send(w: GatedWorld, base: string, names: string[], upload = false): Promise<Reply | Error>[] {
  return names.map((t) => w.fetch(`${base}${t}`, upload ? { method: 'POST', ...multipart(t) } : {}).catch((e: Error) => e));
}

const statusOf = async (p: Promise<Reply | Error>) => { const r = await p; return r instanceof Error ? r.message : r.status; };
const stats = async (w: GatedWorld) => (await admin(w.proxy, 'GET', '/api/stats')).json as { inFlight: Record<string, Record<string, number>>; byRule: Record<string, number> };

describe('concurrency-queued (overflow "queue", the default)', () => {
  it('holds the 11th request until the first place frees, then serves it; one event with queuedMs, inFlight, HAR blocked, report count', async () => {
    const dir = tempDir('mgproxy-queue-');
    const har = path.join(dir, 'run.har');
    const report = path.join(dir, 'report.json');
    const w = await startGatedWorld({}, { args: ['--har', har, '--report', report] });
    // The 11th goes over a tunnel opened beforehand, so that its head reaches the proxy as it is sent.
    const agent = tunnelAgent(w.proxy.url, w.proxy.caPem, true);
    try {
      assert.equal((await w.fetch('https://api.example.test/bytes/1', { agent })).status, 200);
      const ten = send(w, API, tags('r', 10));
      await w.gate.arrivedAll(tags('r', 10));
      const sentAt = performance.now();
      const eleventh = w.fetch(`${API}r10`, { agent });
      await w.waiting(`${API}r10`);
      // The time the first place takes to free, chosen by the test (this is the wait being measured, not an absence check).
      await sleep(1000);
      assert.deepEqual((await stats(w)).inFlight, { '127.0.0.1': { http: 10, socket: 0, request: 10, uploadFile: 0, downloadFile: 0 } }, 'a waiting call is not in flight');
      assert.ok(!w.gate.arrived.includes('r10'), 'the 11th has not reached the upstream while 10 are in flight');
      const freedAt = performance.now();
      w.gate.release('r0');
      assert.equal(await statusOf(ten[0]!), 200);
      await w.gate.arrivedAll(['r10']);
      w.gate.release('r10');
      const r = await eleventh;
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'released r10');

      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${API}r10` });
      assertEventFields(ev!, { rule: 'concurrency-queued', severity: 'info', action: 'queued', api: 'request' });
      const waited = freedAt - sentAt;
      // Wide band: the proxy runs on 2 cores shared with other test runs; a handshake-free send arrives within ms,
      // and the place is handed over as soon as the proxy sees the first response end.
      assert.ok((ev!.queuedMs as number) >= waited - 300 && (ev!.queuedMs as number) <= waited + 1500, `queuedMs ${ev!.queuedMs} for a place freed after ${Math.round(waited)} ms`);
      const holders = ev!.inFlight as { id: number; method: string; url: string }[];
      assert.deepEqual(holders.map((h) => h.url).sort(), tags('r', 10).map((t) => `${API}${t}`).sort());
      assert.ok(holders.every((h) => h.method === 'GET' && Number.isInteger(h.id)));

      for (const t of tags('r', 10).slice(1)) w.gate.release(t);
      for (const p of ten) assert.equal(await statusOf(p), 200);
      for (const t of tags('r', 11)) await exchangeLogged(w.proxy, `${API}${t}`);
      assert.equal(w.proxy.violations().filter((l) => l.rule === 'concurrency-queued').length, 1, 'only the 11th waited');
      assert.equal(w.proxy.violations().filter((l) => l.rule === 'concurrency-exceeded').length, 0);

      agent.destroy();
      await w.proxy.stop();
      const entries = (JSON.parse(fs.readFileSync(har, 'utf8')) as { log: { entries: { request: { url: string }; time: number; timings: Record<string, number> }[] } }).log.entries;
      const queued = entries.find((e) => e.request.url === `${API}r10`)!;
      assert.ok(Math.abs(queued.timings.blocked! - (ev!.queuedMs as number)) < 50, `HAR blocked ${queued.timings.blocked} vs queuedMs ${ev!.queuedMs}`);
      const sum = ['blocked', 'send', 'wait', 'receive'].reduce((s, k) => s + Math.max(0, queued.timings[k]!), 0);
      assert.ok(Math.abs(sum - queued.time) < 1, `timings add up to time (${sum} vs ${queued.time})`);
      assert.equal(entries.find((e) => e.request.url === `${API}r1`)!.timings.blocked, -1, 'a call that never waited');
      const summary = (JSON.parse(fs.readFileSync(report, 'utf8')) as { summary: { byRule: Record<string, number> } }).summary;
      assert.equal(summary.byRule['concurrency-queued'], 1);
      assert.equal(summary.byRule['concurrency-exceeded'], undefined);
    } finally {
      agent.destroy();
      await w.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs 10 requests, 10 downloads and 3 uploads at once (a cap per API); the 11th download waits for a download', async () => {
    const w = await startGatedWorld();
    try {
      const all = [...send(w, API, tags('r', 10)), ...send(w, CDN, tags('d', 10)), ...send(w, UPLOAD, tags('u', 3), true)];
      await w.gate.arrivedAll([...tags('r', 10), ...tags('d', 10), ...tags('u', 3)]);
      assert.deepEqual((await stats(w)).inFlight['127.0.0.1'], { http: 23, socket: 0, request: 10, uploadFile: 3, downloadFile: 10 });

      const eleventh = send(w, CDN, ['d10'])[0]!;
      await w.waiting(`${CDN}d10`);
      // The requests' and uploads' places free first: the download still waits for one of its own.
      for (const t of [...tags('r', 10), ...tags('u', 3)]) w.gate.release(t);
      for (const t of [...tags('r', 10), ...tags('u', 3)]) await exchangeLogged(w.proxy, t.startsWith('r') ? `${API}${t}` : `${UPLOAD}${t}`);
      assert.ok(!w.gate.arrived.includes('d10'), 'the 11th download waits for a download place');
      w.gate.release('d3');
      await w.gate.arrivedAll(['d10']);
      w.gate.release('d10');
      assert.equal(await statusOf(eleventh), 200);
      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${CDN}d10` });
      assertEventFields(ev!, { api: 'downloadFile', action: 'queued', message: `127.0.0.1 already has 10 downloadFile in flight (max 10): waited ${ev!.queuedMs} ms for a place` });
      assert.ok((ev!.inFlight as { url: string }[]).every((h) => h.url.startsWith(CDN)), 'the holders are the downloads');

      for (const t of w.gate.held()) w.gate.release(t);
      for (const p of all) assert.equal(await statusOf(p), 200);
      for (const t of tags('d', 10)) await exchangeLogged(w.proxy, `${CDN}${t}`);
      assert.deepEqual(w.proxy.violations().filter((l) => l.rule === 'concurrency-queued').map((l) => l.url), [`${CDN}d10`], 'none of the 23 waited');
    } finally {
      await w.close();
    }
  });

  it('a waiting call whose client leaves is out of the line at once (outcome aborted); the next waiter gets the place', async () => {
    const w = await startGatedWorld({ concurrency: { request: 1 } });
    try {
      const [first] = send(w, API, ['h0']);
      await w.gate.arrivedAll(['h0']);
      // Two waiters, in this order: the first gives up (its client closes the connection) while it waits.
      const leaver = w.fetch(`${API}leaver`, { timeoutMs: 1500 }).catch((e: Error) => e);
      await w.waiting(`${API}leaver`);
      const [next] = send(w, API, ['next']);
      await w.waiting(`${API}next`);
      assert.match(String(await leaver), /client timeout/);
      const [left] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${API}leaver` });
      assertEventFields(left!, { action: 'queued', outcome: 'aborted' });
      assert.ok((left!.queuedMs as number) >= 500, `it waited ${left!.queuedMs} ms before leaving`);
      assert.ok(!w.gate.arrived.includes('next'), 'the next waiter still waits for the place held by h0');
      const [line] = await exchangeLogged(w.proxy, `${API}leaver`);
      assert.equal(line!.outcome, 'aborted');

      w.gate.release('h0');
      assert.equal(await statusOf(first!), 200);
      await w.gate.arrivedAll(['next']);
      w.gate.release('next');
      assert.equal(await statusOf(next!), 200);
      const [served] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${API}next` });
      assert.equal(served!.outcome, undefined);
      assert.ok(!w.gate.arrived.includes('leaver'), 'the upstream never saw the call that left');
      assert.deepEqual((await stats(w)).inFlight, {}, 'no place leaked');
      assert.equal((await w.fetch('https://api.example.test/bytes/3')).status, 200, 'the place is free for a newcomer');
    } finally {
      await w.close();
    }
  });

  it('a queued call with a 1 s timeout gets its whole second after it leaves the queue', async () => {
    const w = await startGatedWorld({ concurrency: { request: 1 }, networkTimeout: { request: 1000 } });
    try {
      const t0 = performance.now();
      // Never released: it times out 1 s after its head (504), which frees the place.
      const [first] = send(w, API, ['never']);
      await w.gate.arrivedAll(['never']);
      const queuedAt = performance.now();
      const queued = w.fetch('https://api.example.test/slow?ms=800');
      await w.waiting('https://api.example.test/slow?ms=800');
      assert.equal(await statusOf(first!), 504);
      const r = await queued;
      const took = performance.now() - queuedAt;
      assert.equal(r.status, 200, 'not cut: its timeout started when it left the queue');
      // Queued until the first timed out (about 1 s after t0), then 800 ms upstream: over its own 1 s in all.
      assert.ok(took > 1000, `the queued call took ${Math.round(took)} ms in all (first call sent ${Math.round(queuedAt - t0)} ms before)`);
      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { url: 'https://api.example.test/slow?ms=800' });
      assert.ok((ev!.queuedMs as number) > 300, `queuedMs ${ev!.queuedMs}`);
      assert.equal((await violationsOf(w.proxy, 'timeout', { url: 'https://api.example.test/slow?ms=800', count: 0 })).length, 0);
    } finally {
      await w.close();
    }
  });

  it('a written concurrency.http is one cap shared by the three HTTP APIs; /api/timeline gives it under each', async () => {
    const w = await startGatedWorld({ concurrency: { http: 10 } });
    try {
      const held = [...send(w, API, tags('r', 6)), ...send(w, CDN, tags('d', 4))];
      await w.gate.arrivedAll([...tags('r', 6), ...tags('d', 4)]);
      const upload = send(w, UPLOAD, ['u0'], true)[0]!;
      await w.waiting(`${UPLOAD}u0`);
      const tl = (await admin(w.proxy, 'GET', '/api/timeline?client=127.0.0.1')).json as { caps: Record<string, number> };
      assert.deepEqual(tl.caps, { request: 10, uploadFile: 10, downloadFile: 10, socket: 5 });
      assert.ok(!w.gate.arrived.includes('u0'));
      // A request's place frees: the upload, of another API, takes it.
      w.gate.release('r0');
      await w.gate.arrivedAll(['u0']);
      w.gate.release('u0');
      assert.equal(await statusOf(upload), 200);
      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${UPLOAD}u0` });
      assertEventFields(ev!, { api: 'uploadFile', action: 'queued' });
      assert.match(ev!.message as string, /^127\.0\.0\.1 already has 10 request\/uploadFile\/downloadFile in flight \(max 10\)/);
      for (const t of w.gate.held()) w.gate.release(t);
      for (const p of held) assert.equal(await statusOf(p), 200);
    } finally {
      await w.close();
    }
  });

  it('an API with its own key beside concurrency.http has that cap and does not count against http', async () => {
    const w = await startGatedWorld({ concurrency: { http: 2, downloadFile: 1 } });
    try {
      const held = [...send(w, API, ['r0', 'r1']), ...send(w, CDN, ['d0'])];
      await w.gate.arrivedAll(['r0', 'r1', 'd0']);
      const second = send(w, CDN, ['d1'])[0]!;
      await w.waiting(`${CDN}d1`);
      w.gate.release('r0');
      await exchangeLogged(w.proxy, `${API}r0`);
      assert.ok(!w.gate.arrived.includes('d1'), 'a request place is no download place');
      w.gate.release('d0');
      await w.gate.arrivedAll(['d1']);
      w.gate.release('d1');
      assert.equal(await statusOf(second), 200);
      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${CDN}d1` });
      assert.match(ev!.message as string, /^127\.0\.0\.1 already has 1 downloadFile in flight \(max 1\)/);
      for (const t of w.gate.held()) w.gate.release(t);
      for (const p of held) assert.equal(await statusOf(p), 200);
    } finally {
      await w.close();
    }
  });

  it('douyin-game allows 15 requests in flight; the 16th waits', async () => {
    const w = await startGatedWorld({ platform: 'douyin-game' });
    try {
      const held = send(w, API, tags('r', 15));
      await w.gate.arrivedAll(tags('r', 15));
      assert.equal((await stats(w)).inFlight['127.0.0.1']!.request, 15);
      const sixteenth = send(w, API, ['r15'])[0]!;
      await w.waiting(`${API}r15`);
      w.gate.release('r7');
      await w.gate.arrivedAll(['r15']);
      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { count: 1 });
      assertEventFields(ev!, { url: `${API}r15`, platform: 'douyin-game', action: 'queued' });
      assert.match(ev!.message as string, /^Douyin mini game: 127\.0\.0\.1 already has 15 request in flight \(max 15\)/);
      for (const t of w.gate.held()) w.gate.release(t);
      for (const p of [...held, sixteenth]) assert.equal(await statusOf(p), 200);
      for (const t of tags('r', 15)) await exchangeLogged(w.proxy, `${API}${t}`);
      assert.equal(w.proxy.violations().filter((l) => l.rule === 'concurrency-queued').length, 1, 'the first 15 did not wait');
    } finally {
      await w.close();
    }
  });

  it('background mode treats a waiting call as one in flight: interrupted 5 s later', { timeout: 60_000 }, async () => {
    const w = await startGatedWorld({ concurrency: { request: 1 } });
    try {
      const [first] = send(w, API, ['bg0']);
      await w.gate.arrivedAll(['bg0']);
      const waiting = w.fetch(`${API}bg1`);
      await w.waiting(`${API}bg1`);
      await admin(w.proxy, 'POST', '/api/background', { background: true });
      const r = await waiting;
      assert.equal(r.status, 503);
      assert.equal(r.json<{ errMsg: string }>().errMsg, 'request:fail interrupted');
      assert.equal(await statusOf(first!), 503);
      const [ev] = await violationsOf(w.proxy, 'concurrency-queued', { url: `${API}bg1` });
      assert.equal(ev!.outcome, 'blocked');
      assert.ok(!w.gate.arrived.includes('bg1'));
    } finally {
      await admin(w.proxy, 'POST', '/api/background', { background: false }).catch(() => undefined);
      await w.close();
    }
  });
});

describe('concurrency-queued in `mgproxy run`\'s table, the JSON report and JUnit', () => {
  it('counts the waits apart from concurrency-exceeded, as info: the run passes, even with --fail-on warning', async () => {
    const w = await startRunWorld();
    try {
      // CMD: 11 requests at once through HTTPS_PROXY (undici, one tunnel each); the 11th waits for the first to end.
      const undici = import.meta.resolve('undici');
      const code = `const { EnvHttpProxyAgent, request } = await import(${JSON.stringify(undici)});
        const dispatcher = new EnvHttpProxyAgent();
        const codes = await Promise.all(Array.from({ length: 11 }, async (_, i) => {
          const res = await request('https://api.example.test/slow?ms=1500&n=' + i, { dispatcher, headersTimeout: 20000, bodyTimeout: 20000 });
          await res.body.dump();
          return res.statusCode;
        }));
        console.log(codes.join(' '));
        await dispatcher.close();`;
      const r = await mgproxyRun(w, ['--fail-on', 'warning', '--junit', 'junit.xml', '--report', 'report.json'], [process.execPath, '--input-type=module', '-e', code]);
      assert.equal(r.stdout.trim(), Array.from({ length: 11 }, () => '200').join(' '), r.stderr);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^ {2}concurrency-queued +info +1 +GET https:\/\/api\.example\.test\/slow\?ms=1500&n=\d+: 127\.0\.0\.1 already has 10 request in fl/m);
      assert.doesNotMatch(r.stderr, /^ {2}concurrency-exceeded/m);
      const report = JSON.parse(fs.readFileSync(w.file('report.json'), 'utf8')) as { summary: { byRule: Record<string, number> }; violations: { rule: string; queuedMs: number; inFlight: unknown[] }[] };
      assert.deepEqual(report.summary.byRule, { 'concurrency-queued': 1 });
      assert.ok(report.violations[0]!.queuedMs > 0 && report.violations[0]!.inFlight.length === 10, JSON.stringify(report.violations[0]));
      const cases = findAll(parseXml(fs.readFileSync(w.file('junit.xml'), 'utf8')), 'testcase');
      const queued = cases.find((c) => c.attrs.name === 'concurrency-queued');
      assert.ok(queued, 'a testcase for concurrency-queued');
      assert.equal(findAll(queued!, 'failure').length, 0, 'an info is never a failure');
      assert.ok(cases.some((c) => c.attrs.name === 'concurrency-exceeded'), 'concurrency-exceeded is still checked (sockets)');
    } finally {
      await w.close();
    }
  });
});
