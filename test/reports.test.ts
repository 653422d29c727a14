/**
 * The reports (docs/ci.md "Reading the reports"): JSON, JUnit and HAR written by `mgproxy run`
 * and on SIGTERM of `mgproxy start`, each parsed and checked as a CI or an importer would read it;
 * `GET /api/report`; bad report paths refused at start.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { REQUEST_RULE_IDS, TLS_RULE_IDS } from '../proxy/rules/types.js';
import { startWorld, type World } from './helpers/fixture.js';
import { header, type HarEntry, parseHar } from './helpers/har.js';
import { runCli, tempDir } from './helpers/proxy.js';
import { GAME_CLIENT, mgproxyRun, type RunResult, type RunWorld, startRunWorld } from './helpers/run.js';
import { patternSha256, sha256 } from './helpers/upstreams.js';
import { findAll, parseXml } from './helpers/xml.js';

const KNOWN_IDS: readonly string[] = [...REQUEST_RULE_IDS, ...TLS_RULE_IDS];
const MiB = 1024 * 1024;

describe('reports of a mgproxy run', () => {
  let w: RunWorld;
  let r: RunResult;
  before(async () => {
    w = await startRunWorld();
    r = await mgproxyRun(w, ['--report', 'out/report.json', '--junit', 'out/junit.xml', '--har', 'out/run.har'], [process.execPath, '--test', GAME_CLIENT]);
  });
  after(async () => { await w.close(); });

  it('writes the JSON report with exact counts and full events', () => {
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(fs.readFileSync(w.file('out/report.json'), 'utf8'));
    assert.deepEqual(report.summary, { requests: 3, violations: 1, byRule: { 'domain-not-allowed': 1 } });
    assert.equal(report.violations.length, 1);
    const v = report.violations[0];
    assert.deepEqual(Object.keys(v).sort(), ['action', 'api', 'client', 'host', 'message', 'method', 'platform', 'platforms', 'port', 'protocol', 'rule', 'severity', 'time', 'url'].sort());
    assert.equal(v.rule, 'domain-not-allowed');
    assert.equal(v.severity, 'error');
    assert.equal(v.api, 'request');
    assert.equal(v.method, 'GET');
    assert.equal(v.url, 'https://evil.example.test/track?event=start');
    assert.equal(v.host, 'evil.example.test');
    assert.equal(v.client, '127.0.0.1');
    assert.equal(v.action, 'blocked');
    assert.ok(!Number.isNaN(Date.parse(v.time)));
    assert.ok(Array.isArray(report.tls));
  });

  it('writes well-formed JUnit: a testcase per rule checked, one failure per error violation', () => {
    const root = parseXml(fs.readFileSync(w.file('out/junit.xml'), 'utf8'));
    assert.equal(root.name, 'testsuites');
    const [suite, ...others] = findAll(root, 'testsuite');
    assert.equal(others.length, 0);
    assert.equal(suite!.attrs.name, 'mgproxy');
    const cases = findAll(suite!, 'testcase');
    const names = cases.map((c) => c.attrs.name!);
    assert.equal(new Set(names).size, names.length, 'one testcase per rule');
    assert.ok(names.includes('domain-not-allowed'));
    for (const n of names) assert.ok(KNOWN_IDS.includes(n), `${n} is a rule id`);
    assert.equal(suite!.attrs.tests, String(cases.length));
    assert.equal(suite!.attrs.failures, '1');
    const failures = findAll(suite!, 'failure');
    assert.equal(failures.length, 1);
    const failing = cases.find((c) => c.attrs.name === 'domain-not-allowed')!;
    assert.equal(findAll(failing, 'failure')[0], failures[0]);
    assert.match(failures[0]!.attrs.message!, /^GET https:\/\/evil\.example\.test\/track\?event=start: evil\.example\.test is not in domains\.request/);
    assert.match(failures[0]!.text, /GET https:\/\/evil\.example\.test\/track\?event=start/);
  });

  it('writes a valid HAR of every exchange, the blocked one with the proxy\'s answer', () => {
    const har = parseHar(fs.readFileSync(w.file('out/run.har'), 'utf8'));
    assert.equal(har.log.creator.name, 'mgproxy');
    assert.equal(har.log.entries.length, 3);
    const byUrl = (u: string) => har.log.entries.find((e) => e.request.url === u)!;
    const allowed = byUrl('https://api.example.test/bytes/70000');
    assert.equal(allowed.response.status, 200);
    assert.equal(allowed.response.content.encoding, 'base64', 'binary bodies are base64');
    assert.equal(sha256(Buffer.from(allowed.response.content.text!, 'base64')), patternSha256(70_000));
    assert.equal(allowed.response.content.size, 70_000);
    assert.deepEqual(allowed._mgproxy.violations, []);
    const blocked = byUrl('https://evil.example.test/track?event=start');
    assert.equal(blocked.response.status, 403);
    assert.equal(header(blocked.response.headers, 'x-mgproxy-rule'), 'domain-not-allowed');
    assert.equal(blocked.response.content.encoding, undefined, 'text bodies are text');
    assert.equal(JSON.parse(blocked.response.content.text!).errMsg, 'request:fail url not in domain list');
    assert.equal(blocked._mgproxy.outcome, 'blocked');
    assert.deepEqual(blocked._mgproxy.violations.map((v) => v.rule), ['domain-not-allowed']);
    const socket = byUrl('wss://ws.example.test/echo');
    assert.equal(socket.response.status, 101);
    assert.equal(socket._resourceType, 'websocket');
    assert.equal(socket._mgproxy.api, 'connectSocket');
    assert.equal(socket.request.bodySize, 0, 'frames are not the upgrade request\'s body');
    assert.ok((socket._mgproxy as unknown as { bytesIn: number }).bytesIn > 0, 'the frames sent are counted');
  });

  it('keeps the HAR readable by its owner only (it holds cookies and tokens) and leaves no temp files', () => {
    assert.equal(fs.statSync(w.file('out/run.har')).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(w.file('out')).sort(), ['junit.xml', 'report.json', 'run.har']);
  });
});

describe('HAR bodies', () => {
  let w: RunWorld;
  let entries: HarEntry[];
  const binary = crypto.randomBytes(5000);
  binary[0] = 0xff; // never valid UTF-8
  before(async () => {
    w = await startRunWorld({
      handle: (req, res) => {
        if (req.url !== '/gzip') return false;
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(zlib.gzipSync(JSON.stringify({ level: 'x'.repeat(10_000) })));
        return true;
      },
    });
    fs.writeFileSync(w.file('upload.bin'), binary);
    const curl = 'curl -sS -o /dev/null';
    const r = await mgproxyRun(w, ['--har', 'bodies.har'], ['sh', '-c', [
      `${curl} https://cdn.example.test/bytes/${MiB}`,
      `${curl} https://cdn.example.test/bytes/${2 * MiB}`,
      `${curl} https://api.example.test/gzip`,
      `${curl} -H 'content-type: application/json' --data-binary '{"score":1,"name":"é"}' https://api.example.test/sha256`,
      `${curl} -H 'content-type: application/octet-stream' --data-binary @upload.bin https://api.example.test/sha256`,
    ].join(' && ')]);
    assert.equal(r.code, 0, r.stderr);
    entries = parseHar(fs.readFileSync(w.file('bodies.har'), 'utf8')).log.entries;
  });
  after(async () => { await w.close(); });

  it('keeps a body of exactly 1 MiB', () => {
    const e = entries.find((x) => x.request.url.endsWith(`/bytes/${MiB}`))!;
    assert.equal(e._mgproxy.bodyOmitted, undefined);
    assert.equal(sha256(Buffer.from(e.response.content.text!, 'base64')), patternSha256(MiB));
  });

  it('omits a body over 1 MiB, saying so', () => {
    const e = entries.find((x) => x.request.url.endsWith(`/bytes/${2 * MiB}`))!;
    assert.equal(e.response.status, 200);
    assert.equal(e._mgproxy.bodyOmitted, true);
    assert.equal(e.response.content.text, undefined);
    assert.equal(e.response.content.size, 2 * MiB);
    assert.match(e.response.content.comment!, /over the 1 MiB limit/);
  });

  it('decodes a gzip response into text', () => {
    const e = entries.find((x) => x.request.url.endsWith('/gzip'))!;
    assert.equal(JSON.parse(e.response.content.text!).level.length, 10_000);
    assert.equal(e.response.content.encoding, undefined);
    assert.ok(e.response.content.size > e.response.bodySize);
  });

  it('keeps request bodies: text as text, binary as base64', () => {
    const posts = entries.filter((x) => x.request.method === 'POST');
    const text = posts.find((x) => x.request.postData?.mimeType === 'application/json')!;
    assert.equal(text.request.postData!.text, '{"score":1,"name":"é"}');
    const bin = posts.find((x) => x.request.postData?.mimeType === 'application/octet-stream')!;
    assert.equal(bin.request.postData!._encoding, 'base64');
    assert.deepEqual(Buffer.from(bin.request.postData!.text, 'base64'), binary);
  });
});

describe('reports of mgproxy start', () => {
  let w: World;
  let dir: string;
  before(async () => {
    dir = tempDir('mgproxy-reports-');
    w = await startWorld({ proxy: { args: ['--report', path.join(dir, 'report.json'), '--junit', path.join(dir, 'junit.xml'), '--har', path.join(dir, 'start.har')] } });
  });
  after(async () => {
    await w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers GET /api/report with the report as it stands', async () => {
    await w.fetch('https://api.example.test/echo');
    await w.fetch('https://evil.example.test/a');
    const res = await fetch(`${w.proxy.adminUrl}/api/report`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    const report = await res.json() as { summary: { requests: number; violations: number; byRule: Record<string, number> }; violations: { rule: string }[]; tls: unknown[] };
    const stats = await (await fetch(`${w.proxy.adminUrl}/api/stats`)).json() as { requests: number; violations: number; byRule: Record<string, number> };
    assert.deepEqual(report.summary, { requests: stats.requests, violations: stats.violations, byRule: stats.byRule });
    assert.equal(report.summary.requests, 2);
    assert.deepEqual(report.violations.map((v) => v.rule), ['domain-not-allowed']);
    assert.ok(Array.isArray(report.tls));
  });

  it('writes nothing in place until it stops (the HAR grows in a temp file beside it)', () => {
    assert.equal(fs.existsSync(path.join(dir, 'start.har')), false);
    assert.equal(fs.existsSync(path.join(dir, 'report.json')), false);
    assert.ok(fs.readdirSync(dir).some((f) => /^\.start\.har\..*\.tmp$/.test(f)));
  });

  it('writes every report on SIGTERM, then exits 0', async () => {
    assert.equal(await w.proxy.stop('SIGTERM'), 0);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['junit.xml', 'report.json', 'start.har']);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.deepEqual(report.summary, { requests: 2, violations: 1, byRule: { 'domain-not-allowed': 1 } });
    assert.equal(findAll(parseXml(fs.readFileSync(path.join(dir, 'junit.xml'), 'utf8')), 'failure').length, 1);
    const har = parseHar(fs.readFileSync(path.join(dir, 'start.har'), 'utf8'));
    assert.deepEqual(har.log.entries.map((e) => e.response.status).sort(), [200, 403]);
  });
});

describe('report paths', () => {
  it('refuses a folder, a path under a file and one file named twice, before starting (exit 2, one line)', async () => {
    const dir = tempDir('mgproxy-paths-');
    fs.writeFileSync(path.join(dir, 'plain'), '');
    try {
      for (const args of [['--report', dir], ['--junit', path.join(dir, 'plain', 'junit.xml')], ['--har', 'same.out', '--report', './same.out']]) {
        const r = await runCli(['start', '--port', '0', '--admin-port', '0', '--ca-dir', path.join(dir, 'ca'), ...args], { cwd: dir });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.doesNotMatch(r.stdout, /listening/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates missing folders for a report', async () => {
    const w = await startRunWorld();
    try {
      const r = await mgproxyRun(w, ['--junit', 'a/b/c/junit.xml'], ['true']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(w.file('a/b/c/junit.xml')));
    } finally {
      await w.close();
    }
  });
});
