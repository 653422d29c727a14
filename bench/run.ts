/**
 * `npm run bench`: every workload of bench/README.md, straight to a local upstream and through mgproxy
 * (the real CLI, every rule on), in rounds that alternate direct and proxied so that noise hits
 * both; prints a markdown table of medians (min–max) with the ratio to direct and the target.
 *   --quick        one tiny round of each workload (the smoke test's run)
 *   --rounds N     rounds of the rate workloads (default 3)
 *   --json FILE    writes every raw number
 *   --only A,B     only these workloads: small,h2small,floor,newhost,bulk,wss,wss-observed,idle,h2idle,mint,startup,network,health,others
 *                  (`others`, bench/others.ts, installs the other proxies: with --quick, only when named)
 *   --cpu-prof DIR runs the shared proxy under `node --cpu-prof` and summarises its profile
 *   --no-pin       do not pin with taskset
 *   --cli PATH     runs another build's dist/proxy/cli.js (a before/after in one harness; an older
 *                  build without /api/network cannot run the network workload)
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';
import { openIdleHttps, runH2Load } from './load-h2.js';
import { type Pinning, pinCores, type ProxyProcess, proxyCommand, rssKiB, startFloorProcess, startProxyProcess, startUpstreamProcess, watchRss } from './processes.js';
import { summariseProfile } from './profile.js';
import { createWorld, HEADERS, HOSTS, mintHostName, newHostName, sizes } from './setup.js';
import { type Figure, formatTable, meets, spread } from './stats.js';
import { timeNodeFloor, timeProxyStart } from './startup.js';
import type { Route } from './tunnel.js';
import { whileDashboardListens } from './ws-observed.js';
import { download, firstByteTimes, handshakeEach, openMany, upload, within, wsEcho } from './workloads.js';
import { benchNetwork, networkDownloadSizes } from './network.js';
import { startNginx } from './nginx.js';
import { healthCost } from './health-cost.js';
import { benchOthers, othersFigures, othersNotes } from './others.js';

const WORKLOADS = ['small', 'h2small', 'floor', 'newhost', 'bulk', 'wss', 'wss-observed', 'idle', 'h2idle', 'mint', 'startup', 'network', 'health', 'others'] as const;
type Workload = (typeof WORKLOADS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    cli: { type: 'string' },
  },
});
const only = new Set((args.only?.split(',') ?? WORKLOADS.filter((w) => !(args.quick && w === 'others'))) as Workload[]);
for (const w of only) if (!WORKLOADS.includes(w)) throw new Error(`--only: unknown workload ${w}; known: ${WORKLOADS.join(',')}`);
const s = sizes(args.quick, args.rounds ? Number(args.rounds) : undefined);
const cli = args.cli ? path.resolve(args.cli) : undefined;
if (cli && !fs.existsSync(cli)) { process.stderr.write(`bench: --cli: no such file ${cli}\n`); process.exit(2); }
const say = (line: string) => process.stderr.write(`${line}\n`);
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

const pinning: Pinning | undefined = args['no-pin'] ? undefined : pinCores();
const world = createWorld(s);
const raw: Record<string, { direct: number[]; proxy: number[] }> = {};
const put = (key: string, side: 'direct' | 'proxy', x: number) => { ((raw[key] ??= { direct: [], proxy: [] })[side]).push(x); };

const networkBytes = args.quick ? 256 * 1024 : 2 * 1024 * 1024;
const nginx = await startNginx({ certPem: world.certPem, keyPem: world.keyPem, bytesSizes: [s.bulkBytes, ...networkDownloadSizes(networkBytes)] });
const upstream = await startUpstreamProcess(world.certFile);
const configFile = world.writeConfig(nginx.port, upstream.port, nginx.h2Port);
const cpuProfDir = args['cpu-prof'] ? path.resolve(args['cpu-prof']) : undefined;
const proxy = await startProxyProcess({ configFile, caDir: world.caDir, pinning, cpuProfDir, cli });
const ca = fs.readFileSync(path.join(world.caDir, 'ca.pem'), 'utf8');
const hostPorts = { [HOSTS.ws]: upstream.port, [HOSTS.h2]: nginx.h2Port };
const direct: Route = { upstreamPort: nginx.port, hostPorts, ca: world.pki.root.certPem };
const viaProxy: Route = { upstreamPort: nginx.port, hostPorts, proxyPort: proxy.port, ca };
const sides = [['direct', direct], ['proxy', viaProxy]] as const;
// The engine floor (bench/floor-proxy.ts): TLS both sides and undici, nothing of mgproxy's own.
const floorFile = path.join(world.dir, 'floor.json');
fs.writeFileSync(floorFile, JSON.stringify({ cert: world.certPem, key: world.keyPem, upstreamPort: nginx.port }));
const floor = only.has('floor') ? await startFloorProcess(floorFile, pinning, cpuProfDir) : undefined;
const viaFloor: Route | undefined = floor && { upstreamPort: nginx.port, hostPorts, proxyPort: floor.port, ca: world.pki.root.certPem };
say(`mgproxy pid ${proxy.pid}; upstreams: nginx pid ${nginx.pid} (HTTP), Node pid ${upstream.pid} (WebSocket echo)`);
say(pinning ? `pinned with taskset: mgproxy on core ${pinning.proxy}; load generator and upstream on core ${pinning.load}` : 'not pinned (no taskset or fewer than 2 cores)');

try {
  if (!args.quick && (only.has('small') || only.has('floor') || only.has('h2small'))) {
    // Not counted: each proxy's first seconds pay its JIT warm-up, its first leaf and its start's
    // leftovers in the collector, which the first round's c=10 row alone would carry.
    say('warm-up (not counted): 3 s of small GETs through each proxy');
    for (const route of [viaProxy, viaFloor]) {
      if (route) await within(60_000, 'warm-up', runLoad(route, { host: HOSTS.api, path: '/small', headers: HEADERS, connections: 10, warmupMs: 0, durationMs: 3000 }));
    }
  }
  for (let round = 0; round < s.rounds; round++) {
    say(`round ${round + 1} of ${s.rounds}`);
    if (only.has('small') || only.has('floor')) {
      for (const c of [10, 50]) {
        for (const [side, route] of sides) {
          const r = await within(60_000, `small GETs c=${c}`, runLoad(route, { host: HOSTS.api, path: '/small', headers: HEADERS, connections: c, warmupMs: s.warmupMs, durationMs: s.durationMs, ...(side === 'proxy' ? { cpuPid: proxy.pid } : {}) }));
          put(`small-c${c}-rps`, side, r.perSecond);
          put(`small-c${c}-p50`, side, r.p50Ms);
          put(`small-c${c}-p99`, side, r.p99Ms);
          if (r.cpuUsPerRequest !== undefined) put(`small-c${c}-cpu`, side, r.cpuUsPerRequest);
          say(`  small GETs c=${c} ${side}: ${Math.round(r.perSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms${r.cpuUsPerRequest === undefined ? '' : `, proxy CPU ${r.cpuUsPerRequest.toFixed(0)} µs per request`}`);
          if (side === 'direct' && floor) put(`floor-c${c}-rps`, 'direct', r.perSecond);
        }
        if (floor && viaFloor) {
          const r = await within(60_000, `floor c=${c}`, runLoad(viaFloor, { host: HOSTS.api, path: '/small', headers: HEADERS, connections: c, warmupMs: s.warmupMs, durationMs: s.durationMs, cpuPid: floor.pid }));
          put(`floor-c${c}-rps`, 'proxy', r.perSecond);
          put(`floor-c${c}-cpu`, 'proxy', r.cpuUsPerRequest!);
          say(`  small GETs c=${c} engine floor: ${Math.round(r.perSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, CPU ${r.cpuUsPerRequest!.toFixed(0)} µs per request`);
        }
      }
    }
    if (only.has('h2small')) {
      // One server (nginx's h2 one) both ways: 10 streams on one h2 connection, and 10 HTTP/1.1
      // connections, each with one request in flight; direct, and through mgproxy (h2 on both
      // of its sides in the h2 row: client → mgproxy and mgproxy → nginx).
      for (const [side, route] of sides) {
        const cpuPid = side === 'proxy' ? { cpuPid: proxy.pid } : {};
        const h2 = await within(60_000, 'h2 small GETs', runH2Load(route, { host: HOSTS.h2, path: '/small', headers: HEADERS, streams: 10, warmupMs: s.warmupMs, durationMs: s.durationMs, ...cpuPid }));
        const h1 = await within(60_000, 'HTTP/1.1 small GETs', runLoad(route, { host: HOSTS.h2, path: '/small', headers: HEADERS, connections: 10, warmupMs: s.warmupMs, durationMs: s.durationMs, ...cpuPid }));
        for (const [name, r] of [['h2small', h2], ['h1small', h1]] as const) {
          put(`${name}-rps`, side, r.perSecond);
          put(`${name}-p50`, side, r.p50Ms);
          put(`${name}-p99`, side, r.p99Ms);
          if (r.cpuUsPerRequest !== undefined) put(`${name}-cpu`, side, r.cpuUsPerRequest);
          say(`  ${name === 'h2small' ? 'h2, 1 connection × 10 streams' : 'HTTP/1.1, 10 connections'} ${side}: ${Math.round(r.perSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms${r.cpuUsPerRequest === undefined ? '' : `, proxy CPU ${r.cpuUsPerRequest.toFixed(0)} µs per request`}`);
        }
      }
    }
    if (only.has('newhost')) {
      for (const [side, route] of sides) {
        const names = Array.from({ length: s.newHosts }, (_, i) => newHostName(side, round, i));
        const times = await within(120_000, 'new hosts', firstByteTimes(route, names, '/small', HEADERS));
        put('newhost-p50', side, percentile(times, 50));
        put('newhost-p95', side, percentile(times, 95));
        say(`  new host ${side}: p50 ${percentile(times, 50).toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms`);
      }
    }
    if (only.has('bulk')) {
      const bulk = [['download', download], ['upload', (r: Route, h: string, n: number, hd: Record<string, string>) => upload(r, h, n, hd, nginx.sinkDir)]] as const;
      for (const [what, run] of bulk) {
        for (const [side, route] of sides) {
          // Growth is counted from the RSS just before this transfer, so that what earlier workloads
          // left in the heap is not charged to it.
          const baseline = side === 'proxy' ? rssKiB(proxy.pid) : 0;
          const watch = side === 'proxy' ? watchRss(proxy.pid) : undefined;
          const mbps = await within(300_000, what, run(route, HOSTS.api, s.bulkBytes, HEADERS));
          put(`${what}-MBps`, side, mbps);
          if (side === 'direct' && floor) put(`floor-${what}-MBps`, 'direct', mbps);
          if (watch) put(`${what}-rss-growth-MiB`, side, (watch.stop() - baseline) / 1024);
          say(`  ${what} ${side}: ${mbps.toFixed(0)} MB/s`);
        }
        if (floor && viaFloor) {
          const mbps = await within(300_000, `${what} floor`, run(viaFloor, HOSTS.api, s.bulkBytes, HEADERS));
          put(`floor-${what}-MBps`, 'proxy', mbps);
          say(`  ${what} engine floor: ${mbps.toFixed(0)} MB/s`);
        }
      }
    }
    if (only.has('network')) {
      await benchNetwork({
        route: viaProxy, adminUrl: proxy.adminUrl, hosts: HOSTS, headers: HEADERS, bytes: networkBytes, offCostBytes: s.bulkBytes, sinkDir: nginx.sinkDir,
        warmupMs: s.warmupMs, durationMs: s.durationMs, say,
      }, put);
    }
    if (only.has('wss')) {
      for (const [side, route] of sides) {
        const rate = await within(60_000, 'WSS echo', wsEcho(route, HOSTS.ws, 10, s.warmupMs, s.durationMs, HEADERS));
        put('wss-echo', side, rate);
        say(`  WSS echo ${side}: ${Math.round(rate)} round trips/s`);
      }
    }
    if (only.has('wss-observed')) {
      const rate = await whileDashboardListens(proxy.logFile, () => within(60_000, 'WSS echo observed', wsEcho(viaProxy, HOSTS.ws, 10, s.warmupMs, s.durationMs, HEADERS)));
      put('wss-echo-observed', 'proxy', rate);
      say(`  WSS echo proxy, messages observed (a dashboard listening): ${Math.round(rate)} round trips/s`);
    }
    say(`  mgproxy RSS at the end of round ${round + 1}: ${rssKiB(proxy.pid)} KiB`);
  }
} finally {
  await proxy.stop();
  await floor?.stop();
}

/** Runs `measure` on a proxy of its own, started for it and stopped after, whatever happens. */
async function onFreshProxy(measure: (fresh: ProxyProcess, route: Route) => Promise<void>, profile = false): Promise<void> {
  const fresh = await startProxyProcess({ configFile, caDir: world.caDir, pinning, cli, ...(profile ? { cpuProfDir } : {}) });
  try {
    await measure(fresh, { ...viaProxy, proxyPort: fresh.port });
  } finally {
    await fresh.stop();
  }
}

