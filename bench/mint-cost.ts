/**
 * Time to mint a leaf for a new host (build with forge, sign natively, make the TLS context),
 * in-process, for N fresh host names after the shared leaf key exists.
 * Usage: node dist/bench/mint-cost.js [N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateCa } from '../certs/ca.js';
import { CertStore } from '../certs/store.js';

const n = Number(process.argv[2] ?? 50);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-mint-'));
const { ca } = loadOrCreateCa(dir);
const store = new CertStore(ca);
await store.context('warmup.example.test');
const times: number[] = [];
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  await store.context(`host-${i}.example.test`);
  times.push(performance.now() - t0);
}
const t0 = performance.now();
for (let i = 0; i < n; i++) await store.context(`host-${i}.example.test`);
const cached = (performance.now() - t0) / n;
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
console.log(`minted ${n} hosts: median ${q(0.5)} ms, p95 ${q(0.95)} ms, min ${q(0)} ms, max ${q(1)} ms; cached lookup ${(cached * 1000).toFixed(1)} µs`);
fs.rmSync(dir, { recursive: true, force: true });
