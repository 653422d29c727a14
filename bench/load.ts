/**
 * A fixed-concurrency HTTP/1.1 load generator: one undici `Client` per connection (pipelining 1),
 * each over its own TLS connection (its own CONNECT tunnel when proxied), each sending its next
 * request as soon as the previous response has ended. Latency goes into a histogram (Node's
 * `perf_hooks.createHistogram`, in microseconds). A warm-up period opens every connection and is
 * not counted. autocannon would be the usual tool, but it cannot send through a CONNECT proxy.
 */
import { createHistogram } from 'node:perf_hooks';
import { Client } from 'undici';
import { openTls, originOf, type Route } from './tunnel.js';
import { cpuMs } from './processes.js';

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** With `cpuPid`: that process's CPU time (user + system) per counted request, in µs. */
  cpuUsPerRequest?: number;
}

export interface LoadOptions {
  host: string;
  path: string;
  headers: Record<string, string>;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** A process (the proxy) whose CPU time is read over the counted window. */
  cpuPid?: number;
}

/** The longest a warm-up waits for every connection's first answer. */
const WARMUP_MAX_MS = 20_000;

export function clientFor(route: Route, host: string, opts: { bodyTimeout?: number } = {}): Client {
  return new Client(originOf(route, host), {
    pipelining: 1,
    keepAliveTimeout: 60_000,
    bodyTimeout: opts.bodyTimeout ?? 30_000,
    headersTimeout: 30_000,
    connect: (_options, callback) => {
      openTls(route, host).then((s) => callback(null, s), (err: Error) => callback(err, null));
    },
  } as Client.Options);
}

export async function runLoad(route: Route, opts: LoadOptions): Promise<LoadResult> {
  const hist = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const clients = Array.from({ length: opts.connections }, () => clientFor(route, opts.host));
  let counting = false;
  let stopped = false;
  let requests = 0;
  let errors = 0;
  // The warm-up lasts at least warmupMs and until every connection has answered once (its tunnel,
  // leaf and upstream connection are open), bounded: on a loaded machine the first answers through
  // a new host can take longer than a quick run's whole window.
  let warmed = 0;
  let allWarm!: () => void;
  const warm = new Promise<void>((resolve) => { allWarm = resolve; });
  const loop = async (client: Client) => {
    let first = true;
    while (!stopped) {
      const t0 = performance.now();
      try {
        const { statusCode, body } = await client.request({ path: opts.path, method: 'GET', headers: opts.headers });
        await body.dump({ limit: Number.MAX_SAFE_INTEGER });
        if (statusCode !== 200) throw new Error(`status ${statusCode}`);
        if (first) {
          first = false;
          if (++warmed === clients.length) allWarm();
        }
        if (counting && !stopped) {
          hist.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          requests++;
        }
      } catch (err) {
        errors++;
        if (errors > 100) throw new Error(`too many errors; last: ${(err as Error).message}`);
      }
    }
  };
  const loops = clients.map((c) => loop(c));
  await new Promise((r) => setTimeout(r, opts.warmupMs));
  await Promise.race([warm, new Promise((r) => setTimeout(r, WARMUP_MAX_MS))]);
  counting = true;
  const t0 = performance.now();
  const cpu0 = opts.cpuPid === undefined ? 0 : cpuMs(opts.cpuPid);
  await new Promise((r) => setTimeout(r, opts.durationMs));
  stopped = true;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = opts.cpuPid === undefined ? undefined : cpuMs(opts.cpuPid) - cpu0;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.destroy()));
  if (requests === 0) throw new Error(`no request completed (${errors} errors)`);
  return {
    requests, seconds, perSecond: requests / seconds, errors,
    ...(cpu === undefined ? {} : { cpuUsPerRequest: (cpu * 1000) / requests }),
    p50Ms: hist.percentile(50) / 1000, p99Ms: hist.percentile(99) / 1000,
  };
}
