/**
 * `npm run bench:ab`: proxy CPU per request of several proxies, measured in short interleaved
 * windows (A, B, C, A, B, C, …) so that a noisy machine changes every proxy's figure alike, and
 * each proxy's ratio to the first taken window by window. On a shared VM the CPU time of the same
 * work drifts by 2× within minutes; a ratio of two windows seconds apart drifts far less. Used to
 * decide whether an optimisation helps (bench/README.md); the full table stays `npm run bench`.
 *   --cli PATH   a build's dist/proxy/cli.js (repeatable; default: this build)
 *   --floor      the engine floor too (bench/floor-proxy.ts)
 *   --h2         h2 small GETs (1 connection × 10 streams) besides HTTP/1.1 (10 connections)
 *   --pairs N    windows per proxy (default 8)
 *   --window MS  each window's length (default 2000)
 *   --c N        connections of the HTTP/1.1 load (default 10)
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult } from './load.js';
import { runH2Load } from './load-h2.js';
import { pinCores, startFloorProcess, startProxyProcess, startUpstreamProcess, type UpstreamProcess } from './processes.js';
import { createWorld, HEADERS, HOSTS, sizes } from './setup.js';
import type { Route } from './tunnel.js';
import { startNginx } from './nginx.js';
import { within } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    cli: { type: 'string', multiple: true },
    floor: { type: 'boolean', default: false },
    h2: { type: 'boolean', default: false },
    pairs: { type: 'string', default: '8' },
    window: { type: 'string', default: '2000' },
    c: { type: 'string', default: '10' },
  },
});
const say = (line: string) => process.stderr.write(`${line}\n`);
const clis = (args.cli ?? [undefined]).map((c) => (c ? path.resolve(c) : undefined));
for (const c of clis) if (c && !fs.existsSync(c)) { say(`bench:ab: --cli: no such file ${c}`); process.exit(2); }
const pairs = Number(args.pairs);
const windowMs = Number(args.window);
const connections = Number(args.c);
if (!(pairs >= 1 && pairs <= 100 && windowMs >= 200 && windowMs <= 60_000 && connections >= 1 && connections <= 500)) {
  say('bench:ab: --pairs 1–100, --window 200–60000, --c 1–500'); process.exit(2);
}

const pinning = pinCores();
const world = createWorld(sizes(false, 1));
const nginx = await startNginx({ certPem: world.certPem, keyPem: world.keyPem, bytesSizes: [1024] });
const upstream = await startUpstreamProcess(world.certFile);
const configFile = world.writeConfig(nginx.port, upstream.port, nginx.h2Port);
const hostPorts = { [HOSTS.ws]: upstream.port, [HOSTS.h2]: nginx.h2Port };
interface Subject { name: string; pid: number; route: Route; stop(): Promise<void> }
const subjects: Subject[] = [];
try {
  for (const [i, cli] of clis.entries()) {
    const p = await startProxyProcess({ configFile, caDir: world.caDir, pinning, cli });
    const ca = fs.readFileSync(path.join(world.caDir, 'ca.pem'), 'utf8');
    subjects.push({ name: cli ? `${String.fromCharCode(65 + i)} ${path.relative(process.cwd(), cli) || cli}` : `${String.fromCharCode(65 + i)} this build`, pid: p.pid, route: { upstreamPort: nginx.port, hostPorts, proxyPort: p.port, ca }, stop: p.stop });
  }
  if (args.floor) {
    const file = path.join(world.dir, 'floor.json');
    fs.writeFileSync(file, JSON.stringify({ cert: world.certPem, key: world.keyPem, upstreamPort: nginx.port }));
    const f: UpstreamProcess = await startFloorProcess(file, pinning);
    subjects.push({ name: 'engine floor', pid: f.pid, route: { upstreamPort: nginx.port, hostPorts, proxyPort: f.port, ca: world.pki.root.certPem }, stop: f.stop });
  }
  const loads: [string, (s: Subject, warmupMs: number, durationMs: number) => Promise<LoadResult>][] = [
    [`HTTP/1.1 small GETs, c=${connections}`, (s, warmupMs, durationMs) => runLoad(s.route, { host: HOSTS.api, path: '/small', headers: HEADERS, connections, warmupMs, durationMs, cpuPid: s.pid })],
  ];
  // The floor speaks HTTP/1.1 to nginx's HTTP/1.1 port only: the h2 row compares the proxies.
  if (args.h2) loads.push(['h2 small GETs, 1 connection × 10 streams', (s, warmupMs, durationMs) => runH2Load(s.route, { host: HOSTS.h2, path: '/small', headers: HEADERS, streams: 10, warmupMs, durationMs, cpuPid: s.pid })]);
  say(`pinned: ${pinning ? `proxies on core ${pinning.proxy}, load on core ${pinning.load}` : 'no'}; ${pairs} windows of ${windowMs} ms per proxy`);
  for (const [label, load] of loads) {
    const who = label.startsWith('h2') ? subjects.filter((s) => s.name !== 'engine floor') : subjects;
    // Warm every proxy (JIT, its leaf, its pools) before any window counts.
    for (const s of who) await within(60_000, 'warm-up', load(s, 0, 3000));
    const cpu = who.map(() => [] as number[]);
    for (let k = 0; k < pairs; k++) {
      for (const [i, s] of who.entries()) {
        const r = await within(60_000, label, load(s, 300, windowMs));
        cpu[i]!.push(r.cpuUsPerRequest!);
      }
    }
    const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };
    process.stdout.write(`\n${label}: proxy CPU per request (µs), median of ${pairs} windows (min–max); ratio to ${who[0]!.name}, median of the windows' ratios\n`);
    const floorAt = who.findIndex((s) => s.name === 'engine floor');
    const ratio = (i: number, j: number) => {
      const rs = cpu[i]!.map((x, k) => x / cpu[j]![k]!);
      return `×${median(rs).toFixed(3)} (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;
    };
    for (const [i, s] of who.entries()) {
      const toFirst = i === 0 ? '' : `  to A ${ratio(i, 0)}`;
      const toFloor = floorAt < 0 || i === floorAt ? '' : `  to the floor ${ratio(i, floorAt)}`;
      process.stdout.write(`  ${s.name.padEnd(32)} ${median(cpu[i]!).toFixed(1).padStart(7)} (${Math.min(...cpu[i]!).toFixed(0)}–${Math.max(...cpu[i]!).toFixed(0)})${toFirst}${toFloor}\n`);
    }
  }
} finally {
  for (const s of subjects) await s.stop();
  await upstream.stop();
  await nginx.stop();
  if (!process.env.BENCH_KEEP) world.cleanup(); else say(`kept ${world.dir}`);
}