if (only.has('idle')) {
  // A fresh proxy: in the shared one, a collection of what the earlier workloads left can free
  // more than the sockets take (the figure came out negative). A few sockets first mint the host's
  // leaf and warm the code, so that the figure is what each further socket holds.
  await onFreshProxy(async (fresh, route) => {
    for (const ws of await openMany(route, HOSTS.ws, 20, 20, HEADERS)) ws.terminate();
    await new Promise((r) => setTimeout(r, 500));
    const before = rssKiB(fresh.pid);
    const sockets = await openMany(route, HOSTS.ws, s.idleSockets, 20, HEADERS);
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssKiB(fresh.pid);
    for (const ws of sockets) ws.terminate();
    put('idle-wss-KiB-each', 'proxy', (after - before) / s.idleSockets);
    say(`  ${s.idleSockets} idle WSS on a fresh proxy: ${((after - before) / s.idleSockets).toFixed(1)} KiB each (RSS ${before} → ${after} KiB)`);
  });
}

if (only.has('h2idle')) {
  // Idle HTTPS connections after one small GET each, on a fresh proxy: h2 (a session on each) and
  // HTTP/1.1 (keep-alive), to the same h2-capable server, so the two differ only in the front end.
  const n = Math.min(s.idleSockets, 500);
  // Each protocol on a fresh proxy of its own: memory the other freed would be reused, not counted.
  for (const protocol of ['h2', 'http/1.1'] as const) {
    await onFreshProxy(async (fresh, route) => {
      const open = () => openIdleHttps(route, HOSTS.h2, protocol);
      for (const c of await Promise.all(Array.from({ length: 10 }, open))) c.close();
      await new Promise((r) => setTimeout(r, 500));
      const before = rssKiB(fresh.pid);
      const conns: { close(): void }[] = [];
      for (let i = 0; i < n; i += 20) conns.push(...await Promise.all(Array.from({ length: Math.min(20, n - i) }, open)));
      await new Promise((r) => setTimeout(r, 1000));
      const after = rssKiB(fresh.pid);
      for (const c of conns) c.close();
      await new Promise((r) => setTimeout(r, 1000));
      const key = protocol === 'h2' ? 'idle-h2-KiB-each' : 'idle-h1-KiB-each';
      put(key, 'proxy', (after - before) / n);
      say(`  ${n} idle ${protocol} connections on a fresh proxy: ${((after - before) / n).toFixed(1)} KiB each (RSS ${before} → ${after} KiB)`);
    });
  }
}

