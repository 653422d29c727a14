/**
 * CPU per exchange of the health recorder (proxy/reports/health.ts), in-process: the same events an
 * exchange emits (start, forward, end) with and without a recorder listening, on look-alike
 * exchanges (a JSON API spread over 50 hosts). CPU time, not wall time, so that a busy machine
 * reads roughly the same.
 * Usage: node dist/bench/health-cost.js [N]
 */
import { EventEmitter } from 'node:events';
import { OriginAlpn } from '../proxy/engine/upstream/origin-alpn.js';
import type { Exchange } from '../proxy/flow/exchange.js';
import { HealthRecorder } from '../proxy/reports/health.js';

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const lookAlike = (i: number) => ({
  id: i, api: 'request', method: 'GET', url: `https://h${i % 50}.example.test/${i}`, host: `h${i % 50}.example.test`, port: 443, scheme: 'https',
  client: '127.0.0.1', isWebSocket: false, preflight: false, status: 200, responseHeaders: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  bytesIn: 0, bytesOut: 1000 + (i % 5000), outcome: 'completed', durationMs: 5 + (i % 100), violations: [], startedAt: Date.now(), state: 'ended', responseStartMs: 1,
}) as unknown as Exchange;

function run(withRecorder: boolean, n: number): number {
  const events = new EventEmitter();
  if (withRecorder) new HealthRecorder({ events, origins: new OriginAlpn(), inFlight: [], config: { caps: new Map([['tcsas', [{ apis: ['request'], max: 10 }]]]) as never, platformNames: ['tcsas'] } });
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const ex = lookAlike(i);
    events.emit('exchange-start', ex);
    events.emit('exchange-forward', ex);
    events.emit('exchange', ex);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

/**
 * µs of CPU each of `n` exchanges costs without a recorder and with one (the best of three rounds
 * each, alternated): their difference is the recorder's bookkeeping per exchange.
 */
export function healthCost(n: number): { without: number; with: number } {
  const rounds = [false, true, false, true, false, true].map((w) => [w, run(w, n)] as const);
  const best = (w: boolean) => Math.min(...rounds.filter(([x]) => x === w).map(([, us]) => us));
  return { without: best(false), with: best(true) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 300_000);
  const c = healthCost(n);
  console.log(`${n} exchanges: ${c.without.toFixed(2)} µs CPU each without a recorder, ${c.with.toFixed(2)} µs with one: the recorder costs ${(c.with - c.without).toFixed(2)} µs per exchange`);
}
