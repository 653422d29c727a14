/**
 * Time to mint a leaf for a new host (write and sign the certificate, make the TLS context),
 * in-process, for N fresh host names after the leaf key pairs exist: the P-256 leaf (what a
 * client offering ECDSA gets on its first handshake), then the RSA one (a client offering only RSA).
 * Usage: node dist/bench/mint-cost.js [N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateCa } from '../certs/ca.js';
import { CertStore, type LeafKeyType } from '../certs/store.js';

const n = Number(process.argv[2] ?? 50);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-mint-'));
const { ca } = loadOrCreateCa(dir);
const store = new CertStore(ca);
for (const type of ['ec', 'rsa'] as LeafKeyType[]) {
  await store.context(`warmup-${type}.example.test`, type);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await store.context(`host-${type}-${i}.example.test`, type);
    times.push(performance.now() - t0);
  }
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await store.context(`host-${type}-${i}.example.test`, type);
  const cached = (performance.now() - t0) / n;
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
  console.log(`minted ${n} hosts, ${type === 'ec' ? 'P-256' : 'RSA 2048'} leaf: median ${q(0.5)} ms, p95 ${q(0.95)} ms, min ${q(0)} ms, max ${q(1)} ms; cached lookup ${(cached * 1000).toFixed(1)} µs`);
}
fs.rmSync(dir, { recursive: true, force: true });