if (only.has('mint')) {
  // A fresh proxy: "idle" is its RSS right after start.
  await onFreshProxy(async (fresh, route) => {
    await new Promise((r) => setTimeout(r, 500));
    const idle = rssKiB(fresh.pid);
    const watch = watchRss(fresh.pid, 100);
    const t0 = performance.now();
    const names = Array.from({ length: s.mintHosts }, (_, i) => mintHostName(i));
    const done = await handshakeEach(route, names, 8, s.mintDeadlineMs);
    const seconds = (performance.now() - t0) / 1000;
    const peak = watch.stop();
    if (done < names.length) say(`  minting: only ${done} of ${names.length} hosts within ${s.mintDeadlineMs} ms`);
    put('mint-rss-growth-MiB', 'proxy', (peak - idle) / 1024);
    put('mint-per-second', 'proxy', done / seconds);
    say(`  ${done} hosts minted in ${seconds.toFixed(1)} s: RSS idle ${idle} KiB, peak ${peak} KiB`);
  }, true);
}

if (only.has('startup')) {
  const pin = pinning ? ['taskset', '-c', pinning.proxy] : [];
  const log = path.join(world.dir, 'startup.log');
  for (let i = 0; i < s.startups; i++) {
    put('startup-ms', 'direct', await timeNodeFloor(pin, log));
    put('startup-ms', 'proxy', await timeProxyStart((port) => proxyCommand({ configFile, caDir: world.caDir, pinning, cli }, port), log));
  }
  say(`  start → first CONNECT answered: ${raw['startup-ms']!.proxy.map((x) => x.toFixed(0)).join(', ')} ms (node alone: ${raw['startup-ms']!.direct.map((x) => x.toFixed(0)).join(', ')} ms)`);
}
if (only.has('health')) {
  // The recorder's bookkeeping in-process (bench/health-cost.ts), then end to end: the same small
  // GETs through a proxy started with --health and one without, in alternating windows.
  const c = healthCost(args.quick ? 20_000 : 300_000);
  put('health-us', 'proxy', c.with - c.without);
  say(`  health recorder: ${(c.with - c.without).toFixed(2)} µs per exchange (in-process, ${c.without.toFixed(2)} → ${c.with.toFixed(2)} µs)`);
  const healthFile = path.join(world.dir, 'health.json');
  const withHealth = await startProxyProcess({ configFile, caDir: world.caDir, pinning, cli, extraArgs: ['--health', healthFile] });
  const without = await startProxyProcess({ configFile, caDir: world.caDir, pinning, cli });
  try {
    for (let i = 0; i < s.rounds * 2; i++) {
      for (const [side, p] of [['direct', without], ['proxy', withHealth]] as const) {
        const r = await within(60_000, 'small GETs, health', runLoad({ ...viaProxy, proxyPort: p.port }, { host: HOSTS.api, path: '/small', headers: HEADERS, connections: 10, warmupMs: s.warmupMs, durationMs: s.durationMs / 2, cpuPid: p.pid }));
        put('health-e2e-cpu', side, r.cpuUsPerRequest!);
      }
    }
    say(`  small GETs c=10, proxy CPU per request without / with --health: ${raw['health-e2e-cpu']!.direct.map((x) => x.toFixed(0)).join(', ')} / ${raw['health-e2e-cpu']!.proxy.map((x) => x.toFixed(0)).join(', ')} µs`);
  } finally {
    await withHealth.stop();
    await without.stop();
  }
}
if (only.has('others')) {
  await benchOthers({ sizes: s, dir: world.dir, configFile, caDir: world.caDir, rootCaFile: world.pki.rootFile, direct, pinning, cli, quick: args.quick, say }, put);
}
await upstream.stop();
await nginx.stop();

