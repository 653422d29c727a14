/**
 * `npm run bench:check`: the bench still runs. One tiny round of each workload (`--quick`,
 * unpinned) must give a finite, positive number for every figure. Never how fast: that is
 * `npm run bench`'s to say (bench/README.md). Not part of `npm test` (it takes about 30 s);
 * `.ci/run` runs it after the tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../test/helpers/proxy.js';

const RUN = fileURLToPath(new URL('./run.js', import.meta.url));
const dir = tempDir('mgproxy-bench-test-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Side { median: number; min: number; max: number; rounds: number[] }
interface Report { figures: { workload: string; metric: string; direct?: Side; proxy: Side }[] }

it('npm run bench --quick measures every workload, direct and through the proxy', { timeout: 90_000 }, async () => {
  const json = path.join(dir, 'bench.json');
  const child = spawn(process.execPath, [RUN, '--quick', '--no-pin', '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  // 80 s: a quick round takes about 30 s alone; room for a loaded machine, and under the test's own 90 s.
  const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `bench failed:\n${err}\n${out}`);
  assert.match(out, /\| workload \| figure \| direct \| mgproxy \| ratio \| target \| met \|/);
  // "Direct" is a real server's speed: Debian's nginx serves the HTTP workloads.
  assert.match(err, /upstreams: nginx pid \d+ \(HTTP\)/);
  const report = JSON.parse(fs.readFileSync(json, 'utf8')) as Report;
  const metrics = report.figures.map((f) => `${f.workload}: ${f.metric}`);
  for (const want of ['small GETs, c=10: throughput', 'small GETs, c=10: proxy CPU per request', 'small GETs, c=50: p99 latency', 'new host (5 names): p50 to first byte',
    'download 4 MiB: throughput', 'upload 4 MiB: proxy RSS growth', 'engine floor, upload 4 MiB: throughput', 'WSS echo, 64 B, 10 sockets: round trips',
    '20 idle WSS connections: proxy RSS each', '50 distinct hosts minted: proxy RSS over idle',
    'process start → first CONNECT answered: time (direct column = Node alone)', 'small GETs, c=10: proxy CPU per request, direct column = the engine floor',
    'h2 small GETs, 1 connection × 10 streams: proxy CPU per request, direct column = HTTP/1.1 (10 connections, same server)',
    'health report bookkeeping (in-process, bench/health-cost.ts): CPU per exchange']) {
    assert.ok(metrics.includes(want), `no figure "${want}" in ${JSON.stringify(metrics)}`);
  }
  for (const f of report.figures) {
    for (const side of [f.direct, f.proxy]) {
      if (!side) continue;
      assert.ok(side.rounds.length >= 1, `${f.workload} ${f.metric}: no rounds`);
      // Memory figures are differences of RSS readings (a collection can make one negative), and
      // the health recorder's cost a difference of two CPU readings; every other figure is a rate or a time.
      const ok = f.metric.includes('RSS') || f.workload.startsWith('health report') ? Number.isFinite : (x: number) => Number.isFinite(x) && x > 0;
      for (const x of side.rounds) assert.ok(ok(x), `${f.workload} ${f.metric}: ${x}`);
    }
  }
});
