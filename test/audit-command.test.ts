/**
 * `mgproxy audit` (docs/tls-audit.md): the real CLI against real flawed servers, routed with
 * `upstream.hosts` and trusted through `extraCaFiles`; the `--json` shape, the table, exit codes,
 * unreachable hosts and timeouts as findings, bad usage.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probe } from '../certs/audit/probe.js';
import type { HostAudit } from '../certs/audit/types.js';
import { runCli, tempDir } from './helpers/proxy.js';
import { startUpstream } from './helpers/upstreams.js';
import { hostOf, startTlsWorld, TLS_CASES, tlsConfig, type TlsWorld } from './helpers/tls-cases.js';

function writeConfig(config: object): string {
  const file = path.join(tempDir(), 'mgproxy.config.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const audit = (args: string[]) => runCli(['audit', ...args], { timeoutMs: 60_000 });
const parse = (stdout: string) => JSON.parse(stdout) as { hosts: HostAudit[] };

/** A port nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('mgproxy audit against flawed servers', () => {
  let world: TlsWorld;
  let config: string;
  let all: { code: number | null; hosts: HostAudit[] };
  before(async () => {
    world = await startTlsWorld();
    config = writeConfig(tlsConfig(world));
    const r = await audit(['--config', config, '--json']);
    assert.equal(r.stderr, '');
    all = { code: r.code, hosts: parse(r.stdout).hosts };
  });
  after(async () => { await world.close(); });

  it('audits every configured domain and exits 1 when any has an error finding', () => {
    assert.equal(all.code, 1);
    assert.deepEqual(all.hosts.map((h) => h.host).sort(), TLS_CASES.map(hostOf).sort());
  });

  for (const c of TLS_CASES) {
    it(`${c.name}: ${c.ids.length ? c.ids.join(', ') : 'no finding'}`, () => {
      const h = all.hosts.find((x) => x.host === hostOf(c))!;
      assert.deepEqual(h.findings.map((f) => f.rule), c.ids);
    });
  }

  it('prints exactly the shape of docs/tls-audit.md', () => {
    for (const h of all.hosts) {
      assert.deepEqual(Object.keys(h), ['host', 'port', 'protocol', 'cipher', 'chain', 'trustedVia', 'findings']);
      assert.equal(h.port, 443);
      assert.ok(h.chain.length >= 1);
      for (const e of h.chain) {
        assert.deepEqual(Object.keys(e), ['subject', 'issuer', 'notAfter', 'keyType', 'keyBits', 'signature']);
        assert.ok(!Number.isNaN(Date.parse(e.notAfter)));
      }
      for (const f of h.findings) {
        assert.deepEqual(Object.keys(f), ['rule', 'severity', 'message', 'fix']);
        assert.equal(f.severity, f.rule.startsWith('ats-') ? 'warning' : 'error');
        assert.ok(f.fix.length > 0 && !f.fix.includes('\n'), 'a one-line fix');
      }
    }
    const good = all.hosts.find((h) => h.host === hostOf('good'))!;
    assert.equal(good.protocol, 'TLSv1.3');
    assert.equal(good.trustedVia, 'extraCaFiles');
    assert.deepEqual(good.chain.map((e) => [e.subject, e.keyType, e.keyBits, e.signature]), [
      // RFC 4514 order (last RDN first); the test PKI writes CN before O.
      ['O=mgproxy tests, CN=good.tls.test', 'RSA', 2048, 'sha256WithRSAEncryption'],
      ['O=mgproxy tests, CN=mgproxy test intermediate', 'RSA', 2048, 'sha256WithRSAEncryption'],
    ]);
    const nofs = all.hosts.find((h) => h.host === hostOf('nofs'))!;
    assert.deepEqual([nofs.protocol, nofs.cipher], ['TLSv1.2', 'AES128-GCM-SHA256']);
    assert.equal(all.hosts.find((h) => h.host === hostOf('sha1'))!.chain[0]!.signature, 'sha1WithRSAEncryption');
    assert.equal(all.hosts.find((h) => h.host === hostOf('untrusted'))!.trustedVia, null);
    assert.equal(all.hosts.find((h) => h.host === hostOf('selfsigned'))!.trustedVia, null);
    assert.equal(all.hosts.find((h) => h.host === hostOf('incomplete'))!.chain.length, 1, 'the chain the server sent');
  });

  it('says so when a chain is trusted only through extraCaFiles', () => {
    const expired = all.hosts.find((h) => h.host === hostOf('expired'))!;
    assert.match(expired.findings[0]!.message, /upstream\.extraCaFiles/);
    assert.doesNotMatch(all.hosts.find((h) => h.host === hostOf('untrusted'))!.findings[0]!.message, /extraCaFiles .*a root phones do not have/);
  });

  it('prints a table with protocol, cipher, key, signature, expiry, chain and each finding with its fix', async () => {
    const r = await audit(['--config', config, hostOf('good'), hostOf('expired'), `${hostOf('sha1')}:443`]);
    assert.equal(r.code, 1);
    const out = r.stdout;
    for (const label of ['protocol', 'cipher', 'key', 'signature', 'expires', 'chain', 'findings']) assert.match(out, new RegExp(`^  ${label} `, 'm'));
    assert.match(out, /^good\.tls\.test:443 → 127\.0\.0\.1:\d+$/m);
    assert.match(out, /RSA 2048/);
    assert.match(out, /in \d+ days/);
    assert.match(out, /expired \d+ days ago/);
    assert.match(out, /error +tls-expired/);
    assert.match(out, /warning +ats-weak-signature/);
    assert.match(out, /fix: renew the certificate/);
    assert.match(out, /3 hosts audited: 1 with errors, 1 with warnings only, 1 clean/);
  });

  it('exits 0 when the findings are warnings only', async () => {
    const r = await audit(['--config', config, '--json', hostOf('sha1'), hostOf('rsa1024'), hostOf('nofs')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout).hosts.map((h) => h.findings.map((f) => f.rule)), [['ats-weak-signature'], ['ats-weak-key'], ['ats-no-forward-secrecy']]);
  });

  it('completes a short chain with an intermediate another host sent, and calls it incomplete', async () => {
    const rootOnly = writeConfig({ ...tlsConfig(world), upstream: { hosts: world.hosts, extraCaFiles: [world.pki.rootFile] } });
    const r = await audit(['--config', rootOnly, '--json', hostOf('incomplete'), hostOf('good')]);
    const incomplete = parse(r.stdout).hosts[0]!;
    assert.deepEqual(incomplete.findings.map((f) => f.rule), ['tls-chain-incomplete']);
    assert.match(incomplete.findings[0]!.message, /good\.tls\.test sent/);
    assert.equal(incomplete.trustedVia, 'extraCaFiles');
    // Alone, nothing can supply the intermediate: the chain cannot be shown to be merely short.
    const alone = parse((await audit(['--config', rootOnly, '--json', hostOf('incomplete')])).stdout).hosts[0]!;
    assert.deepEqual(alone.findings.map((f) => f.rule), ['tls-untrusted']);
    assert.match(alone.findings[0]!.message, /if it is an intermediate, the server must send it/);
  });

  it("fetches a missing intermediate from the leaf's caIssuers URL, routed by upstream.hosts, and calls the chain incomplete", async () => {
    const leaf = world.pki.leaf({ names: ['aia.tls.test'], caIssuers: 'http://ca.aia.test/intermediate.der' });
    const tlsServer = await startUpstream({ cert: leaf.certPem, key: leaf.keyPem });
    const fetched: string[] = [];
    const ca = http.createServer((req, res) => {
      fetched.push(`${req.headers.host}${req.url}`);
      res.writeHead(200, { 'content-type': 'application/pkix-cert' });
      res.end(world.pki.intermediate.x509.raw);
    });
    await new Promise<void>((r) => ca.listen(0, '127.0.0.1', r));
    try {
      const cfg = writeConfig({
        domains: { request: ['https://aia.tls.test'] },
        upstream: { hosts: { 'aia.tls.test': tlsServer.address, 'ca.aia.test': `127.0.0.1:${(ca.address() as AddressInfo).port}` }, extraCaFiles: [world.pki.rootFile] },
      });
      const r = await audit(['--config', cfg, '--json']);
      const h = parse(r.stdout).hosts[0]!;
      assert.deepEqual(h.findings.map((f) => f.rule), ['tls-chain-incomplete']);
      assert.match(h.findings[0]!.message, /caIssuers URL http:\/\/ca\.aia\.test\/intermediate\.der/);
      assert.equal(h.trustedVia, 'extraCaFiles');
      assert.deepEqual(fetched, ['ca.aia.test/intermediate.der']);
    } finally {
      ca.close();
      await tlsServer.close();
    }
  });

  it('audits socket domains too', async () => {
    const socketOnly = writeConfig({ domains: { socket: [`wss://${hostOf('good')}`] }, upstream: { hosts: world.hosts, extraCaFiles: world.caFiles } });
    const r = await audit(['--config', socketOnly, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout).hosts.map((h) => [h.host, h.findings.length]), [[hostOf('good'), 0]]);
  });
});

describe('mgproxy audit: unreachable hosts and bad usage', () => {
  it('reports a refused connection and a server that speaks no TLS as tls-unreachable, exit 1', async () => {
    const plain = http.createServer((_req, res) => res.end('plain'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const config = writeConfig({
        domains: { request: ['https://down.tls.test', 'https://plain.tls.test'] },
        upstream: { hosts: { 'down.tls.test': `127.0.0.1:${await freePort()}`, 'plain.tls.test': `127.0.0.1:${(plain.address() as AddressInfo).port}` } },
      });
      const r = await audit(['--config', config, '--json']);
      assert.equal(r.code, 1);
      const hosts = parse(r.stdout).hosts;
      assert.deepEqual(hosts.map((h) => [h.host, h.protocol, h.chain.length, h.trustedVia, h.findings.map((f) => f.rule)]), [
        ['down.tls.test', null, 0, null, ['tls-unreachable']],
        ['plain.tls.test', null, 0, null, ['tls-unreachable']],
      ]);
      assert.match(hosts[0]!.findings[0]!.message, /ECONNREFUSED/);
      assert.match(hosts[1]!.findings[0]!.message, /no TLS handshake/);
    } finally {
      plain.close();
    }
  });

  it('bounds a probe that gets no answer', async () => {
    const silent = net.createServer((s) => { s.on('error', () => undefined); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const result = await probe({ host: 'silent.tls.test', port: 443, connect: { host: '127.0.0.1', port } }, 300);
      assert.deepEqual([result.best.ok, result.tls12.ok], [false, false]);
      assert.equal(!result.best.ok && result.best.stage, 'timeout');
    } finally {
      silent.close();
    }
  });

  for (const [args, why] of [
    [['bad host:99999'], /"bad host:99999" is not HOST or HOST:PORT/],
    [['example.test:0'], /is not HOST or HOST:PORT/],
    [['--bogus'], /Unknown argument/],
    [[], /no hosts to audit/],
  ] as const) {
    it(`refuses ${JSON.stringify(args)} with one line and exit 2`, async () => {
      const r = await runCli(['audit', ...args], { cwd: tempDir() });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }

  it('refuses a config with errors, exit 2', async () => {
    const r = await runCli(['audit', '--config', writeConfig({ mode: 'loud' }), 'example.test']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config-schema mode/);
  });
});
