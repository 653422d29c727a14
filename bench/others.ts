/**
 * `npm run bench -- --only others`: mgproxy beside the other MITM proxies, in the same harness and
 * the same run (bench/README.md "Other proxies"). Each proxy is a process of its own on the proxy's
 * core (taskset, like mgproxy), with its own CA, measured the way run.ts measures mgproxy:
 *   - start → first CONNECT answered (bench/startup.ts: the clock from spawn to the `200`);
 *   - idle WSS memory per connection on a fresh process (run.ts's `idle`: 20 sockets to warm, then
 *     N idle WSS to the echo upstream, RSS before and after);
 *   - small GETs at c=10 and c=50 (bench/load.ts), throughput and the proxy's CPU per request.
 * The contenders: mitmproxy (Debian's package, installed with apt-get when missing), and
 * http-mitm-proxy and mockttp from npm, installed pinned into a cache folder outside the
 * repository on first use (never dependencies of mgproxy's). A proxy that cannot be installed or
 * started is reported as not measured, with the reason, and the others go on.
 *
 * Fake names: the load generator is the same for every proxy, byte for byte: the `Route` that
 * reaches mgproxy (CONNECT api.bench.test:443, SNI and Host the fake name), with another proxy
 * port and that proxy's CA. None of the other proxies has mgproxy's `upstream.hosts`, so each gets
 * the same map (name → 127.0.0.1:port, read from mgproxy's config file) through its own hook at the
 * moment it connects upstream: mitmproxy's `server_connect` hook in an addon, http-mitm-proxy's
 * `httpsAgent` option, mockttp's `matchReplaceHost` transform (bench/other-proxy.ts). CONNECTing to
 * 127.0.0.1:port instead would not do for all of them: http-mitm-proxy mints its certificate for
 * the CONNECT target and connects to the Host header's name.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianTool, versionOf } from '../test/helpers/debian.js';
import { runLoad } from './load.js';
import { type Pinning, proxyCommand, rssKiB, spawnPinned } from './processes.js';
import { HEADERS, HOSTS, type Sizes } from './setup.js';
import { freePort, timeProxyStart } from './startup.js';
import type { Route } from './tunnel.js';
import { openMany, within } from './workloads.js';

const OTHER_PROXY = fileURLToPath(new URL('./other-proxy.js', import.meta.url));
/** Pinned: a figure beside another is only worth something if both builds are known. */
const NPM_PROXIES = { 'http-mitm-proxy': '1.1.0', mockttp: '4.7.0' } as const;
const NPM_INSTALL_TIMEOUT_MS = 10 * 60_000;

/** Where the npm proxies are installed: outside the repository, kept between runs. */
export function othersCacheDir(): string {
  return process.env.MGPROXY_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'mgproxy-bench', 'others');
}

interface Contender {
  id: string;
  /** Name and version, as the table prints it. */
  label: string;
  command(port: number): string[];
  /** The CA the load generator trusts (read after the proxy's first start wrote it). */
  caPem(): string;
}

export interface OthersContext {
  sizes: Sizes;
  /** The bench's run folder (CA folders and logs of this run). */
  dir: string;
  /** mgproxy's config: its `upstream.hosts` is the map every proxy gets. */
  configFile: string;
  /** mgproxy's CA folder (the shared proxy made the CA). */
  caDir: string;
  /** The test PKI root that signed the upstreams' certificate. */
  rootCaFile: string;
  /** The direct route: the upstream's ports and the fake names' ports. */
  direct: Route;
  pinning?: Pinning;
  cli?: string;
  quick: boolean;
  say(line: string): void;
}

type Put = (key: string, side: 'direct' | 'proxy', x: number) => void;

/** What the figures need after the run: each measured proxy's label, the best ones, the skipped ones. */
const outcome = { labels: new Map<string, string>(), best: new Map<string, string>(), notMeasured: [] as string[] };

/** http-mitm-proxy and mockttp in the cache folder, installed there when missing; undefined, or why not. */
function ensureNpmProxies(dir: string): string | undefined {
  const installed = () => Object.entries(NPM_PROXIES).every(([name, version]) => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version === version;
    } catch {
      return false;
    }
  });
  if (installed()) return undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    return `cannot make ${dir}: ${(err as Error).message}`;
  }
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const specs = Object.entries(NPM_PROXIES).map(([name, version]) => `${name}@${version}`);
  const r = spawnSync(npm, ['install', '--prefix', dir, '--save-exact', '--no-audit', '--no-fund', '--loglevel', 'error', ...specs], { timeout: NPM_INSTALL_TIMEOUT_MS, encoding: 'utf8' });
  if (r.status !== 0) return `npm install ${specs.join(' ')} failed: ${r.error?.message ?? (r.stderr ?? '').trim().split('\n').at(-1)}`;
  return installed() ? undefined : `npm install ${specs.join(' ')} did not install them`;
}

