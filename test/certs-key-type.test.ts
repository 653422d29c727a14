/**
 * The leaf a client gets follows what its ClientHello offers (docs/certificates.md): the P-256 twin
 * for a client that offers ECDSA, the RSA one for a client that offers only RSA, each minted on its
 * own when the first client needing it comes, both signed by the one CA. Seen through real
 * handshakes of the three TLS stacks phones and tools use (OpenSSL's s_client, GnuTLS's gnutls-cli,
 * NSS's tstclnt) and Node's, and through the proxy's own debug line for each leaf it mints.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type tls from 'node:tls';
import { keyOf } from '../certs/audit/describe.js';
import { loadOrCreateCa } from '../certs/ca.js';
import { tlsTunnel } from './helpers/clients.js';
import { ensureDebianTool } from './helpers/debian.js';
import { RSA_ONLY } from './helpers/leaves.js';
import { startProxy, tempDir, type LogLine, type ProxyProcess } from './helpers/proxy.js';
import { tunnelRelay } from './helpers/tunnel-relay.js';

const minted = (p: ProxyProcess, host: string): LogLine[] => p.lines.filter((l) => l.msg === 'minted a leaf' && l.host === host);

/** A GET inside the TLS tunnel; resolves once the proxy logged the exchange (default config: a 403 from the allowlist, no upstream). */
async function getAndWait(p: ProxyProcess, s: tls.TLSSocket, host: string, pathName: string): Promise<void> {
  s.write(`GET ${pathName} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  await p.waitFor((l) => l.msg === 'exchange' && l.url === `https://${host}${pathName}`);
  s.destroy();
}

/** Resolves once the wall clock is in a later second than `t` (certificate dates have one-second resolution). */
async function pastSecondOf(t: number): Promise<void> {
  const next = Math.floor(t / 1000) * 1000 + 1000;
  while (Date.now() < next) await new Promise((r) => setTimeout(r, next - Date.now() + 5));
}

describe('the leaf follows what the ClientHello offers', () => {
  let p: ProxyProcess;
  let ca: X509Certificate;
  before(async () => {
    p = await startProxy({ args: ['--log-level', 'debug'] });
    ca = new X509Certificate(p.caPem);
  });
  after(async () => { await p.stop(); });

  it('a first ECDSA client mints exactly one leaf, P-256; an RSA-only client then mints the RSA twin, same CA and dates', async () => {
    const host = 'once.example.test';
    const first = await tlsTunnel(p.port, host, 443, p.caPem);
    const ec = first.getPeerX509Certificate()!;
    // The exchange line comes after anything the handshake logged: one mint, of the P-256 leaf.
    await getAndWait(p, first, host, '/first');
    assert.deepEqual(minted(p, host).map((l) => l.key), ['ec']);
    assert.deepEqual(keyOf(ec), { type: 'EC', bits: 256 });

    // The twin minted in a later second still carries the first one's dates (one clock reading per host).
    await pastSecondOf(Date.parse(String(minted(p, host)[0]!.time)));
    const second = await tlsTunnel(p.port, host, 443, p.caPem, RSA_ONLY);
    const rsa = second.getPeerX509Certificate()!;
    await getAndWait(p, second, host, '/second');
    assert.deepEqual(minted(p, host).map((l) => l.key), ['ec', 'rsa']);
    assert.deepEqual(keyOf(rsa), { type: 'RSA', bits: 2048 });
    for (const leaf of [ec, rsa]) assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by the CA');
    for (const field of ['subject', 'issuer', 'subjectAltName', 'validFrom', 'validTo'] as const) assert.equal(ec[field], rsa[field], field);
    assert.notEqual(ec.serialNumber, rsa.serialNumber);

    // Each twin is cached: further clients of either kind mint nothing.
    const again = await Promise.all([tlsTunnel(p.port, host, 443, p.caPem), tlsTunnel(p.port, host, 443, p.caPem, RSA_ONLY)]);
    assert.deepEqual(again.map((s) => s.getPeerX509Certificate()!.serialNumber), [ec.serialNumber, rsa.serialNumber]);
    await getAndWait(p, again[0]!, host, '/third');
    again[1]!.destroy();
    assert.equal(minted(p, host).length, 2);
  });
});

describe('the curves a client lists', () => {
  let p: ProxyProcess;
  before(async () => { p = await startProxy(); });
  after(async () => { await p.stop(); });

  const cases = [
    // RFC 8422 §5.1.1: in TLS 1.2 an ECDSA certificate must be on a curve the client listed.
    { what: 'TLS 1.2 without P-256 among its groups gets the RSA leaf', options: { maxVersion: 'TLSv1.2', ecdhCurve: 'X25519' }, key: 'RSA' },
    { what: 'TLS 1.2 with P-256 among its groups gets the P-256 leaf', options: { maxVersion: 'TLSv1.2', ecdhCurve: 'X25519:P-256' }, key: 'EC' },
    // RFC 8446 §4.2.3: in TLS 1.3 the signature scheme names the curve; the groups are for the key exchange only.
    { what: 'TLS 1.3 without P-256 among its groups still gets the P-256 leaf', options: { minVersion: 'TLSv1.3', ecdhCurve: 'X25519' }, key: 'EC' },
  ] as const;
  for (const c of cases) {
    it(c.what, async () => {
      const s = await tlsTunnel(p.port, `curves-${cases.indexOf(c)}.example.test`, 443, p.caPem, c.options);
      assert.equal(keyOf(s.getPeerX509Certificate()!).type, c.key);
      s.destroy();
    });
  }
});

/** A client stack as a command line: `args(port, host)` connects to 127.0.0.1:port (a CONNECT relay) naming `host`, trusting `caFile`. */
interface Stack {
  name: string;
  tool: { path: string } | { skip: string };
  /** Each kind of ClientHello, with the key it must get. */
  clients: { what: string; key: 'EC' | 'RSA'; args: string[] }[];
  args(port: number, host: string, caFile: string, extra: string[]): string[];
}

const openssl = ensureDebianTool('openssl', 'openssl');
const gnutls = ensureDebianTool('gnutls-cli', 'gnutls-bin');
const tstclnt = ensureDebianTool('tstclnt', 'libnss3-tools');
const certutil = ensureDebianTool('certutil', 'libnss3-tools');

/** A temp NSS db trusting `caFile` as an SSL CA. */
async function nssDb(caFile: string, dir: string): Promise<string> {
  const db = fs.mkdtempSync(path.join(dir, 'nssdb-'));
  for (const args of [['-N', '-d', `sql:${db}`, '--empty-password'], ['-A', '-n', 'mgproxy', '-t', 'C,,', '-i', caFile, '-d', `sql:${db}`]]) {
    const r = await runTool((certutil as { path: string }).path, args);
    assert.equal(r.code, 0, r.output);
  }
  return db;
}

const nssDbs = new Map<string, Promise<string>>();

const STACKS: Stack[] = [
  {
    name: 'OpenSSL (s_client)',
    tool: openssl,
    clients: [
      { what: 'TLS 1.3, its defaults', key: 'EC', args: [] },
      { what: 'TLS 1.2, its defaults', key: 'EC', args: ['-tls1_2'] },
      { what: 'TLS 1.2, RSA signature algorithms and an ECDHE_RSA suite only', key: 'RSA', args: ['-tls1_2', '-sigalgs', 'RSA-PSS+SHA256:RSA+SHA256', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'] },
      // RFC 5246 §7.4.2: in TLS 1.2 the suite names the server's key; ECDSA signature algorithms alone do not do.
      { what: 'TLS 1.2, ECDSA signature algorithms but an ECDHE_RSA suite only', key: 'RSA', args: ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'] },
      { what: 'TLS 1.3, RSA signature algorithms only', key: 'RSA', args: ['-tls1_3', '-sigalgs', 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256'] },
    ],
    args: (port, host, caFile, extra) => ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', host, '-CAfile', caFile,
      '-verify_return_error', '-verify_hostname', host, '-showcerts', ...extra],
  },
  {
    name: 'GnuTLS (gnutls-cli)',
    tool: gnutls,
    clients: [
      { what: 'its defaults', key: 'EC', args: [] },
      { what: 'RSA signature algorithms only', key: 'RSA', args: ['--priority', 'NORMAL:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-PSS-RSAE-SHA256'] },
    ],
    args: (port, host, caFile, extra) => ['-p', String(port), '--x509cafile', caFile, '--sni-hostname', host, '--verify-hostname', host, '--print-cert', ...extra, '127.0.0.1'],
  },
  {
    name: 'NSS (tstclnt)',
    tool: 'skip' in certutil ? certutil : tstclnt,
    clients: [
      { what: 'its defaults', key: 'EC', args: [] },
      { what: 'RSA signature schemes only', key: 'RSA', args: ['-J', 'rsa_pss_rsae_sha256,rsa_pkcs1_sha256'] },
    ],
    // -Q: quit after the handshake; -C three times: the chain as PEM. The db is where trust comes from.
    args: (port, host, caFile, extra) => ['-h', '127.0.0.1', '-p', String(port), '-a', host, '-d', `sql:${caFile}`, '-Q', '-C', '-C', '-C', ...extra],
  },
];

interface ToolResult { code: number | null; output: string }

/** Runs a client with its stdin closed (each then ends after the handshake), bounded in time. */
function runTool(bin: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output: `${bin} ${args.join(' ')} → ${code}\n${output}` }); });
  });
}

