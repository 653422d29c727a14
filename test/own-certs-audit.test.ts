/**
 * mgproxy's own CA and the leaves it mints pass the same audit (docs/tls-audit.md, last paragraph) and
 * Apple's trust requirements: SAN, serverAuth EKU, validity ≤ 397 days, SHA-256, and RSA 2048 or
 * ECDSA P-256 for the leaves (the twin a client gets depends on what it offers); the CA a 10-year
 * root with critical basicConstraints CA:TRUE and keyCertSign. The leaves are served exactly as the
 * proxy presents them (CertStore's contexts), for a host name and for an IP address.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { keyOf, signatureAlgorithmOf } from '../certs/audit/describe.js';
import type { HostAudit } from '../certs/audit/types.js';
import { type Ca, loadOrCreateCa } from '../certs/ca.js';
import { CertStore } from '../certs/store.js';
import { helloServerName } from '../proxy/engine/client-hello.js';
import { ensureDebianTool } from './helpers/debian.js';
import { CLIENT_KINDS } from './helpers/leaves.js';
import { runCli, tempDir } from './helpers/proxy.js';

const DAY_MS = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * A TLS server presenting mgproxy's minted leaf for the name the client sends (SNI), else for
 * `fallback` (an IP address: clients send no SNI for those), as the proxy's interception does.
 */
async function serveMinted(store: CertStore, fallback: string, leaves: Map<string, X509Certificate>): Promise<{ server: net.Server; port: number }> {
  // The shape of proxy/engine/connect.ts: the ClientHello's server name and key type read ahead, and a
  // TLSSocket over the accepted socket with the leaf of that name (else the fallback's) and type.
  const server = net.createServer((raw) => {
    raw.on('error', () => undefined);
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const hello = helloServerName(seen);
      if (hello.kind === 'partial') return;
      raw.off('data', onData);
      raw.pause();
      raw.unshift(seen);
      store.context(hello.kind === 'done' && hello.name ? hello.name : fallback, hello.kind === 'done' && hello.offersEcdsa ? 'ec' : 'rsa').then((secureContext) => serve(raw, secureContext), () => raw.destroy());
    };
    raw.on('data', onData);
  });
  const serve = (raw: net.Socket, secureContext: tls.SecureContext) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext });
    socket.on('error', () => undefined);
    socket.on('secure', () => {
      const leaf = socket.getX509Certificate();
      if (leaf) leaves.set(`${leaf.subjectAltName ?? ''} ${keyOf(leaf).type}`, leaf);
      socket.end();
    });
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function assertAppleLeafRules(cert: X509Certificate, what: string): void {
  assert.ok(cert.subjectAltName, `${what}: has a subjectAltName`);
  assert.ok((cert.keyUsage ?? []).includes(SERVER_AUTH), `${what}: serverAuth EKU`);
  const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS;
  assert.ok(days <= 397, `${what}: valid ${days} days`);
  assert.equal(signatureAlgorithmOf(cert).name, 'sha256WithRSAEncryption', `${what}: SHA-256`);
  const key = keyOf(cert);
  assert.deepEqual(key, key.type === 'EC' ? { type: 'EC', bits: 256 } : { type: 'RSA', bits: 2048 }, `${what}: RSA 2048 or EC P-256`);
}

/** A handshake with a minted-leaf server as `name`, as one kind of client; the server records the leaf it presented. */
function handshake(port: number, name: string, options: tls.ConnectionOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: net.isIP(name) ? undefined : name, rejectUnauthorized: false, ...options }, () => {
      s.on('close', () => resolve());
      s.end();
    });
    s.on('error', reject);
  });
}

