/**
 * The CA and the minted leaves (docs/phones.md, docs/tls-audit.md): what a phone checks, seen through a
 * real TLS handshake with the proxy.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import forge from 'node-forge';
import { runCli, startProxy, tempDir, type ProxyProcess } from './helpers/proxy.js';
import { tlsTunnel } from './helpers/clients.js';
import { CLIENT_KINDS, RSA_ONLY } from './helpers/leaves.js';
import { keyOf, signatureAlgorithmOf } from '../certs/audit/describe.js';

const DAY = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

async function leafFor(proxy: ProxyProcess, host: string, port = 443, options: TlsOptions = {}): Promise<X509Certificate> {
  const s = await tlsTunnel(proxy.port, host, port, proxy.caPem, options);
  const cert = s.getPeerX509Certificate()!;
  s.destroy();
  return cert;
}

const signatureOid = (cert: X509Certificate) => forge.pki.certificateFromPem(cert.toString()).siginfo.algorithmOid;

/** The keyUsage extension as OpenSSL prints it (Node's X509Certificate shows only the extended key usage). */
function keyUsageText(cert: X509Certificate): string {
  const out = execFileSync('openssl', ['x509', '-noout', '-ext', 'keyUsage'], { input: cert.toString(), timeout: 30_000 }).toString();
  return out.split('\n').slice(1).join(' ').trim();
}

