/**
 * `mgproxy run` and the health report (docs/health.md "Baselines", "In CI"): the score and each
 * failed check on stderr and in the job summary, the baseline diff, and every `--fail-on-health`
 * verdict through the real CLI, with the reason as the run's last line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { healthConfig, type HealthOrigins, startHealthOrigins } from './helpers/health-origins.js';
import { TestPki } from './helpers/pki.js';
import { tempDir } from './helpers/proxy.js';
import { mgproxyRun, REQUESTS, type RunWorld } from './helpers/run.js';
import type { HealthReport } from '../proxy/reports/health.js';
import type { HealthBaseline } from '../proxy/reports/health-baseline.js';

let pki: TestPki;
let origins: HealthOrigins;
let w: RunWorld;

const GOOD = 'https://api.example.test/gzip.json';
const PLAIN = 'https://api.example.test/plain.json';
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)!;

before(async () => {
  pki = new TestPki();
  origins = await startHealthOrigins(pki);
  const dir = tempDir('mgproxy-health-run-');
  const configFile = path.join(dir, 'mgproxy.config.json');
  fs.writeFileSync(configFile, JSON.stringify(healthConfig(origins, pki.rootFile)));
  w = { pki, dir, configFile, caDir: path.join(dir, 'ca'), file: (n) => path.join(dir, n), upstream: undefined as never, close: async () => undefined };
});
after(async () => {
  await origins.close();
  pki.cleanup();
  fs.rmSync(w.dir, { recursive: true, force: true });
});

const run = (args: string[], cmd: string[], env: NodeJS.ProcessEnv = {}) => mgproxyRun(w, args, cmd, { env });

describe('a baseline, then a build that regresses', () => {
  let baseline: string;

  before(async () => {
    baseline = w.file('main-health.json');
    const r = await run(['--health', baseline], ['node', REQUESTS, GOOD]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^mgproxy: health 100\/100$/m);
    assert.doesNotMatch(r.stderr, /health check/);
  });

  it('regression: the check that passed before and fails now, and the growth, fail the run (exit 1, the reason last)', async () => {
    const summary = w.file('summary.md');
    const r = await run(['--health', w.file('pr-health.json'), '--health-baseline', baseline, '--fail-on-health', 'regression'], ['node', REQUESTS, GOOD, PLAIN], { GITHUB_STEP_SUMMARY: summary });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^mgproxy: health 87\/100$/m); // 100 × (82 − 10) / 82, rounded down
    assert.match(r.stderr, /^mgproxy: health check compression failed — \d+ \(0 allowed\)$/m);
    assert.match(lastLine(r.stderr), /^mgproxy: exit 1: health regression over .*main-health\.json: check regressed: compression; totals\.bytesDown grew [\d.]+% .*; totals\.requests grew 100% \(1 → 2/);
    const report = JSON.parse(fs.readFileSync(w.file('pr-health.json'), 'utf8')) as HealthReport & { baseline: HealthBaseline };
    assert.deepEqual(report.baseline.regressed, ['compression']);
    assert.deepEqual(report.baseline.score, { old: 100, new: 87, changePct: -13 });
    assert.deepEqual(report.baseline.totals.requests, { old: 1, new: 2, changePct: 100 });
    assert.deepEqual(report.baseline.totals.failed, { old: 0, new: 0, changePct: null });
    assert.deepEqual(report.baseline.domains['api.example.test']!.requests, { old: 1, new: 2, changePct: 100 });
    assert.equal(report.baseline.file, baseline);
    const md = fs.readFileSync(summary, 'utf8');
    assert.match(md, /mgproxy network health: 87\/100/);
    assert.match(md, /\| `compression` \| 开启服务器压缩 \|/);
  });

  it('regression: the same build as the baseline passes (exit 0)', async () => {
    const r = await run(['--health-baseline', baseline, '--fail-on-health', 'regression'], ['node', REQUESTS, GOOD]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(lastLine(r.stderr), /^mgproxy: exit 0: /);
  });

  it('checks: any failed check fails the run', async () => {
    const r = await run(['--fail-on-health', 'checks'], ['node', REQUESTS, PLAIN]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(lastLine(r.stderr), 'mgproxy: exit 1: health check failed: compression (--fail-on-health checks)');
    const clean = await run(['--fail-on-health', 'checks'], ['node', REQUESTS, GOOD]);
    assert.equal(clean.code, 0, clean.stderr);
  });

  it('SCORE: fails below it, passes at or above it', async () => {
    const below = await run(['--fail-on-health', '90'], ['node', REQUESTS, PLAIN]);
    assert.equal(below.code, 1, below.stderr);
    assert.equal(lastLine(below.stderr), 'mgproxy: exit 1: health score 87 is below 90 (--fail-on-health 90)');
    const at = await run(['--fail-on-health', '87'], ['node', REQUESTS, PLAIN]);
    assert.equal(at.code, 0, at.stderr);
  });

  it('never (the default): the health report does not decide', async () => {
    for (const args of [['--fail-on-health', 'never', '--health', w.file('h.json')], ['--health-html', w.file('h.html')]]) {
      const r = await run(args, ['node', REQUESTS, PLAIN]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^mgproxy: health check compression failed/m);
    }
    // No health option at all: no health report, and nothing of it in the output.
    const r = await run([], ['node', REQUESTS, PLAIN]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /^mgproxy: health/m);
  });

  it("the command's own non-zero status still wins", async () => {
    const r = await run(['--fail-on-health', 'checks'], ['sh', '-c', `node ${REQUESTS} ${PLAIN} && exit 3`]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(lastLine(r.stderr), /exited with 3/);
  });
});

describe('bad usage: exit 2 with one line, the command is not run', () => {
  const marker = () => w.file('ran');
  const cmd = () => ['node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker())}, '')`];

  for (const [args, pattern] of [
    [['--fail-on-health', 'sometimes'], /--fail-on-health takes regression, checks, a score from 0 to 100, or never; got "sometimes"/],
    [['--fail-on-health', '101'], /--fail-on-health takes/],
    [['--fail-on-health', 'regression'], /--fail-on-health regression needs --health-baseline FILE/],
    [['--health-baseline', 'missing.json'], /--health-baseline missing\.json: no such file/],
  ] as const) {
    it(args.join(' '), async () => {
      const r = await run([...args], cmd());
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(fs.existsSync(marker()), false);
    });
  }
});
