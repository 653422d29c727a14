/**
 * What `mgproxy run` writes for people reading a CI log (docs/ci.md): one human line per
 * violation, `--log-format json` for pino's lines, GitHub Actions annotations (escaped, 3 per
 * rule and then a count), the job summary in GITHUB_STEP_SUMMARY, colour only on a terminal
 * without NO_COLOR. The child is a real client making its requests through HTTPS_PROXY.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CLI } from './helpers/proxy.js';
import { cleanEnv, mgproxyRun, REQUESTS, type RunResult, type RunWorld, startRunWorld } from './helpers/run.js';
import { ensureDebianTool } from './helpers/debian.js';
import { violationLine } from '../proxy/reports/ci-lines.js';
import { escapeData, escapeProperty, workflowCommand } from '../proxy/reports/github.js';

const node = process.execPath;
const FIXED_REFERER = 'https://appservice.wx.com/wx0123456789abcdef/0/page-frame.html';
/** Four blocked requests (one URL with a %), one Referer warning (with a % too), one allowed request. */
const BLOCKED = ['https://evil.example.test/a1', 'https://evil.example.test/a2?share=100%25', 'https://evil.example.test/a3', 'https://evil.example.test/a4'];
const WARNED = 'https://api.example.test/echo';
const REFERER = 'https://example.net/100%';
const CMD = [node, REQUESTS, BLOCKED[0]!, BLOCKED[1]!, `${WARNED}|Referer: ${REFERER}`, BLOCKED[2]!, BLOCKED[3]!, 'https://cdn.example.test/bytes/10'];

const BLOCKED_MESSAGE = 'evil.example.test is not in domains.request';
const REFERER_MESSAGE = `Referer "${REFERER}" is not ${FIXED_REFERER}; the upstream got the fixed one`;
const HUMAN_LINES = [
  `mgproxy: error domain-not-allowed GET ${BLOCKED[0]} — ${BLOCKED_MESSAGE}`,
  `mgproxy: error domain-not-allowed GET ${BLOCKED[1]} — ${BLOCKED_MESSAGE}`,
  `mgproxy: warning referer-mismatch GET ${WARNED} — ${REFERER_MESSAGE}`,
  `mgproxy: error domain-not-allowed GET ${BLOCKED[2]} — ${BLOCKED_MESSAGE}`,
  `mgproxy: error domain-not-allowed GET ${BLOCKED[3]} — ${BLOCKED_MESSAGE}`,
];

const lines = (text: string) => text.split('\n').filter((l) => l !== '');
const violationLines = (r: RunResult) => lines(r.stderr).filter((l) => /^mgproxy: (error|warning|info) /.test(l));
const commandLines = (r: RunResult) => lines(r.stderr).filter((l) => l.startsWith('::'));

function assertClientRan(r: RunResult): void {
  assert.deepEqual(lines(r.stdout), [
    `403 ${BLOCKED[0]}`, `403 ${BLOCKED[1]}`, `200 ${WARNED}`, `403 ${BLOCKED[2]}`, `403 ${BLOCKED[3]}`, '200 https://cdn.example.test/bytes/10',
  ], r.stderr);
  assert.equal(r.code, 1, r.stderr);
}