/**
 * The mitmproxy addon that sends each fake name to its loopback port when mitmproxy connects
 * upstream (`server_connect`, https://docs.mitmproxy.org/stable/api/events.html). The SNI and the
 * Host header stay the fake name, and the certificate is checked against it.
 */
function mitmAddon(hosts: Record<string, number>): string {
  return `# Written by mgproxy's bench (bench/others.ts): the bench's fake names to their loopback ports.
HOSTS = ${JSON.stringify(hosts)}


class MapHosts:
    def server_connect(self, data):
        address = data.server.address
        if address and address[0] in HOSTS:
            data.server.address = ("127.0.0.1", HOSTS[address[0]])


addons = [MapHosts()]
`;
}

function readConfigHosts(configFile: string): Record<string, number> {
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { upstream: { hosts: Record<string, string> } };
  return Object.fromEntries(Object.entries(config.upstream.hosts).map(([name, to]) => [name, Number(to.split(':').at(-1))]));
}

/** Every contender that can run here (mgproxy first), and why each other one cannot. */
function contenders(ctx: OthersContext): { ready: Contender[]; skipped: string[] } {
  const pin = ctx.pinning ? ['taskset', '-c', ctx.pinning.proxy] : [];
  const hosts = readConfigHosts(ctx.configFile);
  const home = path.join(ctx.dir, 'others');
  fs.mkdirSync(home, { recursive: true });
  const ready: Contender[] = [{
    id: 'mgproxy', label: 'mgproxy',
    command: (port) => proxyCommand({ configFile: ctx.configFile, caDir: ctx.caDir, pinning: ctx.pinning, cli: ctx.cli }, port),
    caPem: () => fs.readFileSync(path.join(ctx.caDir, 'ca.pem'), 'utf8'),
  }];
  const skipped: string[] = [];

  const mitm = ensureDebianTool('mitmdump', 'mitmproxy');
  const mitmVersion = 'path' in mitm ? /Mitmproxy:\s*(\S+)/.exec(versionOf(mitm.path))?.[1] : undefined;
  if (!('path' in mitm)) skipped.push(`mitmproxy: ${mitm.skip}`);
  else if (!mitmVersion) skipped.push(`mitmproxy: ${mitm.path} --version does not run`);
  else {
    const confdir = path.join(home, 'mitmproxy');
    const addon = path.join(home, 'mitm-hosts.py');
    fs.writeFileSync(addon, mitmAddon(hosts));
    ready.push({
      id: 'mitmproxy', label: `mitmproxy ${mitmVersion}`,
      // Upstream certificates are checked against the bench's root, as mgproxy's are (its
      // `upstream.extraCaFiles`); everything else is mitmdump's default (one line per flow).
      command: (port) => [...pin, mitm.path, '--listen-host', '127.0.0.1', '--listen-port', String(port), '--set', `confdir=${confdir}`, '--set', `ssl_verify_upstream_trusted_ca=${ctx.rootCaFile}`, '-s', addon],
      caPem: () => fs.readFileSync(path.join(confdir, 'mitmproxy-ca-cert.pem'), 'utf8'),
    });
  }

  const modules = othersCacheDir();
  const npmSkip = ensureNpmProxies(modules);
  for (const [kind, version] of Object.entries(NPM_PROXIES)) {
    if (npmSkip) { skipped.push(`${kind}: ${npmSkip}`); continue; }
    const caDir = path.join(home, kind);
    const spec = path.join(home, `${kind}.json`);
    fs.writeFileSync(spec, JSON.stringify({ kind, modules, caDir, rootCaFile: ctx.rootCaFile, hosts }));
    ready.push({
      id: kind, label: `${kind} ${version}`,
      command: (port) => [...pin, process.execPath, OTHER_PROXY, spec, String(port)],
      caPem: () => fs.readFileSync(kind === 'mockttp' ? path.join(caDir, 'ca.pem') : path.join(caDir, 'certs', 'ca.pem'), 'utf8'),
    });
  }
  return { ready, skipped };
}