const MiB = s.bulkBytes / 1024 / 1024;
const figures: Figure[] = [];
const fig = (key: string, workload: string, metric: string, unit: string, target?: Figure['target'], note?: string) => {
  const r = raw[key];
  if (!r) return;
  figures.push({ workload, metric, unit, direct: r.direct.length ? spread(r.direct) : undefined, proxy: spread(r.proxy), target, note });
};
for (const c of [10, 50]) {
  fig(`small-c${c}-rps`, `small GETs, c=${c}`, 'throughput', 'req/s', { of: 'ratio', kind: 'min', limit: 0.5 });
  fig(`small-c${c}-p50`, `small GETs, c=${c}`, 'p50 latency', 'ms');
  fig(`small-c${c}-p99`, `small GETs, c=${c}`, 'p99 latency', 'ms', c === 50 ? { of: 'ratio', kind: 'max', limit: 3 } : undefined);
  fig(`small-c${c}-cpu`, `small GETs, c=${c}`, 'proxy CPU per request', 'µs', undefined, 'user + system time of the proxy process over the window: unlike req/s, not changed by other load on its core');
  fig(`floor-c${c}-rps`, `engine floor, small GETs, c=${c}`, 'throughput', 'req/s', undefined, 'bench/floor-proxy.ts in the mgproxy column: TLS both sides and undici, no rules, no log');
  fig(`floor-c${c}-cpu`, `engine floor, small GETs, c=${c}`, 'CPU per request', 'µs');
}
/** A figure whose "direct" column is another of the proxy's own figures (the floor's, the HTTP/1.1 path's). */
const versus = (key: string, base: string, workload: string, metric: string, unit: string, target: Figure['target'], note: string) => {
  const a = raw[key]?.proxy;
  const b = raw[base]?.proxy;
  if (!a?.length || !b?.length) return;
  figures.push({ workload, metric, unit, direct: spread(b), proxy: spread(a), target, note });
};
for (const c of [10, 50]) {
  versus(`small-c${c}-cpu`, `floor-c${c}-cpu`, `small GETs, c=${c}`, 'proxy CPU per request, direct column = the engine floor', 'µs', { of: 'ratio', kind: 'max', limit: 1.3 },
    'mgproxy against bench/floor-proxy.ts on the same core in the same rounds: what mgproxy adds to TLS both ways and undici');
}
versus('h2small-cpu', 'h1small-cpu', 'h2 small GETs, 1 connection × 10 streams', 'proxy CPU per request, direct column = HTTP/1.1 (10 connections, same server)', 'µs', { of: 'ratio', kind: 'max', limit: 1.2 },
  'the client speaks h2 to mgproxy, against HTTP/1.1 to the same server in the same rounds');
