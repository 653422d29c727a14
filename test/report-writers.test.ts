/**
 * The report writers on their own (proxy/reports/): table tests that real traffic reaches only
 * with effort — XML escaping of hostile text, rules with no violation, per-host findings, old
 * violations that left memory, HAR capture limits, atomic writes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Violation } from '../proxy/flow/events.js';
import type { ProxyAnswer } from '../proxy/flow/respond.js';
import { HarRecorder, type HarExchange } from '../proxy/reports/har.js';
import { jsonReportChunks, type ReportSource } from '../proxy/reports/json.js';
import { junitReportChunks } from '../proxy/reports/junit.js';
import { formatSummary, ViolationTally } from '../proxy/reports/summary.js';
import { AtomicFile, writeFileAtomic } from '../proxy/reports/write-atomic.js';
import type { RuleId } from '../proxy/rules/types.js';
import { parseHar } from './helpers/har.js';
import { tempDir } from './helpers/proxy.js';
import { findAll, parseXml } from './helpers/xml.js';

const MiB = 1024 * 1024;
const dir = tempDir('mgproxy-writers-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const event = (v: Partial<Violation>): Violation => ({
  rule: 'domain-not-allowed', severity: 'error', api: 'request', method: 'GET', url: 'https://evil.example.test/', host: 'evil.example.test',
  port: 443, client: '127.0.0.1', action: 'blocked', message: 'evil.example.test is not in domains.request', time: new Date().toISOString(), ...v,
});

function source(violations: Violation[], extra: Partial<ReportSource> = {}): ReportSource {
  const byRule: Partial<Record<RuleId, number>> = {};
  for (const v of violations) byRule[v.rule] = (byRule[v.rule] ?? 0) + 1;
  return { requests: violations.length, violationCount: violations.length, byRule, violations: () => violations, hostAudits: () => [], droppedViolations: 0, ...extra };
}

const junit = (src: ReportSource, ruleIds: RuleId[]) => [...junitReportChunks(src, { ruleIds, startedAt: new Date() })].join('');

describe('JUnit writer', () => {
  it('escapes hostile URLs and messages and drops characters XML forbids', () => {
    const nasty = 'a <b> & "c" \'d\' ]]> \u0001\u0008\uFFFE \uD800 e\u{1F600}\ttab\nline';
    const xml = junit(source([event({ url: `https://evil.example.test/?q=${nasty}`, message: nasty })]), ['domain-not-allowed']);
    const failure = findAll(parseXml(xml), 'failure')[0]!;
    const clean = 'a <b> & "c" \'d\' ]]>   e\u{1F600}\ttab\nline';
    assert.equal(failure.attrs.message, `GET https://evil.example.test/?q=${clean}: ${clean}`, 'attribute text survives, tabs and line breaks included');
    assert.ok(failure.text.includes(clean));
  });

  it('lists every rule checked, failures for errors only, warnings in system-out, per-host findings by host:port', () => {
    const xml = junit(source([
      event({}),
      event({ rule: 'referer-mismatch', severity: 'warning', action: 'rewritten', message: 'wrong referer' }),
      { rule: 'tls-expired', severity: 'error', host: 'old.example.test', port: 8443, action: 'blocked', message: 'expired on 2020-01-01', time: new Date().toISOString() },
    ]), ['insecure-scheme', 'domain-not-allowed', 'referer-mismatch']);
    const suite = findAll(parseXml(xml), 'testsuite')[0]!;
    const cases = Object.fromEntries(findAll(suite, 'testcase').map((c) => [c.attrs.name, c]));
    assert.deepEqual(Object.keys(cases), ['insecure-scheme', 'domain-not-allowed', 'referer-mismatch', 'tls-expired']);
    assert.equal(cases['insecure-scheme']!.children.length, 0, 'a rule with no violation is a passing testcase');
    assert.equal(findAll(cases['referer-mismatch']!, 'failure').length, 0, 'warnings are never failures');
    assert.match(findAll(cases['referer-mismatch']!, 'system-out')[0]!.text, /warning: GET https:\/\/evil\.example\.test\/: wrong referer/);
    assert.equal(findAll(cases['tls-expired']!, 'failure')[0]!.attrs.message, 'old.example.test:8443: expired on 2020-01-01');
    assert.equal(suite.attrs.tests, '4');
    assert.equal(suite.attrs.failures, '2');
  });

  it('says when old violations left memory', () => {
    const src = source([event({})], { violationCount: 5, byRule: { 'domain-not-allowed': 5 }, droppedViolations: 4 });
    const out = findAll(parseXml(junit(src, ['domain-not-allowed'])), 'system-out')[0]!;
    assert.match(out.text, /4 older violation\(s\) left memory/);
  });
});

describe('JSON writer', () => {
  it('is valid JSON at every size, with the dropped count when there is one', () => {
    for (const n of [0, 1, 499, 500, 501, 1234]) {
      const vs = Array.from({ length: n }, (_, i) => event({ url: `https://evil.example.test/${i}` }));
      const report = JSON.parse([...jsonReportChunks(source(vs))].join(''));
      assert.equal(report.violations.length, n);
      assert.equal(report.summary.violations, n);
      assert.equal('droppedViolations' in report.summary, false);
    }
    const report = JSON.parse([...jsonReportChunks(source([event({})], { droppedViolations: 7 }))].join(''));
    assert.equal(report.summary.droppedViolations, 7);
  });
});

describe('summary table', () => {
  it('puts errors first and counts by severity', () => {
    const tally = new ViolationTally();
    tally.add(event({ rule: 'http-error-status', severity: 'info', action: 'reported', message: '500' }));
    tally.add(event({}));
    tally.add(event({}));
    assert.equal(tally.atOrAbove('error'), 2);
    assert.equal(tally.atOrAbove('warning'), 2);
    assert.equal(tally.atOrAbove('never'), 0);
    const lines = formatSummary(tally, 9).split('\n');
    assert.equal(lines[0], 'mgproxy: 9 requests, 3 violations (2 error, 0 warning, 1 info)');
    assert.match(lines[2]!, /^ {2}domain-not-allowed +error +2 +GET https:\/\/evil\.example\.test\//);
    assert.match(lines[3]!, /^ {2}http-error-status +info +1 /);
  });
});

/** A finished exchange as the recorder sees it. */
function exchange(id: number, init: Partial<HarExchange> = {}): HarExchange {
  return {
    id, method: 'GET', url: `https://api.example.test/${id}?a=1&b=%C3%A9`, api: 'request', client: '127.0.0.1', startedAt: Date.now(),
    req: { httpVersion: '1.1', rawHeaders: ['Host', 'api.example.test', 'Cookie', 'sid=abc; theme=dark'] },
    status: 200, responseHeaders: { 'content-type': 'application/octet-stream', 'set-cookie': ['sid=xyz; Path=/; HttpOnly'] },
    responseStartMs: 5, durationMs: 12, bytesIn: 0, bytesOut: 0, violations: [], outcome: 'completed', ...init,
  };
}

