/**
 * `npm run bench -- --only network` (docs/network.md): how exact the shaping is, and what the
 * conditions cost when they do not apply. Each figure puts the configured value beside the
 * measured one, so the table's ratio is measured / configured; the off-cost rows compare the
 * proxy with nothing set against the proxy with a rule that matches another client (every
 * exchange then asks the rules and gets no condition).
 */
import { runLoad } from './load.js';
import type { Route } from './tunnel.js';
import { download, openWs, upload, within } from './workloads.js';

/** Where the figures go: `put(key, 'direct', configured)`, `put(key, 'proxy', measured)`. */
type Put = (key: string, side: 'direct' | 'proxy', x: number) => void;

export interface NetworkBenchOptions {
  route: Route;
  adminUrl: string;
  hosts: { api: string; ws: string };
  headers: Record<string, string>;
  /** Bytes of the rate workloads (the download at 8 Mbps; the others scale from it). */
  bytes: number;
  /**
   * Bytes of the off-cost download: the bulk workload's file, long enough (about a second) that
   * one tunnel's setup and one collector pause do not decide the figure, as they did at 8 MiB.
   */
  offCostBytes: number;
  /** Where the upstream stores uploads (bench/nginx.ts). */
  sinkDir: string;
  warmupMs: number;
  durationMs: number;
  say: (line: string) => void;
}

async function setNetwork(adminUrl: string, network: unknown): Promise<void> {
  const r = await fetch(`${adminUrl}/api/network`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(network) });
  if (r.status !== 200) throw new Error(`POST /api/network answered ${r.status}: ${await r.text()}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Milliseconds of one small GET, the fastest of `n` (load only ever adds time). */
async function smallGet(route: Route, host: string, headers: Record<string, string>, n: number): Promise<number> {
  const { clientFor } = await import('./load.js');
  const client = clientFor(route, host, {});
  try {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const { statusCode, body } = await client.request({ path: '/small', method: 'GET', headers });
      await body.text();
      if (statusCode !== 200) throw new Error(`small GET answered ${statusCode}`);
      times.push(performance.now() - t0);
    }
    return Math.min(...times);
  } finally {
    await client.destroy();
  }
}

/** Milliseconds of a 64 B WebSocket round trip, the median of `n`. */
async function wsRoundTrip(route: Route, host: string, headers: Record<string, string>, n: number): Promise<number> {
  const ws = await openWs(route, host, headers);
  try {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await within(10_000, 'WebSocket echo', new Promise<void>((resolve) => { ws.once('message', () => resolve()); ws.send(Buffer.alloc(64, 0x6d)); }));
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    ws.terminate();
  }
}

/** The download sizes benchNetwork asks for (the upstream prepares them). */
export const networkDownloadSizes = (bytes: number) => [bytes, Math.round(bytes / 8)];

export async function benchNetwork(o: NetworkBenchOptions, put: Put): Promise<void> {
  const { route, adminUrl, hosts, headers, say } = o;
  const kbpsOf = (bytes: number, mbps: number) => ((bytes * 8) / 1000) / (bytes / 1e6 / mbps);
  try {
    // Rates: custom profiles without latency (so the figure is the rate alone), then a preset as published.
    const rates: [string, { downKbps?: number; upKbps?: number; latencyMs?: number }, 'download' | 'upload', number][] = [
      ['down-8000', { downKbps: 8000 }, 'download', o.bytes],
      ['up-4000', { upKbps: 4000 }, 'upload', o.bytes / 2],
      ['down-3g', { downKbps: 780 }, 'download', Math.round(o.bytes / 8)],
      ['up-3g', { upKbps: 330 }, 'upload', Math.round(o.bytes / 16)],
    ];
    for (const [key, custom, what, bytes] of rates) {
      await setNetwork(adminUrl, { rules: [{ host: hosts.api, custom }] });
      const mbps = await within(120_000, key, what === 'download' ? download(route, hosts.api, bytes, headers) : upload(route, hosts.api, bytes, headers, o.sinkDir));
      const configured = (what === 'download' ? custom.downKbps : custom.upKbps)!;
      put(`network-${key}`, 'direct', configured);
      put(`network-${key}`, 'proxy', kbpsOf(bytes, mbps));
      say(`  network ${key}: ${kbpsOf(bytes, mbps).toFixed(0)} kbps measured, ${configured} configured (${bytes} bytes)`);
    }
    // Latency: once per HTTP exchange; per chunk each way on a WebSocket.
    await setNetwork(adminUrl, { default: 'none', rules: [] });
    const baseGet = await smallGet(route, hosts.api, headers, 10);
    const baseWs = await wsRoundTrip(route, hosts.ws, headers, 10);
    await setNetwork(adminUrl, { rules: [{ custom: { latencyMs: 100 } }] });
    const slowGet = await smallGet(route, hosts.api, headers, 10);
    const slowWs = await wsRoundTrip(route, hosts.ws, headers, 10);
    put('network-latency-http', 'direct', 100);
    put('network-latency-http', 'proxy', slowGet - baseGet);
    put('network-latency-ws', 'direct', 100);
    put('network-latency-ws', 'proxy', (slowWs - baseWs) / 2);
    say(`  network latency 100 ms: +${(slowGet - baseGet).toFixed(1)} ms per HTTP exchange, +${((slowWs - baseWs) / 2).toFixed(1)} ms per WebSocket direction`);
    // Off-cost: nothing set against rules for another client and another host, alternated three
    // times; the better of each (on a shared machine, load only ever takes throughput away).
    const sides = [['direct', { default: 'none', rules: [] }], ['proxy', { rules: [{ client: '127.0.0.9', preset: 'slow-3g' }, { host: 'other.bench.test', fault: { type: 'hang' } }] }]] as const;
    const best: Record<string, { rps: number; mbps: number }> = { direct: { rps: 0, mbps: 0 }, proxy: { rps: 0, mbps: 0 } };
    for (let i = 0; i < 3; i++) {
      for (const [side, network] of sides) {
        await setNetwork(adminUrl, network);
        const r = await within(60_000, 'small GETs', runLoad(route, { host: hosts.api, path: '/small', headers, connections: 10, warmupMs: o.warmupMs, durationMs: o.durationMs }));
        const mbps = await within(120_000, 'download', download(route, hosts.api, o.offCostBytes, headers));
        best[side]!.rps = Math.max(best[side]!.rps, r.perSecond);
        best[side]!.mbps = Math.max(best[side]!.mbps, mbps);
      }
    }
    for (const [side] of sides) {
      put('network-off-rps', side, best[side]!.rps);
      put('network-off-MBps', side, best[side]!.mbps);
      say(`  network off-cost ${side === 'direct' ? 'nothing set' : 'rules for others'}: ${Math.round(best[side]!.rps)} req/s, ${best[side]!.mbps.toFixed(0)} MB/s`);
    }
  } finally {
    await setNetwork(adminUrl, { default: 'none', rules: [] });
  }
}
