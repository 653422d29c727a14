/**
 * What the inline TLS audit costs (bench/README.md): time to first byte through the proxy
 * for the first request to a fresh host and for later ones, with the audit on and off
 * (`skipVerification`), plus the audit alone in-process. Every request opens its own CONNECT
 * tunnel, so the only difference between the columns is what the proxy does upstream.
 *
 *   npm run build && node dist/bench/tls-audit-cost.js [SAMPLES]
 *
 * Loopback only; never part of `npm test`.
 */
import https from 'node:https';
import { auditHost } from '../certs/audit/audit.js';
import { TrustStore } from '../certs/audit/trust.js';
import { tunnelAgent } from '../test/helpers/clients.js';
import { TestPki } from '../test/helpers/pki.js';
import { startProxy } from '../test/helpers/proxy.js';
import { startUpstream } from '../test/helpers/upstreams.js';

const SAMPLES = Number(process.argv[2] ?? 25);

function ttfb(proxyUrl: string, ca: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = https.get(url, { agent: tunnelAgent(proxyUrl, ca), ca }, (res) => {
      const ms = performance.now() - t0;
      if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
      res.resume();
      res.on('end', () => resolve(ms));
    });
    req.on('error', reject);
  });
}

const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]!; };
const fmt = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms (n=${xs.length})`;

async function main(): Promise<void> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: ['*.bench.test'] });
  const upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
  // One more host than samples: the first warms up (the leaf key, Node's roots, the JIT).
  const hosts = (tag: string) => Array.from({ length: SAMPLES + 1 }, (_, i) => `${tag}${i}.bench.test`);
  const rows: [string, number[]][] = [];
  try {
    for (const audit of [true, false]) {
      const tag = audit ? 'a' : 's';
      const names = hosts(tag);
      const proxy = await startProxy({
        config: {
          skipVerification: !audit,
          domains: { request: names.map((h) => `https://${h}`) },
          upstream: { hosts: Object.fromEntries(names.map((h) => [h, upstream.address])), extraCaFiles: [pki.rootFile] },
        },
      });
      try {
        await ttfb(proxy.url, proxy.caPem, `https://${names[0]}/bytes/1`);
        const first: number[] = [];
        const later: number[] = [];
        for (const h of names.slice(1)) first.push(await ttfb(proxy.url, proxy.caPem, `https://${h}/bytes/1`));
        for (let i = 0; i < SAMPLES; i++) later.push(await ttfb(proxy.url, proxy.caPem, `https://${names[1 + (i % (names.length - 1))]}/bytes/1`));
        rows.push([`first request to a fresh host, audit ${audit ? 'on ' : 'off'}`, first]);
        rows.push([`later requests to the host,    audit ${audit ? 'on ' : 'off'}`, later]);
      } finally {
        await proxy.stop();
      }
    }
    const trust = new TrustStore([{ file: pki.rootFile, pem: pki.root.certPem }]);
    trust.warm();
    const alone: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      const [host, port] = upstream.address.split(':') as [string, string];
      await auditHost({ host: `x${i}.bench.test`, port: 443, connect: { host, port: Number(port) } }, { trust, route: (h, p) => ({ host: h, port: p }) });
      alone.push(performance.now() - t0);
    }
    rows.push(['the audit alone (two handshakes + checks)   ', alone]);
  } finally {
    await upstream.close();
    pki.cleanup();
  }
  console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}, loopback upstream, a new CONNECT tunnel per request`);
  for (const [label, xs] of rows) console.log(`${label}  ${fmt(xs)}`);
}

await main();
