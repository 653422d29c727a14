/**
 * The network health report (docs/health.md) from real traffic: a controlled origin plants one
 * offender per check, and a clean run passes every check. Read through `GET /api/health` while
 * the proxy runs and from `--health` / `--health-html` after it stops.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { viaProxy } from './helpers/clients.js';
import { admin } from './helpers/fixture.js';
import { healthConfig, type HealthOrigins, startHealthOrigins } from './helpers/health-origins.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, startProxy } from './helpers/proxy.js';
import { patternSha256 } from './helpers/upstreams.js';
import { exchangeLogged } from './helpers/assertions.js';
import type { HealthReport } from '../proxy/reports/health.js';
import { CHECKS, scoreOf } from '../proxy/reports/health-checks.js';

let pki: TestPki;
let origins: HealthOrigins;

before(async () => {
  pki = new TestPki();
  origins = await startHealthOrigins(pki);
});
after(async () => {
  await origins.close();
  pki.cleanup();
});

const checkOf = (r: HealthReport, id: string) => r.checks.find((c) => c.id === id)!;
const urlsOf = (r: HealthReport, id: string) => checkOf(r, id).offenders.map((o) => o.url);

async function healthProxy(): Promise<ProxyProcess> {
  return startProxy({ config: healthConfig(origins, pki.rootFile), args: ['--health', 'health.json', '--health-html', 'health.html'] });
}

describe('a run with one offender per check', () => {
  let proxy: ProxyProcess;
  let live: HealthReport;
  let written: HealthReport;
  let html: string;
  const get = (url: string) => viaProxy(proxy.url, proxy.caPem, url);

  before(async () => {
    proxy = await healthProxy();
    const replies = [];
    for (const url of [
      'https://api.example.test/plain.json', // compression
      'https://api.example.test/gzip.json',
      'https://cdn.example.test/miss.png', // cdn-cache
      'https://cdn.example.test/hit.png',
      'https://cdn.example.test/bytes/3100000', // large-response
      'https://api.example.test/slow?ms=1600', // slow-request
      'https://api.example.test/status/404', // status
      'https://api.example.test/status/500',
      'https://old.example.test/ok', // http2: this origin speaks HTTP/1.1 only
      'https://evil.example.test/x', // failures: blocked by domain-not-allowed
      'https://cdn.example.test/bytes/200000', // duplicates: the same 200 KB body twice
      'https://cdn.example.test/bytes/200000',
    ]) replies.push(await get(url));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200, 200, 404, 500, 200, 403, 200, 200]);
    await exchangeLogged(proxy, 'https://cdn.example.test/bytes/200000', { exchanges: 2 });
    live = (await admin(proxy, 'GET', '/api/health')).json as HealthReport;
    await proxy.stop();
    written = JSON.parse(fs.readFileSync(path.join(proxy.dir, 'health.json'), 'utf8')) as HealthReport;
    html = fs.readFileSync(path.join(proxy.dir, 'health.html'), 'utf8');
  });

  it('names the offender of each check, with its measured value', () => {
    for (const r of [live, written]) {
      assert.deepEqual(urlsOf(r, 'compression'), ['https://api.example.test/plain.json']);
      assert.ok(Number(checkOf(r, 'compression').offenders[0]!.value) >= 2000);
      assert.deepEqual(checkOf(r, 'cdn-cache').offenders, [{ method: 'GET', url: 'https://cdn.example.test/miss.png', value: 'x-cache: MISS from cdn' }]);
      assert.deepEqual(checkOf(r, 'large-response').offenders, [{ method: 'GET', url: 'https://cdn.example.test/bytes/3100000', value: 3_100_000 }]);
      // On a loaded machine the 3.1 MB download may take 1.5 s too: /slow must be among them, each at or over 1500 ms.
      assert.ok(urlsOf(r, 'slow-request').includes('https://api.example.test/slow?ms=1600'));
      assert.ok(checkOf(r, 'slow-request').offenders.every((o) => Number(o.value) >= 1500));
      assert.ok(Number(checkOf(r, 'slow-request').value) >= 1600);
      assert.deepEqual(checkOf(r, 'status').offenders.map((o) => [o.url, o.value]), [['https://api.example.test/status/404', 404], ['https://api.example.test/status/500', 500]]);
      assert.deepEqual(checkOf(r, 'http2').offenders, [{ method: 'GET', url: 'https://old.example.test/ok', value: 'http/1.1' }]);
      assert.deepEqual(checkOf(r, 'failures').offenders.map((o) => [o.url, o.value]), [['https://evil.example.test/x', 'blocked 403 domain-not-allowed']]);
      const failed = new Set(r.checks.filter((c) => !c.pass).map((c) => c.id));
      assert.deepEqual([...failed].sort(), ['cdn-cache', 'compression', 'failures', 'http2', 'large-response', 'slow-request', 'status']);
      assert.equal(r.score, scoreOf(r.checks.filter((c) => c.pass).map((c) => c.id)));
      assert.equal(r.score, Math.floor((100 * (5 + 6 + 6 + 6)) / 82)); // total-bytes, utilisation, both queue rows
    }
  });

  it('keeps totals, domains, the top lists and the duplicates', () => {
    const r = written;
    assert.equal(r.totals.requests, 12);
    assert.equal(r.totals.sockets, 0);
    assert.equal(r.totals.failed, 1);
    assert.ok(r.totals.bytesDown >= 3_100_000 + 400_000);
    assert.deepEqual(r.duplicates, [{ url: 'https://cdn.example.test/bytes/200000', sha256: patternSha256(200_000), bytes: 200_000, count: 2 }]);
    assert.equal(r.largest[0]!.url, 'https://cdn.example.test/bytes/3100000');
    assert.ok(r.slowest.slice(0, 2).some((e) => e.url === 'https://api.example.test/slow?ms=1600'));
    assert.ok(r.slowest.every((e, i) => i === 0 || e.durationMs <= r.slowest[i - 1]!.durationMs));
    assert.deepEqual(r.failed.map((f) => [f.url, f.outcome, f.status, f.rule]), [['https://evil.example.test/x', 'blocked', 403, 'domain-not-allowed']]);
    const host = (h: string) => r.domains.find((d) => d.host === h)!;
    assert.equal(host('api.example.test').h2, true);
    assert.equal(host('old.example.test').h2, false);
    assert.equal(host('api.example.test').requests, 5);
    assert.equal(host('api.example.test').errors, 2);
    // gzip.json arrives under 1024 bytes, so only plain.json is judged (bytes as received).
    assert.equal(host('api.example.test').compressed, 0);
    assert.equal(host('cdn.example.test').cacheHits, 0.8); // miss.png among hit.png, 3.1 MB and the 200 KB pair
    assert.ok(host('api.example.test').maxMs >= 1600 && host('api.example.test').p95Ms <= host('api.example.test').maxMs);
    assert.ok(r.window.ms >= 1600 && r.utilisation > 0 && r.utilisation <= 1);
    assert.equal(r.concurrency.request?.cap, 10);
    assert.equal(r.concurrency.request?.maxInFlight, 1);
    assert.equal(r.concurrency.downloadFile?.queued, 0);
    assert.equal(r.concurrency.downloadFile?.meanQueueMs, 0);
  });

  it('writes the same as one self-contained page', () => {
    assert.match(html, /<span class="score poor" id="score">\d+<\/span>/);
    assert.ok(html.includes(`id="score">${written.score}<`));
    for (const c of CHECKS) assert.ok(html.includes(c.title), c.id);
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'nothing from another origin');
    assert.ok(!html.includes('<script'));
  });
});

describe('a clean run', () => {
  it('passes every check: score 100', async () => {
    const proxy = await healthProxy();
    try {
      // At once, so that the network is busy for all of the window (utilisation).
      const replies = await Promise.all(['https://api.example.test/gzip.json', 'https://cdn.example.test/hit.png', 'https://api.example.test/ok', 'https://cdn.example.test/bytes/150000']
        .map((url) => viaProxy(proxy.url, proxy.caPem, url)));
      assert.ok(replies.every((r) => r.status === 200));
      await exchangeLogged(proxy, 'https://cdn.example.test/bytes/150000');
      await exchangeLogged(proxy, 'https://api.example.test/ok');
      const r = (await admin(proxy, 'GET', '/api/health')).json as HealthReport;
      assert.deepEqual(r.checks.filter((c) => !c.pass).map((c) => [c.id, c.value]), []);
      assert.equal(r.score, 100);
      assert.deepEqual(r.duplicates, []);
      assert.ok(r.checks.every((c) => c.offenders.length === 0));
    } finally {
      await proxy.stop();
    }
  });

  it('without --health, the first GET /api/health starts the recorder: it counts from then on', async () => {
    const proxy = await startProxy({ config: healthConfig(origins, pki.rootFile) });
    try {
      await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/ok');
      await exchangeLogged(proxy, 'https://api.example.test/ok');
      assert.equal(((await admin(proxy, 'GET', '/api/health')).json as HealthReport).totals.requests, 0);
      await viaProxy(proxy.url, proxy.caPem, 'https://api.example.test/plain.json');
      await exchangeLogged(proxy, 'https://api.example.test/plain.json');
      const r = (await admin(proxy, 'GET', '/api/health')).json as HealthReport;
      assert.equal(r.totals.requests, 1);
      assert.deepEqual(urlsOf(r, 'compression'), ['https://api.example.test/plain.json']);
    } finally {
      await proxy.stop();
    }
  });

  it('a window with no exchange passes every check', async () => {
    const proxy = await healthProxy();
    try {
      const r = (await admin(proxy, 'GET', '/api/health')).json as HealthReport;
      assert.equal(r.score, 100);
      assert.equal(r.window.start, null);
      assert.equal(r.totals.requests, 0);
    } finally {
      await proxy.stop();
    }
  });
});
