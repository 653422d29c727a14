/**
 * The health report's arithmetic, in process (proxy/reports/health-checks.ts, health.ts,
 * health-baseline.ts): the score table, the queue rows fed `concurrency-queued` events as the
 * concurrency rule records them (docs/health.md), the baseline diff, and that the recorder's
 * memory stays bounded over many exchanges.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { CHECKS, type HealthCheckId, scoreOf, TOTAL_WEIGHT } from '../proxy/reports/health-checks.js';
import { HealthRecorder, type HealthReport } from '../proxy/reports/health.js';
import { change, compareBaseline, healthVerdict, parseFailOnHealth } from '../proxy/reports/health-baseline.js';
import { OriginAlpn } from '../proxy/engine/upstream/origin-alpn.js';
import { healthPage } from '../proxy/reports/health-html.js';
import type { Exchange } from '../proxy/flow/exchange.js';

describe('score', () => {
  it('weighs 82 in all, as the platform does', () => {
    assert.equal(TOTAL_WEIGHT, 82);
    assert.deepEqual(CHECKS.map((c) => [c.id, c.weight]), [
      ['http2', 8], ['compression', 10], ['cdn-cache', 10], ['total-bytes', 5], ['utilisation', 6], ['queue-count', 6],
      ['queue-time', 6], ['slow-request', 8], ['large-response', 3], ['failures', 10], ['status', 10],
    ]);
  });

  const all = CHECKS.map((c) => c.id);
  const without = (...ids: HealthCheckId[]) => all.filter((id) => !ids.includes(id));
  for (const [passing, score] of [
    [all, 100],
    [[], 0],
    [without('compression'), 87], // 72 / 82 = 87.8
    [without('large-response'), 96], // 79 / 82 = 96.3
    [without('http2', 'failures'), 78], // 64 / 82 = 78.04
    [without('total-bytes'), 93], // 77 / 82 = 93.9
    [['large-response'], 3], // 3 / 82 = 3.66
    [['status', 'failures', 'compression', 'cdn-cache'], 48], // 40 / 82 = 48.8
  ] as [HealthCheckId[], number][]) {
    it(`${passing.length === all.length ? 'all' : passing.join(', ') || 'none'} passing → ${score}`, () => assert.equal(scoreOf(passing), score));
  }
});

let nextId = 1;
/** An exchange as the recorder reads it, ended `ms` after its start. */
function fakeExchange(over: Partial<Record<keyof Exchange, unknown>> = {}): Exchange {
  return {
    id: nextId++, api: 'request', method: 'GET', url: 'https://api.example.test/x', host: 'api.example.test', port: 443, scheme: 'https',
    client: '127.0.0.1', isWebSocket: false, preflight: false, status: 200, responseHeaders: { 'content-type': 'text/plain' },
    bytesIn: 0, bytesOut: 10, outcome: 'completed', durationMs: 5, violations: [], startedAt: Date.now(), state: 'ended', responseStartMs: 1,
    ...over,
  } as unknown as Exchange;
}

function recorder(): { events: EventEmitter; rec: HealthRecorder; origins: OriginAlpn } {
  const events = new EventEmitter();
  const origins = new OriginAlpn();
  origins.note('api.example.test', 443, ['h2', 'http/1.1'], 'h2');
  const rec = new HealthRecorder({
    events, origins, inFlight: [],
    config: { caps: new Map([['tcsas', [{ apis: ['request', 'uploadFile', 'downloadFile'], max: 10 }, { apis: ['connectSocket'], max: 5 }]]]) as never, platformNames: ['tcsas'] },
  });
  return { events, rec, origins };
}

function pass(ex: Exchange, events: EventEmitter): void {
  events.emit('exchange-start', ex);
  events.emit('exchange-forward', ex);
  events.emit('exchange', ex);
}

const check = (r: HealthReport, id: string) => r.checks.find((c) => c.id === id)!;