fig('health-us', 'health report bookkeeping (in-process, bench/health-cost.ts)', 'CPU per exchange', 'µs', { of: 'value', kind: 'max', limit: 3 });
fig('health-e2e-cpu', 'small GETs, c=10, with --health', 'proxy CPU per request, direct column = without --health', 'µs', undefined, 'two fresh proxies in alternating windows: the difference is within the noise of two CPU readings');
for (const [name, label] of [['h2small', 'h2 small GETs, 1 connection × 10 streams'], ['h1small', 'HTTP/1.1 small GETs, 10 connections (same server)']] as const) {
  fig(`${name}-rps`, label, 'throughput', 'req/s');
  fig(`${name}-p50`, label, 'p50 latency', 'ms');
  fig(`${name}-p99`, label, 'p99 latency', 'ms');
  fig(`${name}-cpu`, label, 'proxy CPU per request', 'µs');
}
fig('newhost-p50', `new host (${s.newHosts} names)`, 'p50 to first byte', 'ms', { of: 'ratio', kind: 'max', limit: 2 });
fig('newhost-p95', `new host (${s.newHosts} names)`, 'p95 to first byte', 'ms', { of: 'ratio', kind: 'max', limit: 3 });
fig('download-MBps', `download ${MiB} MiB`, 'throughput', 'MB/s', { of: 'ratio', kind: 'min', limit: 0.8 });
fig('download-rss-growth-MiB', `download ${MiB} MiB`, 'proxy RSS growth', 'MiB', { of: 'value', kind: 'max', limit: 16 });
fig('upload-MBps', `upload ${MiB} MiB`, 'throughput', 'MB/s', { of: 'ratio', kind: 'min', limit: 0.8 });
fig('upload-rss-growth-MiB', `upload ${MiB} MiB`, 'proxy RSS growth', 'MiB', { of: 'value', kind: 'max', limit: 16 });
fig('floor-download-MBps', `engine floor, download ${MiB} MiB`, 'throughput', 'MB/s');
fig('floor-upload-MBps', `engine floor, upload ${MiB} MiB`, 'throughput', 'MB/s');
fig('wss-echo', 'WSS echo, 64 B, 10 sockets', 'round trips', '/s', { of: 'ratio', kind: 'min', limit: 0.9 });
fig('wss-echo-observed', 'WSS echo, 64 B, 10 sockets, messages observed', 'round trips', '/s', undefined, 'a dashboard listening: each frame parsed both ways');
// Its target is the other proxies' (the `others` workload: at or below the best of them on a fresh process).
fig('idle-wss-KiB-each', `${s.idleSockets} idle WSS connections`, 'proxy RSS each', 'KiB');
fig('idle-h2-KiB-each', 'idle HTTPS connections, h2 (after one GET each)', 'proxy RSS each', 'KiB');
fig('idle-h1-KiB-each', 'idle HTTPS connections, HTTP/1.1 (after one GET each)', 'proxy RSS each', 'KiB');
fig('mint-rss-growth-MiB', `${s.mintHosts} distinct hosts minted`, 'proxy RSS over idle', 'MiB', { of: 'value', kind: 'max', limit: 64 });
fig('mint-per-second', `${s.mintHosts} distinct hosts minted`, 'handshakes with new hosts', '/s');
const exact = { of: 'ratio', kind: 'between', limit: 0.9, upper: 1.1 } as const;
fig('network-down-8000', 'network: download, custom 8000 kbps', 'rate (direct = configured)', 'kbps', exact);
fig('network-up-4000', 'network: upload, custom 4000 kbps', 'rate (direct = configured)', 'kbps', exact);
fig('network-down-3g', 'network: download, 3g 780 kbps', 'rate (direct = configured)', 'kbps', exact);
fig('network-up-3g', 'network: upload, 3g 330 kbps', 'rate (direct = configured)', 'kbps', exact);
fig('network-latency-http', 'network: latency 100 ms, small GET', 'added (direct = configured)', 'ms', { of: 'ratio', kind: 'between', limit: 0.8, upper: 1.2 });
fig('network-latency-ws', 'network: latency 100 ms, WebSocket echo', 'added each way (direct = configured)', 'ms', { of: 'ratio', kind: 'between', limit: 0.8, upper: 1.2 });
fig('network-off-rps', 'network off-cost: small GETs c=10', 'throughput (direct = nothing set, mgproxy = rules for other clients)', 'req/s', { of: 'ratio', kind: 'min', limit: 0.9 });
fig('network-off-MBps', 'network off-cost: download', 'throughput (direct = nothing set, mgproxy = rules for other clients)', 'MB/s', { of: 'ratio', kind: 'min', limit: 0.9 });
// 100 ms where Node alone takes 54 ms: 1.85× Node's own start, the same on a slower machine.
fig('startup-ms', 'process start → first CONNECT answered', 'time (direct column = Node alone)', 'ms', { of: 'ratio', kind: 'max', limit: 1.85 });
for (const row of othersFigures(s)) fig(...row);