describe('mgproxy run: output for a CI log', () => {
  let w: RunWorld;
  before(async () => { w = await startRunWorld(); });
  after(async () => { await w.close(); });

  it('prints one human line per violation, and no JSON, by default', async () => {
    const r = await mgproxyRun(w, ['--report', 'r.json'], CMD);
    assertClientRan(r);
    assert.deepEqual(violationLines(r), HUMAN_LINES);
    for (const l of lines(r.stderr)) assert.doesNotMatch(l, /^\s*\{|"msg":|"level":/, `a JSON line on stderr:\n${r.stderr}`);
    assert.match(r.stderr, /^mgproxy listening on http:\/\/127\.0\.0\.1:\d+ \(admin http:\/\/127\.0\.0\.1:\d+\); running /m);
    assert.match(r.stderr, /^mgproxy: 6 requests, 5 violations \(4 error, 1 warning, 0 info\)$/m);
    assert.match(r.stderr, /^ {2}domain-not-allowed +error +4 +GET https:\/\/evil\.example\.test\/a1: /m);
    assert.match(r.stderr, /^mgproxy: exit 1: 4 violations at or above --fail-on error$/m);
    assert.deepEqual(commandLines(r), [], 'no workflow command outside GitHub Actions');
    assert.doesNotMatch(r.stderr, /\x1b\[/, 'no colour when stderr is not a terminal');
    assert.doesNotMatch(r.stderr, /^#+ mgproxy/m, 'no markdown');
    assert.equal(JSON.parse(fs.readFileSync(w.file('r.json'), 'utf8')).summary.violations, 5);
  });

  it('prints pino JSON lines with --log-format json; the summary table stays', async () => {
    const r = await mgproxyRun(w, ['--log-format', 'json'], CMD);
    assertClientRan(r);
    assert.deepEqual(violationLines(r), []);
    const json = lines(r.stderr).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const violations = json.filter((j) => j.msg === 'violation');
    assert.deepEqual(violations.map((v) => [v.level, v.rule, v.url]), [
      [50, 'domain-not-allowed', BLOCKED[0]], [50, 'domain-not-allowed', BLOCKED[1]], [40, 'referer-mismatch', WARNED],
      [50, 'domain-not-allowed', BLOCKED[2]], [50, 'domain-not-allowed', BLOCKED[3]],
    ]);
    assert.equal(violations[2]!.message, REFERER_MESSAGE);
    assert.match(r.stderr, /^mgproxy: 6 requests, 5 violations \(4 error, 1 warning, 0 info\)$/m);
    assert.match(r.stderr, /^mgproxy: exit 1: 4 violations at or above --fail-on error$/m);
  });

  it('renders the other log lines as human lines too (--log-level info: one per exchange)', async () => {
    const r = await mgproxyRun(w, ['--log-level', 'info'], [node, REQUESTS, 'https://cdn.example.test/bytes/10']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^mgproxy: info exchange GET https:\/\/cdn\.example\.test\/bytes\/10 200 completed [\d.]+ ms \(id=\S+ client=127\.0\.0\.1 api=downloadFile bytesIn=0 bytesOut=10 protocol=http\/1\.1 upstreamAlpn=http\/1\.1\)$/m);
    for (const l of lines(r.stderr)) assert.doesNotMatch(l, /"msg":/, r.stderr);
  });

  it('renders a warning of the start as a human line', async () => {
    const odd = await startRunWorld({ config: { networkTimeout: { request: 90_000 } } });
    try {
      const r = await mgproxyRun(odd, [], ['true']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lines(r.stderr)[0], 'mgproxy: warning config: 90000 ms is above the maximum of TCSAS; 60000 ms is used (id=config-timeout-above-max path=networkTimeout.request)');
      assert.doesNotMatch(r.stderr, /"msg":/);
    } finally {
      await odd.close();
    }
  });

  it('annotates errors and warnings on GitHub Actions: escaped, the first 3 of a rule, then its count', async () => {
    const r = await mgproxyRun(w, [], CMD, { env: { GITHUB_ACTIONS: 'true' } });
    assertClientRan(r);
    assert.deepEqual(violationLines(r), HUMAN_LINES, 'the human lines as well');
    assert.deepEqual(commandLines(r), [
      `::error title=mgproxy domain-not-allowed::GET ${BLOCKED[0]} — ${BLOCKED_MESSAGE}`,
      `::error title=mgproxy domain-not-allowed::GET https://evil.example.test/a2?share=100%2525 — ${BLOCKED_MESSAGE}`,
      `::warning title=mgproxy referer-mismatch::GET ${WARNED} — Referer "https://example.net/100%25" is not ${FIXED_REFERER}; the upstream got the fixed one`,
      `::error title=mgproxy domain-not-allowed::GET ${BLOCKED[2]} — ${BLOCKED_MESSAGE}`,
      '::error title=mgproxy domain-not-allowed::4 domain-not-allowed violations in all; the first 3 are annotated, the job log and the reports list every one',
    ]);
    // The count comes after the run, before the table.
    const stderr = lines(r.stderr);
    assert.ok(stderr.findIndex((l) => l.startsWith('::error title=mgproxy domain-not-allowed::4 ')) < stderr.findIndex((l) => l.startsWith('mgproxy: 6 requests')));
  });

  it('appends the summary as markdown to GITHUB_STEP_SUMMARY, whatever GITHUB_ACTIONS says', async () => {
    const file = w.file('step-summary.md');
    fs.writeFileSync(file, '## earlier step\n\n');
    const r = await mgproxyRun(w, ['--junit', 'out/junit.xml', '--report', 'out/r.json'], CMD, { env: { GITHUB_STEP_SUMMARY: file } });
    assertClientRan(r);
    assert.deepEqual(commandLines(r), [], 'no annotations without GITHUB_ACTIONS=true');
    assert.equal(fs.readFileSync(file, 'utf8'), `## earlier step

### mgproxy: failed

6 requests, 5 violations (4 error, 1 warning, 0 info). **Exit 1**: 4 violations at or above --fail-on error.

| rule | severity | count | first |
| --- | --- | ---: | --- |
| \`domain-not-allowed\` | error | 4 | GET ${BLOCKED[0]}: ${BLOCKED_MESSAGE} |
| \`referer-mismatch\` | warning | 1 | GET ${WARNED}: Referer "https://example.net/100%" is not ${FIXED_REFERER}; the upstream got the fixed one |

Reports: \`out/r.json\`, \`out/junit.xml\`

`);
  });

  it('says "passed" in the job summary of a clean run', async () => {
    const file = w.file('clean-summary.md');
    const r = await mgproxyRun(w, [], [node, REQUESTS, 'https://cdn.example.test/bytes/10'], { env: { GITHUB_STEP_SUMMARY: file, GITHUB_ACTIONS: 'true' } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(commandLines(r), []);
    assert.equal(fs.readFileSync(file, 'utf8'), `### mgproxy: passed

1 request, no violations. **Exit 0**: no violation at or above --fail-on error.

No report was asked for (\`--report\`, \`--junit\`, \`--har\`).

`);
  });

  it('refuses a bad --log-format in one line, exit 2, and runs nothing', async () => {
    const r = await mgproxyRun(w, ['--log-format', 'xml'], ['touch', 'ran-log-format']);
    assert.equal(r.code, 2);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^mgproxy: .*log-format.*xml/);
    assert.equal(fs.existsSync(w.file('ran-log-format')), false);
    const twice = await mgproxyRun(w, ['--log-format', 'json', '--log-format', 'human'], ['touch', 'ran-log-format']);
    assert.equal(twice.code, 2);
    assert.equal(twice.stderr, 'mgproxy: --log-format is given more than once\n');
    assert.equal(fs.existsSync(w.file('ran-log-format')), false);
  });
});

describe('mgproxy run: colour on a terminal', () => {
  const script = ensureDebianTool('script', 'bsdutils');
  const skip = 'skip' in script ? script.skip : false;
  let w: RunWorld;
  before(async () => { if (!skip) w = await startRunWorld(); });
  after(async () => { await w?.close(); });

  /** `mgproxy run` with a pseudo-terminal as its stdio (util-linux `script`); what the terminal showed. */
  function onTerminal(env: NodeJS.ProcessEnv): Promise<string> {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [node, CLI, 'run', '--config', w.configFile, '--ca-dir', w.caDir, '--', node, REQUESTS, BLOCKED[0]!].map(quote).join(' ');
    const child = spawn((script as { path: string }).path, ['-qefc', command, '/dev/null'], { cwd: w.dir, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    return new Promise((resolve) => child.on('close', () => { clearTimeout(timer); resolve(out); }));
  }

  it('colours the severity on a terminal, and not with NO_COLOR', { skip }, async () => {
    const coloured = await onTerminal({});
    assert.ok(coloured.includes(`mgproxy: \x1b[31merror\x1b[0m \x1b[1mdomain-not-allowed\x1b[0m GET ${BLOCKED[0]} — ${BLOCKED_MESSAGE}`), JSON.stringify(coloured));
    const plain = await onTerminal({ NO_COLOR: '1' });
    assert.ok(plain.includes(`mgproxy: error domain-not-allowed GET ${BLOCKED[0]} — ${BLOCKED_MESSAGE}`), JSON.stringify(plain));
    assert.doesNotMatch(plain, /\x1b\[\d+m/);
  });
});

describe('CI lines: the pieces', () => {
  it('escapes workflow command data and properties as the runner reads them', () => {
    assert.equal(escapeData('100% a:b,c\r\nd'), '100%25 a:b,c%0D%0Ad');
    assert.equal(escapeProperty('100% a:b,c\r\nd'), '100%25 a%3Ab%2Cc%0D%0Ad');
    assert.equal(workflowCommand('warning', 'mgproxy a:b,c', 'x\ny'), '::warning title=mgproxy a%3Ab%2Cc::x%0Ay\n');
  });

  it('writes a per-host TLS finding as host:port, IPv6 in brackets', () => {
    const tls = { severity: 'error', rule: 'tls-expired', host: '::1', port: 8443, message: 'the certificate expired' } as const;
    assert.equal(violationLine(tls), 'mgproxy: error tls-expired [::1]:8443 — the certificate expired\n');
    assert.equal(violationLine({ ...tls, host: 'api.example.test', port: 443 }), 'mgproxy: error tls-expired api.example.test:443 — the certificate expired\n');
  });
});