interface Running { pid: number; port: number; route: Route; stop(): Promise<void> }

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts a contender and waits until its port accepts (60 s at most: a first start of
 * http-mitm-proxy makes its CA with node-forge in JavaScript, which takes seconds on a loaded core).
 */
async function start(c: Contender, base: Route, logFile: string): Promise<Running> {
  const port = await freePort();
  const child: ChildProcess = spawnPinned(c.command(port), logFile);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (!(await accepts(port))) {
    const tail = () => fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' / ');
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${c.label} exited (${child.exitCode ?? child.signalCode}): ${tail()}`);
    if (Date.now() > deadline) { await stop(); throw new Error(`${c.label} did not listen within 60 s: ${tail()}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  // The CA exists once the proxy listens (each writes it before listening).
  return { pid: child.pid!, port, route: { ...base, proxyPort: port, ca: c.caPem() }, stop };
}

/** run.ts's `idle`, on this process: 20 sockets first (the host's leaf, warm code), then `n` idle WSS; KiB each. */
async function idleKiBEach(p: Running, n: number, say: (line: string) => void, label: string): Promise<number> {
  for (const ws of await openMany(p.route, HOSTS.ws, 20, 20, HEADERS)) ws.terminate();
  await new Promise((r) => setTimeout(r, 500));
  const before = rssKiB(p.pid);
  const sockets = await openMany(p.route, HOSTS.ws, n, 20, HEADERS);
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKiB(p.pid);
  for (const ws of sockets) ws.terminate();
  say(`  ${n} idle WSS on a fresh ${label}: ${((after - before) / n).toFixed(1)} KiB each (RSS ${before} → ${after} KiB)`);
  return (after - before) / n;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

/**
 * Measures every contender; each other proxy's figure goes in the `direct` side of its row and
 * mgproxy's of the same run in the `proxy` side, so the table's ratio is mgproxy / that proxy.
 */
export async function benchOthers(ctx: OthersContext, put: Put): Promise<void> {
  const { ready, skipped } = contenders(ctx);
  const failed = new Map<string, string>();
  for (const reason of skipped) { outcome.notMeasured.push(reason); ctx.say(`  not measured: ${reason}`); }
  for (const c of ready) outcome.labels.set(c.id, c.label);
  const logOf = (c: Contender, what: string) => path.join(ctx.dir, 'others', `${c.id}-${what}.log`);
  const fail = (c: Contender, what: string, err: unknown) => {
    if (c.id === 'mgproxy') throw err;
    const reason = `${c.label}, ${what}: ${(err as Error).message}`;
    failed.set(`${c.id}/${what}`, reason);
    outcome.notMeasured.push(reason);
    ctx.say(`  not measured: ${reason}`);
  };
  const mine: Record<string, number[]> = {};
  const theirs: Record<string, Record<string, number[]>> = {};
  const record = (c: Contender, key: string, x: number) => {
    if (c.id === 'mgproxy') (mine[key] ??= []).push(x);
    else ((theirs[key] ??= {})[c.id] ??= []).push(x);
  };

  // 1. Idle WSS, each on a fresh process (its first start also writes its CA).
  for (const c of ready) {
    try {
      const p = await start(c, ctx.direct, logOf(c, 'idle'));
      try {
        record(c, 'idle', await within(300_000, `${c.label} idle WSS`, idleKiBEach(p, ctx.sizes.idleSockets, ctx.say, c.label)));
      } finally {
        await p.stop();
      }
    } catch (err) { fail(c, 'idle WSS', err); }
  }

  // 2. Start → first CONNECT answered, the proxies in turn in each round.
  for (let i = 0; i < ctx.sizes.startups; i++) {
    for (const c of ready) {
      if (failed.has(`${c.id}/start`)) continue;
      try {
        record(c, 'start', await timeProxyStart((port) => c.command(port), logOf(c, 'start')));
      } catch (err) { fail(c, 'start', err); }
    }
  }
  for (const c of ready) {
    const xs = c.id === 'mgproxy' ? mine.start : theirs.start?.[c.id];
    if (xs) ctx.say(`  start → first CONNECT answered, ${c.label}: ${xs.map((x) => x.toFixed(0)).join(', ')} ms`);
  }

  // 3. Small GETs: every proxy up at once, in turn within each round (noise hits all of them).
  const running: [Contender, Running][] = [];
  try {
    for (const c of ready) {
      try { running.push([c, await start(c, ctx.direct, logOf(c, 'load'))]); } catch (err) { fail(c, 'small GETs', err); }
    }
    const load = (p: Running, connections: number, warmupMs: number, durationMs: number, cpu: boolean) =>
      within(120_000, `small GETs c=${connections}`, runLoad(p.route, { host: HOSTS.api, path: '/small', headers: HEADERS, connections, warmupMs, durationMs, ...(cpu ? { cpuPid: p.pid } : {}) }));
    const alive = new Set(running.map(([c]) => c.id));
    if (!ctx.quick) {
      // Not counted, as run.ts's warm-up: each proxy's JIT, its first leaf and its start's leftovers.
      for (const [c, p] of running) {
        try { await load(p, 10, 0, 3000, false); } catch (err) { alive.delete(c.id); fail(c, 'small GETs', err); }
      }
    }
    for (let round = 0; round < ctx.sizes.rounds; round++) {
      for (const connections of [10, 50]) {
        for (const [c, p] of running) {
          if (!alive.has(c.id)) continue;
          try {
            const r = await load(p, connections, ctx.sizes.warmupMs, ctx.sizes.durationMs, true);
            record(c, `c${connections}-rps`, r.perSecond);
            record(c, `c${connections}-p99`, r.p99Ms);
            record(c, `c${connections}-cpu`, r.cpuUsPerRequest!);
            ctx.say(`  small GETs c=${connections}, ${c.label}: ${Math.round(r.perSecond)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, proxy CPU ${r.cpuUsPerRequest!.toFixed(0)} µs per request${r.errors ? `, ${r.errors} errors` : ''}`);
          } catch (err) { alive.delete(c.id); fail(c, 'small GETs', err); }
        }
      }
    }
  } finally {
    await Promise.all(running.map(([, p]) => p.stop()));
  }

  // Rows: each other proxy beside mgproxy; for idle and start, the best other too (lowest median).
  for (const [key, byProxy] of Object.entries(theirs)) {
    if (!mine[key]) continue;
    for (const [id, xs] of Object.entries(byProxy)) {
      for (const x of xs) put(`others-${key}-${id}`, 'direct', x);
      for (const x of mine[key]!) put(`others-${key}-${id}`, 'proxy', x);
    }
    if (key === 'idle' || key === 'start') {
      const [bestId, bestXs] = Object.entries(byProxy).sort(([, a], [, b]) => median(a) - median(b))[0]!;
      outcome.best.set(key, bestId);
      for (const x of bestXs) put(`others-${key}-best`, 'direct', x);
      for (const x of mine[key]!) put(`others-${key}-best`, 'proxy', x);
    }
  }
}

type Row = [key: string, workload: string, metric: string, unit: string, target?: { of: 'ratio'; kind: 'max'; limit: number }];

/** The table's rows for what was measured: [raw key, workload, metric, unit, target]. */
export function othersFigures(s: Sizes): Row[] {
  const rows: Row[] = [];
  const others = [...outcome.labels].filter(([id]) => id !== 'mgproxy');
  // The table's columns are direct and mgproxy: the other proxy's figure takes the direct column.
  const vs = (label: string) => `${label} in the direct column`;
  const atMostBest = { of: 'ratio', kind: 'max', limit: 1 } as const;
  for (const [key, what, metric, unit] of [
    ['start', 'start → first CONNECT answered', 'time', 'ms'],
    ['idle', `${s.idleSockets} idle WSS, fresh process`, 'proxy RSS each', 'KiB'],
  ] as const) {
    for (const [id, label] of others) rows.push([`others-${key}-${id}`, `${what}: ${vs(label)}`, metric, unit]);
    const best = outcome.best.get(key);
    if (best) rows.push([`others-${key}-best`, `${what}: the best other, ${vs(outcome.labels.get(best)!)}`, metric, unit, atMostBest]);
  }
  for (const c of [10, 50]) {
    for (const [id, label] of others) {
      rows.push([`others-c${c}-rps-${id}`, `small GETs c=${c}: ${vs(label)}`, 'throughput', 'req/s']);
      if (c === 50) rows.push([`others-c${c}-p99-${id}`, `small GETs c=${c}: ${vs(label)}`, 'p99 latency', 'ms']);
      rows.push([`others-c${c}-cpu-${id}`, `small GETs c=${c}: ${vs(label)}`, 'proxy CPU per request', 'µs']);
    }
  }
  return rows;
}

/** Lines for under the table: the proxies or figures that were not measured, and why. */
export function othersNotes(): string[] {
  return outcome.notMeasured.map((reason) => `Not measured: ${reason}`);
}