describe('HAR recorder', () => {
  it('writes request and response fields, cookies, query, timings, and the proxy\'s own answers', async () => {
    const file = path.join(dir, 'fields.har');
    // Cookies as they came: redaction has its own tests (test/har-redaction.test.ts).
    const har = new HarRecorder(file, { secrets: 'keep' });
    const ok = exchange(1, { bytesOut: 3 });
    har.start(ok);
    ok.responseBodyTap!(Buffer.from([1, 2, 0xff]));
    har.add(ok);
    const answer: ProxyAnswer = { status: 403, headers: { 'x-mgproxy-rule': 'domain-not-allowed' }, body: '{"errMsg":"request:fail url not in domain list"}' };
    const blocked = exchange(2, { status: 403, proxyAnswer: answer, outcome: 'blocked', responseStartMs: undefined, violations: [event({})] });
    har.start(blocked);
    har.add(blocked);
    const aborted = exchange(3, { status: undefined, responseHeaders: undefined, responseStartMs: undefined, outcome: 'aborted' });
    har.start(aborted);
    har.add(aborted);
    await har.finish();
    const [a, b, c] = parseHar(fs.readFileSync(file, 'utf8')).log.entries;
    assert.deepEqual(a!.request.headers[0], { name: 'Host', value: 'api.example.test' });
    assert.deepEqual((a!.request as unknown as { queryString: unknown }).queryString, [{ name: 'a', value: '1' }, { name: 'b', value: 'é' }]);
    assert.deepEqual((a!.request as unknown as { cookies: unknown }).cookies, [{ name: 'sid', value: 'abc' }, { name: 'theme', value: 'dark' }]);
    assert.deepEqual((a!.response as unknown as { cookies: unknown }).cookies, [{ name: 'sid', value: 'xyz', path: '/', httpOnly: true }]);
    assert.deepEqual(a!.response.content, { size: 3, mimeType: 'application/octet-stream', text: 'AQL/', encoding: 'base64' });
    assert.deepEqual(a!.timings, { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 5, receive: 7 });
    assert.equal(b!.response.status, 403);
    assert.equal(b!.response.content.text, answer.body);
    assert.equal(b!.response.content.mimeType, 'application/json; charset=utf-8');
    assert.equal(b!._mgproxy.violations.length, 1);
    assert.equal(c!.response.status, 0);
    assert.equal(c!._mgproxy.outcome, 'aborted');
  });

  it('holds at most its capture budget across exchanges in flight, and recovers once they end', async () => {
    const file = path.join(dir, 'budget.har');
    const har = new HarRecorder(file, { captureBudget: 3 * MiB });
    const chunk = Buffer.alloc(MiB, 0x61);
    const inFlight = [1, 2, 3, 4].map((id) => exchange(id, { bytesOut: MiB, responseHeaders: { 'content-type': 'text/plain' } }));
    for (const ex of inFlight) { har.start(ex); ex.responseBodyTap!(chunk); }
    for (const ex of inFlight) har.add(ex);
    const later = exchange(5, { bytesOut: MiB, responseHeaders: { 'content-type': 'text/plain' } });
    har.start(later);
    later.responseBodyTap!(chunk);
    har.add(later);
    await har.finish();
    const entries = parseHar(fs.readFileSync(file, 'utf8')).log.entries;
    assert.deepEqual(entries.map((e) => e._mgproxy.bodyOmitted ?? false), [false, false, false, true, false]);
    assert.match(entries[3]!.response.content.comment!, /too many bodies/);
    assert.equal(entries[4]!.response.content.text!.length, MiB);
  });

  it('leaves nothing behind when aborted', () => {
    const file = path.join(dir, 'aborted', 'x.har');
    const har = new HarRecorder(file);
    har.abort();
    assert.deepEqual(fs.readdirSync(path.dirname(file)), []);
  });
});

describe('atomic writes', () => {
  it('replaces the target only once the whole file is written', async () => {
    const file = path.join(dir, 'atomic.json');
    fs.writeFileSync(file, 'old');
    const chunks = (async function* () {
      yield '{"a":';
      assert.equal(fs.readFileSync(file, 'utf8'), 'old', 'the target is untouched while writing');
      yield '1}';
    })();
    await writeFileAtomic(file, chunks);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a":1}');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('atomic')), ['atomic.json']);
  });

  it('keeps the old file when the source fails', async () => {
    const file = path.join(dir, 'kept.json');
    fs.writeFileSync(file, 'old');
    const failing = (function* () { yield 'half'; throw new Error('source broke'); })();
    await assert.rejects(writeFileAtomic(file, failing), /source broke/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('kept')), ['kept.json']);
  });

  it('cannot be committed twice', async () => {
    const f = AtomicFile.open(path.join(dir, 'twice.txt'));
    f.write('x');
    await f.commit();
    await assert.rejects(f.commit(), /already/);
  });
});