describe('CA', () => {
  it('is created on first use with a 0600 key, in a 0700 folder, and reused after', async () => {
    const caDir = path.join(tempDir(), 'ca');
    const first = await runCli(['ca', '--ca-dir', caDir]);
    assert.equal(first.code, 0);
    assert.equal(first.stdout.trim(), path.join(caDir, 'ca.pem'));
    assert.deepEqual(fs.readdirSync(caDir).sort(), ['ca-key.pem', 'ca.pem']);
    assert.equal(fs.statSync(path.join(caDir, 'ca-key.pem')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(caDir).mode & 0o777, 0o700);
    const pem = fs.readFileSync(path.join(caDir, 'ca.pem'), 'utf8');
    const p = await startProxy({ caDir });
    await p.stop();
    const p2 = await startProxy({ caDir });
    await p2.stop();
    assert.equal(fs.readFileSync(path.join(caDir, 'ca.pem'), 'utf8'), pem, 'reused across restarts');
  });

  it('tightens a key file someone loosened', async () => {
    const caDir = path.join(tempDir(), 'ca');
    await runCli(['ca', '--ca-dir', caDir]);
    fs.chmodSync(path.join(caDir, 'ca-key.pem'), 0o644);
    await runCli(['ca', '--ca-dir', caDir]);
    assert.equal(fs.statSync(path.join(caDir, 'ca-key.pem')).mode & 0o777, 0o600);
  });

  it('--print prints the PEM; --der writes the same certificate in DER', async () => {
    const dir = tempDir();
    const caDir = path.join(dir, 'ca');
    const der = path.join(dir, 'mgproxy.crt');
    const r = await runCli(['ca', '--ca-dir', caDir, '--print', '--der', der]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, fs.readFileSync(path.join(caDir, 'ca.pem'), 'utf8'));
    assert.deepEqual(fs.readFileSync(der), new X509Certificate(r.stdout).raw);
  });

  it('is a SHA-256, RSA 2048 root valid for 10 years, basicConstraints CA:TRUE and keyCertSign critical', async () => {
    const caDir = path.join(tempDir(), 'ca');
    const { stdout } = await runCli(['ca', '--ca-dir', caDir, '--print']);
    const ca = new X509Certificate(stdout);
    assert.equal(ca.ca, true);
    assert.equal(ca.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(signatureOid(ca), forge.pki.oids.sha256WithRSAEncryption);
    const days = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / DAY;
    assert.ok(days >= 3650 && days <= 3652, `valid ${days} days`);
    assert.ok(ca.keyUsage?.includes(SERVER_AUTH));
    assert.ok(ca.subjectAltName);
    assert.ok(ca.verify(ca.publicKey), 'self-signed');
  });
});

describe('minted leaves', () => {
  let p: ProxyProcess;
  let ca: X509Certificate;
  before(async () => {
    p = await startProxy();
    ca = new X509Certificate(p.caPem);
  });
  after(async () => { await p.stop(); });

  for (const kind of CLIENT_KINDS) {
    it(`name the host in the SAN, carry serverAuth, SHA-256, ${kind.key.type === 'EC' ? 'ECDSA P-256' : 'RSA 2048'} for ${kind.client}, at most 397 days, backdated, signed by the CA`, async () => {
      const leaf = await leafFor(p, 'game.example.test', 443, kind.options);
      assert.equal(leaf.subjectAltName, 'DNS:game.example.test');
      assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
      assert.ok(leaf.keyUsage?.includes(SERVER_AUTH));
      assert.equal(leaf.ca, false);
      assert.equal(signatureAlgorithmOf(leaf).name, 'sha256WithRSAEncryption');
      assert.deepEqual(keyOf(leaf), kind.key);
      if (kind.key.type === 'EC') assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      // RFC 5480 §3: an EC key signs; keyEncipherment is for RSA key transport only.
      assert.match(keyUsageText(leaf), kind.key.type === 'EC' ? /^Digital Signature$/ : /^Digital Signature, Key Encipherment$/);
      const from = Date.parse(leaf.validFrom);
      assert.ok(Date.parse(leaf.validTo) - from <= 397 * DAY);
      assert.ok(from <= Date.now() - 12 * 3600_000, 'backdated for phones whose clocks are behind');
      assert.ok(Date.parse(leaf.validTo) <= Date.parse(ca.validTo), 'not outliving the CA');
    });
  }

  it('of one host are twins: the same name, dates and issuer, one key of each kind', async () => {
    const [ec, rsa] = await Promise.all(CLIENT_KINDS.map((k) => leafFor(p, 'twins.example.test', 443, k.options)));
    assert.deepEqual([keyOf(ec!).type, keyOf(rsa!).type], ['EC', 'RSA']);
    for (const field of ['subject', 'issuer', 'subjectAltName', 'validFrom', 'validTo'] as const) assert.equal(ec![field], rsa![field], field);
  });

  it('carry an IP SAN for IP targets (v4 and v6)', async () => {
    assert.equal((await leafFor(p, '192.168.50.5')).subjectAltName, 'IP Address:192.168.50.5');
    assert.equal((await leafFor(p, '::1')).subjectAltName, 'IP Address:0:0:0:0:0:0:0:1');
  });

  for (const kind of CLIENT_KINDS) {
    it(`use the SNI name first, else the CONNECT host (${kind.client})`, async () => {
      const { rawConnect } = await import('./helpers/clients.js');
      const tls = (await import('node:tls')).default;
      const { socket } = await rawConnect(p.port, 'connect.example.test:443');
      const s = await new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
        const t = tls.connect({ socket, servername: 'sni.example.test', ca: p.caPem, ...kind.options }, () => resolve(t));
        t.on('error', reject);
      });
      const leaf = s.getPeerX509Certificate()!;
      assert.equal(leaf.subjectAltName, 'DNS:sni.example.test');
      assert.deepEqual(keyOf(leaf), kind.key);
      s.destroy();
    });
  }

  it('use the SNI name of a ClientHello that arrives in several pieces', async () => {
    const { rawConnect } = await import('./helpers/clients.js');
    const tls = (await import('node:tls')).default;
    const { Duplex } = await import('node:stream');
    const { socket } = await rawConnect(p.port, 'connect.example.test:443');
    // The ClientHello goes out 50 bytes at a time, each write on its own, as a large hello
    // (post-quantum key shares) spans TCP segments.
    const slow = new Duplex({
      read() { socket.resume(); },
      write(chunk: Buffer, _enc, done) {
        let at = 0;
        const next = () => {
          if (at >= chunk.length) { done(); return; }
          socket.write(chunk.subarray(at, at += 50), () => setTimeout(next, 2));
        };
        next();
      },
    });
    socket.on('data', (c: Buffer) => { if (!slow.push(c)) socket.pause(); });
    socket.on('end', () => slow.push(null));
    const s = await new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
      const t = tls.connect({ socket: slow, servername: 'pieces.example.test', ca: p.caPem, ...RSA_ONLY }, () => resolve(t));
      t.on('error', reject);
    });
    const leaf = s.getPeerX509Certificate()!;
    assert.equal(leaf.subjectAltName, 'DNS:pieces.example.test');
    assert.equal(keyOf(leaf).type, 'RSA');
    s.destroy();
    socket.destroy();
  });

  it('share one key pair across hosts', async () => {
    const a = await leafFor(p, 'a.example.test');
    const b = await leafFor(p, 'b.example.test');
    assert.ok(a.publicKey.equals(b.publicKey));
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  it('are minted once for concurrent first CONNECTs to one host', async () => {
    const leaves = await Promise.all(Array.from({ length: 10 }, () => leafFor(p, 'burst.example.test')));
    assert.equal(new Set(leaves.map((l) => l.serialNumber)).size, 1);
  });

  it('never touch the disk, whatever the host name', async () => {
    await leafFor(p, 'x.example.test', 8443).catch(() => undefined);
    const { rawConnect } = await import('./helpers/clients.js');
    const { head } = await rawConnect(p.port, '../../x:443');
    assert.match(head, /^HTTP\/1\.1 400/);
    assert.deepEqual(fs.readdirSync(p.caDir).sort(), ['ca-key.pem', 'ca.pem']);
  });
});

describe('leaves of the configured domains', () => {
  it('are minted at start, after the ready line (which does not wait for them)', async () => {
    const hosts = ['api.start.test', 'cdn.start.test', 'ws.start.test'];
    const p = await startProxy({
      config: { domains: { request: [`https://${hosts[0]}`], downloadFile: [`https://${hosts[1]}`], socket: [`wss://${hosts[2]}`] } },
      args: ['--log-level', 'debug'],
    });
    try {
      const minted = await p.waitFor((l) => l.msg === 'minted the leaves of the configured domains');
      assert.equal(minted.hosts, 3);
      const ready = p.lines.findIndex((l) => /mgproxy listening on/.test(String(l.msg)));
      assert.ok(ready >= 0 && p.lines.indexOf(minted) > ready, 'logged after the ready line');
      assert.equal((await leafFor(p, hosts[0]!)).subjectAltName, `DNS:${hosts[0]}`);
    } finally {
      await p.stop();
    }
  });
});