describe("mgproxy's own certificates", () => {
  let ca: Ca;
  const leaves = new Map<string, X509Certificate>();
  const servers: net.Server[] = [];
  let config: string;
  before(async () => {
    const dir = tempDir();
    ca = loadOrCreateCa(path.join(dir, 'ca')).ca;
    const store = new CertStore(ca);
    const named = await serveMinted(store, 'api.own.test', leaves);
    const ip = await serveMinted(store, '10.9.8.7', leaves);
    servers.push(named.server, ip.server);
    for (const kind of CLIENT_KINDS) {
      await handshake(named.port, 'api.own.test', kind.options);
      await handshake(named.port, 'ws.own.test', kind.options);
      await handshake(ip.port, '10.9.8.7', kind.options);
    }
    config = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(config, JSON.stringify({
      domains: { request: ['https://api.own.test'], socket: ['wss://ws.own.test'] },
      upstream: {
        hosts: { 'api.own.test': `127.0.0.1:${named.port}`, 'ws.own.test': `127.0.0.1:${named.port}`, '10.9.8.7': `127.0.0.1:${ip.port}` },
        extraCaFiles: [ca.certFile],
      },
    }));
  });
  after(() => { for (const s of servers) s.close(); });

  it('pass `mgproxy audit` with no finding, for names and for an IP address', async () => {
    const r = await runCli(['audit', '--config', config, '--json', 'api.own.test', 'ws.own.test', '10.9.8.7'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const hosts = (JSON.parse(r.stdout) as { hosts: HostAudit[] }).hosts;
    for (const h of hosts) {
      assert.deepEqual(h.findings, [], `${h.host}: ${JSON.stringify(h.findings)}`);
      assert.equal(h.trustedVia, 'extraCaFiles');
      // The audit's handshakes offer ECDSA, as phones do: they get the P-256 twin.
      assert.deepEqual([h.chain.length, h.chain[0]!.keyType, h.chain[0]!.keyBits, h.chain[0]!.signature], [1, 'EC', 256, 'sha256WithRSAEncryption']);
    }
    assert.deepEqual(hosts.map((h) => h.protocol), ['TLSv1.3', 'TLSv1.3', 'TLSv1.3']);
  });

  it("meet Apple's requirements: SAN, serverAuth EKU, at most 397 days, SHA-256, RSA 2048 for a client that offers only RSA, P-256 for the others", () => {
    assert.deepEqual([...leaves.keys()].sort(), [
      'DNS:api.own.test EC', 'DNS:api.own.test RSA', 'DNS:ws.own.test EC', 'DNS:ws.own.test RSA', 'IP Address:10.9.8.7 EC', 'IP Address:10.9.8.7 RSA',
    ]);
    for (const [name, leaf] of leaves) {
      assertAppleLeafRules(leaf, name);
      assert.ok(leaf.checkIssued(ca.x509) && leaf.verify(ca.x509.publicKey), `${name}: signed by the CA`);
    }
    assert.ok(ca.x509.ca, 'the CA is a CA');
    assert.equal(signatureAlgorithmOf(ca.x509).name, 'sha256WithRSAEncryption', 'the CA: SHA-256');
    assert.deepEqual(keyOf(ca.x509), { type: 'RSA', bits: 2048 }, 'the CA: RSA 2048');
  });

  it('the CA is a root for 10 years (the 398-day rule is the leaves\'), basicConstraints CA:TRUE and keyUsage keyCertSign, both critical', (t) => {
    const days = (Date.parse(ca.x509.validTo) - Date.parse(ca.x509.validFrom)) / DAY_MS;
    assert.ok(days >= 3650 && days <= 3652, `valid ${days} days`);
    const openssl = ensureDebianTool('openssl', 'openssl');
    if ('skip' in openssl) return t.skip(openssl.skip);
    const ext = execFileSync(openssl.path, ['x509', '-noout', '-ext', 'basicConstraints,keyUsage'], { input: ca.certPem, timeout: 30_000 }).toString();
    assert.match(ext, /X509v3 Basic Constraints: critical\n\s+CA:TRUE/);
    assert.match(ext, /X509v3 Key Usage: critical\n\s+.*Certificate Sign/);
  });
});