const os = await import('node:os');
const machine = {
  cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg(),
  pinning: pinning ? `mgproxy on core ${pinning.proxy}; load generator and upstream on core ${pinning.load} (taskset)` : 'not pinned',
};
process.stdout.write(`\n${formatTable(figures)}\n\n`);
process.stdout.write(`${args.quick ? 'quick run (one tiny round: the numbers mean nothing)' : `medians of ${s.rounds} rounds (min–max)`}; ${machine.pinning}; ${machine.cpus} × ${machine.cpu}; Node ${machine.node}; load average ${machine.loadavg.map((x) => x.toFixed(2)).join(' ')}.\n`);
process.stdout.write('Direct for startup is Node alone answering CONNECT; the idle-socket and minting figures are the proxy\'s own.\n');
for (const line of othersNotes()) process.stdout.write(`${line}\n`);
if (args.json) {
  fs.writeFileSync(args.json, `${JSON.stringify({ machine, sizes: s, figures: figures.map((f) => ({ ...f, met: meets(f) })), raw }, null, 2)}\n`);
  say(`raw numbers written to ${args.json}`);
}
if (cpuProfDir) {
  for (const file of fs.readdirSync(cpuProfDir).filter((f) => f.endsWith('.cpuprofile'))) {
    process.stdout.write(`\nprofile ${file}:\n${summariseProfile(path.join(cpuProfDir, file), 25)}\n`);
  }
}
world.cleanup();
