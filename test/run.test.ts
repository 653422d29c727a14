/**
 * `mgproxy run -- CMD` (docs/ci.md): a real node:test suite and curl run
 * through it with nothing but the environment it gives them; the verdict by exit code; CMD's own
 * status, a missing CMD, signals passed on; CMD's stdout left to CMD.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { GAME_CLIENT, mgproxyRun, type RunResult, type RunWorld, spawnRun, startRunWorld, waitForFile } from './helpers/run.js';
import { patternSha256, sha256 } from './helpers/upstreams.js';
import { findAll, parseXml } from './helpers/xml.js';
import { curlBinary } from './helpers/clients.js';

// The tests run curl by name: installed first when the machine lacks it.
curlBinary();

const node = process.execPath;
/** A node one-liner as CMD. */
const nodeE = (code: string) => [node, '-e', code];

describe('mgproxy run with a game-client test suite', () => {
  let w: RunWorld;
  let r: RunResult;
  let seen: { env: Record<string, string | null>; allowed?: { status: number; sha256: string }; outsider?: { status: number; rule: string; text: string }; socket?: { echoes: unknown[] } };
  before(async () => {
    w = await startRunWorld();
    r = await mgproxyRun(w, [], [node, '--test', GAME_CLIENT], { env: { GAME_CLIENT_RESULTS: w.file('seen.json') } });
    seen = JSON.parse(fs.readFileSync(w.file('seen.json'), 'utf8'));
  });
  after(async () => { await w.close(); });

  it('gives the suite the proxy environment', () => {
    assert.ok(r.port && r.adminPort, `a ready line on stderr:\n${r.stderr}`);
    const proxy = `http://127.0.0.1:${r.port}`;
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) assert.equal(seen.env[k], proxy, k);
    assert.equal(seen.env.NO_PROXY, '');
    assert.equal(seen.env.no_proxy, '');
    assert.equal(seen.env.NODE_EXTRA_CA_CERTS, `${w.caDir}/ca.pem`);
    assert.ok(seen.env.SSL_CERT_FILE);
    assert.equal(seen.env.CURL_CA_BUNDLE, seen.env.SSL_CERT_FILE);
    assert.equal(seen.env.REQUESTS_CA_BUNDLE, seen.env.SSL_CERT_FILE);
    assert.equal(seen.env.MGPROXY_ADMIN, `http://127.0.0.1:${r.adminPort}`);
  });

  it('lets the allowed call through byte-exact', () => {
    assert.equal(seen.allowed?.status, 200);
    assert.equal(seen.allowed?.sha256, patternSha256(70_000));
  });

  it('answers the disallowed host 403 with the runtime\'s errMsg; the upstream never sees it', () => {
    assert.equal(seen.outsider?.status, 403, seen.outsider?.text);
    assert.equal(seen.outsider?.rule, 'domain-not-allowed');
    assert.equal(JSON.parse(seen.outsider!.text).errMsg, 'request:fail url not in domain list');
    assert.ok(!w.upstream.seen.some((s) => s.url.startsWith('/track')));
  });

  it('carries the WebSocket echo', () => {
    assert.deepEqual(seen.socket?.echoes, ['hello', [0, 1, 2, 255]]);
  });

  it('leaves stdout to the suite, passes it, and fails the run on the error violation', () => {
    assert.match(r.stdout, /^# pass 3$/m);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.doesNotMatch(r.stdout, /"msg":/, 'no proxy log line on CMD\'s stdout');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ {2}domain-not-allowed +error +1 +GET https:\/\/evil\.example\.test\/track\?event=start/m);
    assert.match(r.stderr, /exit 1: 1 violation at or above --fail-on error/);
  });
});

