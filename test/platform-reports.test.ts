/**
 * The platform in every report (docs/platforms.md): `mgproxy run --platform tcsas,wechat` on real traffic:
 * the summary table with a column per platform, the JSON report's `platforms`, a JUnit suite per
 * platform, the HAR's `_mgproxy.platform`, and the dashboard's numbers (`/api/stats` byPlatform).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { mgproxyRun, REQUESTS, type RunResult, type RunWorld, startRunWorld } from './helpers/run.js';
import { parseHar } from './helpers/har.js';
import { findAll, parseXml } from './helpers/xml.js';
import { admin, startWorld } from './helpers/fixture.js';

const PORTED = 'https://api.example.test:8443/bytes/3';
const OUTSIDER = 'https://evil.example.test/x';

describe('reports of a run on two platforms', () => {
  let w: RunWorld;
  let r: RunResult;
  before(async () => {
    w = await startRunWorld();
    r = await mgproxyRun(w, ['--platform', 'tcsas,wechat', '--report', 'r.json', '--junit', 'j.xml', '--har', 'h.har'],
      [process.execPath, REQUESTS, PORTED, OUTSIDER, 'https://api.example.test/bytes/1']);
  });
  after(async () => { await w.close(); });

  it('fails the run and prints the summary with a column per platform', () => {
    assert.equal(r.code, 1, r.stderr);
    const table = r.stderr.slice(r.stderr.indexOf('mgproxy: 3 requests, 2 violations'));
    const [head, ...rows] = table.split('\n').slice(1, 4);
    assert.deepEqual(head!.trim().split(/\s+/), ['rule', 'severity', 'count', 'tcsas', 'wechat', 'first']);
    const cells = Object.fromEntries(rows.map((row) => { const c = row.trim().split(/\s+/); return [c[0], c.slice(1, 5)]; }));
    assert.deepEqual(cells['domain-not-allowed'], ['error', '1', '1', '1']);
    assert.deepEqual(cells['port-not-allowed'], ['error', '1', '-', '1']);
  });

  it('writes the platforms into the JSON report', () => {
    const report = JSON.parse(fs.readFileSync(w.file('r.json'), 'utf8'));
    assert.deepEqual(report.platforms, [
      { platform: 'tcsas', title: 'TCSAS', violations: 1, errors: 1, byRule: { 'domain-not-allowed': 1 } },
      { platform: 'wechat', title: 'WeChat', violations: 2, errors: 2, byRule: { 'domain-not-allowed': 1, 'port-not-allowed': 1 } },
    ]);
    const ported = report.violations.find((v: { rule: string }) => v.rule === 'port-not-allowed');
    assert.equal(ported.action, 'reported');
    assert.equal(ported.platform, 'wechat');
    assert.deepEqual(ported.platforms, ['wechat']);
  });

  it('writes a JUnit suite per platform, each failing on its own rules', () => {
    const suites = findAll(parseXml(fs.readFileSync(w.file('j.xml'), 'utf8')), 'testsuite');
    assert.deepEqual(suites.map((s) => s.attrs.name), ['mgproxy tcsas', 'mgproxy wechat']);
    const failed = (i: number) => findAll(suites[i]!, 'testcase').filter((c) => findAll(c, 'failure').length > 0).map((c) => c.attrs.name);
    assert.deepEqual(failed(0), ['domain-not-allowed']);
    assert.deepEqual(failed(1), ['domain-not-allowed', 'port-not-allowed']);
    assert.ok(findAll(suites[0]!, 'testcase').some((c) => c.attrs.name === 'port-not-allowed'), 'a passing testcase on tcsas');
    assert.equal(findAll(suites[1]!, 'testcase')[0]!.attrs.classname, 'mgproxy.wechat');
  });

  it('marks each HAR entry with the deciding platform and the platforms it breaks', () => {
    const entries = parseHar(fs.readFileSync(w.file('h.har'), 'utf8')).log.entries as unknown as { request: { url: string }; _mgproxy: { platform: string; platforms: string[] } }[];
    const of = (url: string) => entries.find((e) => e.request.url === url)!._mgproxy;
    assert.deepEqual([of(PORTED).platform, of(PORTED).platforms], ['tcsas', ['wechat']]);
    assert.deepEqual(of(OUTSIDER).platforms, ['tcsas', 'wechat']);
    assert.deepEqual(of('https://api.example.test/bytes/1').platforms, []);
  });
});

describe('the dashboard\'s numbers per platform', () => {
  it('GET /api/stats has byPlatform, first platform first', async () => {
    const world = await startWorld({ proxy: { args: ['--platform', 'wechat,douyin-game'] } });
    try {
      await world.fetch(PORTED);
      await world.proxy.waitFor((l) => l.msg === 'exchange' && l.url === PORTED);
      const stats = (await admin(world.proxy, 'GET', '/api/stats')).json;
      assert.deepEqual(stats.byPlatform.map((p: { platform: string; violations: number }) => [p.platform, p.violations]), [['wechat', 1], ['douyin-game', 0]]);
      const page = await (await fetch(`${world.proxy.adminUrl}/`)).text();
      assert.match(page, /<h2 id="h-platforms">By platform<\/h2>/);
    } finally {
      await world.close();
    }
  });
});