const firstPem = (output: string): X509Certificate | undefined => {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output);
  return m ? new X509Certificate(m[0]) : undefined;
};

describe('OpenSSL, GnuTLS and NSS clients get the leaf of the key they offer, and accept it', () => {
  let p: ProxyProcess;
  let ca: X509Certificate;
  let dir: string;
  let otherCaFile: string;
  before(async () => {
    p = await startProxy({ args: ['--log-level', 'debug'] });
    ca = new X509Certificate(p.caPem);
    dir = tempDir();
    otherCaFile = loadOrCreateCa(path.join(dir, 'other-ca')).ca.certFile;
  });
  after(async () => { await p.stop(); });

  /** The trust argument for `stack`: a CA file, or for NSS a db trusting it. */
  const trust = (stack: Stack, caFile: string): Promise<string> => {
    if (!stack.name.startsWith('NSS')) return Promise.resolve(caFile);
    let db = nssDbs.get(caFile);
    if (!db) nssDbs.set(caFile, db = nssDb(caFile, dir));
    return db;
  };

  async function handshake(stack: Stack, host: string, caFile: string, extra: string[]): Promise<ToolResult> {
    const relay = await tunnelRelay(p.port, `${host}:443`);
    try {
      return await runTool((stack.tool as { path: string }).path, stack.args(relay.port, host, await trust(stack, caFile), extra));
    } finally {
      await relay.close();
    }
  }

  STACKS.forEach((stack, s) => {
    describe(stack.name, () => {
      const skip = 'skip' in stack.tool ? stack.tool.skip : undefined;
      stack.clients.forEach((client, c) => {
        it(`${client.what}: ${client.key === 'EC' ? 'the P-256' : 'the RSA'} leaf, minted for it, signed by the CA`, { skip }, async () => {
          const host = `s${s}-c${c}.example.test`;
          const r = await handshake(stack, host, p.caFile, client.args);
          assert.equal(r.code, 0, r.output);
          const leaf = firstPem(r.output);
          assert.ok(leaf, r.output);
          assert.equal(leaf.subjectAltName, `DNS:${host}`);
          assert.equal(keyOf(leaf).type, client.key, r.output);
          assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by the CA');
          const mint = await p.waitFor((l) => l.msg === 'minted a leaf' && l.host === host);
          assert.equal(mint.key, client.key === 'EC' ? 'ec' : 'rsa');
          assert.equal(minted(p, host).length, 1);
        });
      });
      it('refuses the leaf when trusting another CA (the check can fail)', { skip }, async () => {
        const r = await handshake(stack, `s${s}-other.example.test`, otherCaFile, []);
        assert.notEqual(r.code, 0, r.output);
      });
    });
  });
});