describe('mgproxy run: environment and streams', () => {
  let w: RunWorld;
  before(async () => { w = await startRunWorld(); });
  after(async () => { await w.close(); });

  it('runs curl with only the environment it was given (no -x, no --cacert)', async () => {
    const r = await mgproxyRun(w, [], ['curl', '-sS', '--fail', '-o', 'download.bin', 'https://cdn.example.test/bytes/300000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(fs.readFileSync(w.file('download.bin'))), patternSha256(300_000));
    const blocked = await mgproxyRun(w, ['--fail-on', 'never'], ['curl', '-sS', '-w', '\n%{http_code}', 'https://evil.example.test/x']);
    assert.equal(blocked.code, 0, blocked.stderr);
    const [body, status] = blocked.stdout.split('\n');
    assert.equal(status, '403');
    assert.equal(JSON.parse(body!).errMsg, 'request:fail url not in domain list');
  });

  it('gives one CA bundle of the system roots plus the mgproxy CA, and removes it afterwards', async () => {
    const r = await mgproxyRun(w, [], ['sh', '-c', 'cp "$SSL_CERT_FILE" bundle.pem && echo "$SSL_CERT_FILE"']);
    assert.equal(r.code, 0, r.stderr);
    const bundle = fs.readFileSync(w.file('bundle.pem'), 'utf8');
    const ca = fs.readFileSync(`${w.caDir}/ca.pem`, 'utf8').trim();
    assert.ok(bundle.includes(ca), 'the mgproxy CA is in the bundle');
    assert.ok(bundle.includes(tls.rootCertificates[0]!.trim()), 'Node\'s roots are in the bundle');
    assert.ok((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length > tls.rootCertificates.length);
    assert.equal(fs.existsSync(r.stdout.trim()), false, 'the bundle is a temp file, removed at exit');
  });

  it('keeps the proxy\'s log lines off CMD\'s stdout, even at --log-level info', async () => {
    const r = await mgproxyRun(w, ['--log-level', 'info', '--log-format', 'json'], ['curl', '-sS', 'https://api.example.test/echo']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).method, 'GET', 'stdout is exactly the response body');
    assert.match(r.stderr, /"msg":"exchange"/);
  });

  it('passes stdin through', async () => {
    const r = await mgproxyRun(w, [], ['cat'], { input: 'level data\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'level data\n');
  });
});

describe('mgproxy run: the verdict', () => {
  let w: RunWorld;
  before(async () => { w = await startRunWorld(); });
  after(async () => { await w.close(); });

  const outsider = ['curl', '-sS', '-o', '/dev/null', 'https://evil.example.test/x'];
  const allowed = ['curl', '-sS', '-o', '/dev/null', 'https://api.example.test/echo'];

  for (const [failOn, code] of [[undefined, 1], ['error', 1], ['warning', 1], ['never', 0]] as const) {
    it(`exits ${code} on an error violation with ${failOn ? `--fail-on ${failOn}` : 'the default --fail-on'}`, async () => {
      const r = await mgproxyRun(w, failOn ? ['--fail-on', failOn] : [], outsider);
      assert.equal(r.code, code, r.stderr);
    });
  }

  for (const failOn of ['error', 'warning', 'never']) {
    it(`exits 0 without violations (--fail-on ${failOn})`, async () => {
      const r = await mgproxyRun(w, ['--fail-on', failOn], allowed);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /mgproxy: 1 request, no violations/);
    });
  }

  it('fails on a warning only with --fail-on warning', async () => {
    const referer = ['curl', '-sS', '-o', '/dev/null', '-H', 'Referer: https://example.net/', 'https://api.example.test/echo'];
    const strict = await mgproxyRun(w, ['--fail-on', 'warning', '--junit', 'referer.xml'], referer);
    // The JUnit testcases are the rules the registry checks: referer-mismatch is one of them.
    const checked = findAll(parseXml(fs.readFileSync(w.file('referer.xml'), 'utf8')), 'testcase').map((c) => c.attrs.name);
    assert.ok(checked.includes('referer-mismatch'), `JUnit testcases: ${checked.join(', ')}`);
    assert.match(strict.stderr, /referer-mismatch +warning +1/);
    assert.equal(strict.code, 1, strict.stderr);
    const lenient = await mgproxyRun(w, ['--fail-on', 'error'], referer);
    assert.equal(lenient.code, 0, lenient.stderr);
  });

  it('exits with CMD\'s own status when it is not 0, whatever the violations', async () => {
    const own = await mgproxyRun(w, ['--fail-on', 'never'], nodeE('process.exit(3)'));
    assert.equal(own.code, 3, own.stderr);
    const both = await mgproxyRun(w, [], ['sh', '-c', 'curl -sS -o /dev/null https://evil.example.test/x; exit 4']);
    assert.equal(both.code, 4, both.stderr);
    assert.match(both.stderr, /domain-not-allowed/, 'the summary is printed all the same');
  });

  it('reports a CMD killed by a signal as 128 + its number', async () => {
    const r = await mgproxyRun(w, [], ['sh', '-c', 'kill -KILL $$']);
    assert.equal(r.code, 137, r.stderr);
  });

  it('exits 127 when CMD is not found, naming it in one line, and still writes the reports', async () => {
    const r = await mgproxyRun(w, ['--report', 'missing.json'], ['no-such-command-mgproxy', '--flag']);
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /^mgproxy: command not found: no-such-command-mgproxy$/m);
    assert.equal(JSON.parse(fs.readFileSync(w.file('missing.json'), 'utf8')).summary.requests, 0);
    assert.match(r.stderr, /^mgproxy: wrote missing\.json$/m);
  });

  it('exits 2 and runs nothing for a bad --fail-on', async () => {
    const r = await mgproxyRun(w, ['--fail-on', 'info'], ['touch', 'ran']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /fail-on/);
    assert.equal(fs.existsSync(w.file('ran')), false, 'CMD was not run');
  });

  it('exits 2 without a CMD', async () => {
    const r = await mgproxyRun(w, [], []);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mgproxy: name the command to run after --/);
  });
});

describe('mgproxy run: signals', () => {
  let w: RunWorld;
  before(async () => { w = await startRunWorld(); });
  after(async () => { await w.close(); });

  /** CMD that says when it is ready, and what it does on SIGTERM. */
  const waiting = (onTerm: string) => nodeE(`
    ${onTerm}
    require('fs').writeFileSync('ready', '');
    setInterval(() => {}, 1000);`);

  it('passes SIGTERM on to CMD and exits with CMD\'s status, reports written', async () => {
    fs.rmSync(w.file('ready'), { force: true });
    const child = spawnRun(w, ['--report', 'term.json'], waiting('process.on("SIGTERM", () => { console.log("CMD got SIGTERM"); process.exit(42); });'));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await waitForFile(w.file('ready'));
    child.kill('SIGTERM');
    const r = await child.result;
    clearTimeout(timer);
    assert.match(r.stdout, /CMD got SIGTERM/);
    assert.equal(r.code, 42, r.stderr);
    assert.ok(fs.existsSync(w.file('term.json')));
  });

  it('exits 128 + n when the signal it passed on ended CMD', async () => {
    fs.rmSync(w.file('ready'), { force: true });
    const child = spawnRun(w, [], waiting(''));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await waitForFile(w.file('ready'));
    child.kill('SIGINT');
    const r = await child.result;
    clearTimeout(timer);
    assert.equal(r.code, 130, r.stderr);
  });
});