describe('queue rows (concurrency-queued events)', () => {
  const queued = (events: EventEmitter, ms: number, i: number) =>
    events.emit('violation', { rule: 'concurrency-queued', severity: 'info', api: 'request', method: 'GET', url: `https://api.example.test/q${i}`, host: 'api.example.test', action: 'queued', message: 'waited', time: new Date().toISOString(), queuedMs: ms });

  it('50 waits of 1499 ms pass both rows; the 51st, or a mean of 1500 ms, fails them', () => {
    const { events, rec } = recorder();
    pass(fakeExchange(), events);
    for (let i = 0; i < 50; i++) queued(events, 1499, i);
    let r = rec.report();
    assert.deepEqual([check(r, 'queue-count').pass, check(r, 'queue-count').value], [true, 50]);
    assert.deepEqual([check(r, 'queue-time').pass, check(r, 'queue-time').value], [true, 1499]);
    assert.deepEqual(r.concurrency.request, { cap: 10, maxInFlight: 1, queued: 50, meanQueueMs: 1499 });
    queued(events, 1551, 50); // mean now (50 × 1499 + 1551) / 51 = 1500.02
    r = rec.report();
    assert.deepEqual([check(r, 'queue-count').pass, check(r, 'queue-count').value], [false, 51]);
    assert.deepEqual([check(r, 'queue-time').pass, check(r, 'queue-time').value], [false, 1500]);
    // The calls that waited longest, at most 20, longest first.
    const offenders = check(r, 'queue-time').offenders;
    assert.equal(offenders.length, 20);
    assert.deepEqual(offenders[0], { method: 'GET', url: 'https://api.example.test/q50', value: 1551 });
    assert.equal(r.score, Math.floor((100 * (82 - 12)) / 82));
  });

  it('queue time is not request time: a call that waited 2 s and took 100 ms is not slow', () => {
    const { events, rec } = recorder();
    const v = { rule: 'concurrency-queued', queuedMs: 2000, api: 'request', method: 'GET', url: 'https://api.example.test/x' };
    pass(fakeExchange({ durationMs: 2100, violations: [v] }), events);
    const r = rec.report();
    assert.equal(check(r, 'slow-request').pass, true);
    assert.equal(check(r, 'slow-request').value, 100);
  });

  it('with nothing queued the mean is 0', () => {
    const { events, rec } = recorder();
    pass(fakeExchange(), events);
    assert.deepEqual(rec.report().concurrency.request, { cap: 10, maxInFlight: 1, queued: 0, meanQueueMs: 0 });
  });
});

describe('WebSockets', () => {
  it('count in totals.sockets and domains, not in the checks', () => {
    const { events, rec } = recorder();
    pass(fakeExchange({ api: 'connectSocket', isWebSocket: true, scheme: 'wss', host: 'ws.example.test', status: 101, durationMs: 60_000, bytesOut: 4_000_000 }), events);
    const r = rec.report();
    assert.deepEqual(r.totals, { requests: 0, sockets: 1, bytesDown: 0, bytesUp: 0, failed: 0 });
    assert.equal(r.score, 100);
    assert.deepEqual(r.domains.map((d) => [d.host, d.requests, d.bytesDown]), [['ws.example.test', 1, 4_000_000]]);
  });
});

describe('bounded', () => {
  it('100,000 exchanges over 600 hosts: lists stay at their caps', () => {
    const { events, rec } = recorder();
    for (let i = 0; i < 100_000; i++) {
      pass(fakeExchange({ host: `h${i % 600}.example.test`, url: `https://h${i % 600}.example.test/${i}`, status: i % 7 === 0 ? 500 : 200, durationMs: 1600 + (i % 1000), bytesOut: i }), events);
    }
    const r = rec.report();
    assert.equal(r.totals.requests, 100_000);
    assert.ok(r.domains.length <= 501);
    assert.ok(r.domains.some((d) => d.host === '(other hosts)'));
    assert.equal(r.slowest.length, 10);
    assert.equal(r.largest.length, 10);
    assert.equal(r.largest[0]!.bytesDown, 99_999);
    for (const c of r.checks) assert.ok(c.offenders.length <= 20, c.id);
    assert.equal(rec.drawing().waterfall.length, 200);
    assert.ok(JSON.stringify(r).length < 300_000);
  });
});

describe('baseline', () => {
  it('changePct is null when the old value is 0, rounded to a tenth otherwise', () => {
    assert.deepEqual(change(0, 5), { old: 0, new: 5, changePct: null });
    assert.deepEqual(change(3, 4), { old: 3, new: 4, changePct: 33.3 });
    assert.deepEqual(change(10, 9), { old: 10, new: 9, changePct: -10 });
  });

  it('regressed lists the checks that passed before and fail now; verdicts follow', () => {
    const { events, rec } = recorder();
    pass(fakeExchange(), events);
    const old = rec.report();
    pass(fakeExchange({ status: 404 }), events);
    pass(fakeExchange({ durationMs: 1500 }), events);
    const now = rec.report();
    const b = compareBaseline('old.json', old, now);
    // Fake exchanges start and end in the same millisecond: utilisation is left out of this one.
    assert.deepEqual(b.regressed.filter((id) => id !== 'utilisation'), ['slow-request', 'status']);
    assert.deepEqual(b.totals.requests, { old: 1, new: 3, changePct: 200 });
    assert.match(healthVerdict(parseFailOnHealth('regression')!, now, b)!, /checks regressed: (utilisation, )?slow-request, status; totals.bytesDown grew 200%/);
    assert.equal(healthVerdict(parseFailOnHealth('regression')!, old, compareBaseline('old.json', old, old)), undefined);
    assert.equal(healthVerdict(parseFailOnHealth('never')!, now, b), undefined);
    assert.equal(healthVerdict(parseFailOnHealth('0')!, now, b), undefined);
    assert.equal(healthVerdict(parseFailOnHealth('100')!, now), `health score ${now.score} is below 100 (--fail-on-health 100)`);
    for (const bad of ['101', '-1', '5.5', 'always', '']) assert.equal(parseFailOnHealth(bad), undefined, bad);
    const page = healthPage({ ...now, baseline: b }, rec.drawing());
    assert.match(page, /<h2>Against the baseline<\/h2><p>old\.json: score 100 → \d+ \([-\d.]+%\); regressed: .*<code>status<\/code>/);
  });
});
