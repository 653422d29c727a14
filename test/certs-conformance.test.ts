/**
 * The conformance matrix (docs/phones.md, "After upgrading"): the CA and every kind of leaf the proxy presents (each in
 * its RSA 2048 form and its ECDSA P-256 twin), verified by
 * three independent X.509 implementations from Debian's packages (Chromium, the fourth, runs in
 * browser-proxy.test.ts): OpenSSL (`openssl verify -x509_strict -purpose sslserver`, with the name),
 * GnuTLS (`certtool --verify`, medium profile, the name, serverAuth) and NSS (`vfychain -pp`,
 * libpkix, SSL server usage, against a temp NSS db that trusts the CA). Each stack must also refuse
 * a leaf checked against another CA, so a tool that accepts everything cannot pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadOrCreateCa } from '../certs/ca.js';
import { ensureDebianTool } from './helpers/debian.js';
import { CLIENT_KINDS, LEAF_KINDS, presentedLeaf } from './helpers/leaves.js';
import { startProxy, tempDir, type ProxyProcess } from './helpers/proxy.js';

interface Verdict { ok: boolean; output: string }

function run(bin: string, args: string[]): Verdict {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0, output: `${bin} ${args.join(' ')} → ${r.status}\n${r.stdout}${r.stderr}` };
}

type Stack = {
  name: string;
  tool: { path: string } | { skip: string };
  /** Verifies `leafFile` (PEM) against the CA in `caFile`, for the name `name` when given. */
  verify(bin: string, caFile: string, leafFile: string, name: string | undefined, dir: string): Verdict;
  verifyCa(bin: string, caFile: string, dir: string): Verdict;
};

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

const nssDbs = new Map<string, string>();
/** A temp NSS db trusting `caFile` as an SSL CA (certutil from the same package as vfychain). */
function nssDb(certutil: string, caFile: string, dir: string): string {
  let db = nssDbs.get(caFile);
  if (db) return db;
  db = fs.mkdtempSync(path.join(dir, 'nssdb-'));
  for (const args of [['-N', '-d', `sql:${db}`, '--empty-password'], ['-A', '-n', 'mgproxy', '-t', 'C,,', '-i', caFile, '-d', `sql:${db}`]]) {
    const r = run(certutil, args);
    assert.ok(r.ok, r.output);
  }
  nssDbs.set(caFile, db);
  return db;
}

const certutil = ensureDebianTool('certutil', 'libnss3-tools');

const STACKS: Stack[] = [
  {
    name: 'OpenSSL',
    tool: ensureDebianTool('openssl', 'openssl'),
    verify: (bin, ca, leaf, name) => run(bin, ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', ca,
      ...(name === undefined ? [] : name.includes(':') || /^[\d.]+$/.test(name) ? ['-verify_ip', name] : ['-verify_hostname', name]), leaf]),
    verifyCa: (bin, ca) => run(bin, ['verify', '-x509_strict', '-CAfile', ca, ca]),
  },
  {
    name: 'GnuTLS',
    tool: ensureDebianTool('certtool', 'gnutls-bin'),
    verify: (bin, ca, leaf, name) => run(bin, ['--verify', '--verify-profile', 'medium', '--load-ca-certificate', ca, '--infile', leaf,
      '--verify-purpose', SERVER_AUTH, ...(name === undefined ? [] : ['--verify-hostname', name])]),
    verifyCa: (bin, ca) => run(bin, ['--verify', '--verify-profile', 'medium', '--load-ca-certificate', ca, '--infile', ca]),
  },
  {
    name: 'NSS',
    tool: 'skip' in certutil ? certutil : ensureDebianTool('vfychain', 'libnss3-tools'),
    // -pp: libpkix, the path builder Firefox and Chromium-on-Linux's NSS used; -u 1: SSL server.
    verify: (bin, ca, leaf, _name, dir) => run(bin, ['-d', `sql:${nssDb((certutil as { path: string }).path, ca, dir)}`, '-pp', '-u', '1', '-a', leaf]),
    // -u L: SSL CA.
    verifyCa: (_bin, ca, dir) => run((certutil as { path: string }).path, ['-V', '-n', 'mgproxy', '-u', 'L', '-d', `sql:${nssDb((certutil as { path: string }).path, ca, dir)}`]),
  },
];

describe('conformance: OpenSSL, GnuTLS and NSS accept the CA and every kind of leaf', () => {
  let p: ProxyProcess;
  let dir: string;
  let otherCa: string;
  const leaves = new Map<string, string>();
  before(async () => {
    p = await startProxy();
    dir = tempDir();
    otherCa = loadOrCreateCa(path.join(dir, 'other-ca')).ca.certFile;
    for (const [kind, host] of Object.entries(LEAF_KINDS)) {
      for (const client of CLIENT_KINDS) {
        const leaf: X509Certificate = await presentedLeaf(p, host, client.options);
        assert.equal(leaf.publicKey.asymmetricKeyType, client.key.type.toLowerCase(), `${kind} for ${client.client}`);
        const file = path.join(dir, `${kind.replace(/\W/g, '-')}-${client.key.type}.pem`);
        fs.writeFileSync(file, leaf.toString());
        leaves.set(`${kind} ${client.key.type}`, file);
      }
    }
  });
  after(async () => { await p?.stop(); });

  for (const stack of STACKS) {
    describe(stack.name, () => {
      const bin = 'path' in stack.tool ? stack.tool.path : undefined;
      const skip = (t: { skip(m: string): void }) => { t.skip((stack.tool as { skip: string }).skip); };
      it('the CA', (t) => {
        if (!bin) return skip(t);
        const v = stack.verifyCa(bin, p.caFile, dir);
        assert.ok(v.ok, v.output);
      });
      for (const [kind, host] of Object.entries(LEAF_KINDS)) {
        for (const type of ['RSA', 'EC'] as const) {
          it(`the ${kind} leaf, ${type === 'EC' ? 'ECDSA P-256' : 'RSA 2048'}`, (t) => {
            if (!bin) return skip(t);
            const name = host.replace(/\.$/, '');
            const v = stack.verify(bin, p.caFile, leaves.get(`${kind} ${type}`)!, name, dir);
            assert.ok(v.ok, v.output);
          });
        }
      }
      it('refuses a leaf checked against another CA (the check can fail)', (t) => {
        if (!bin) return skip(t);
        const v = stack.verify(bin, otherCa, leaves.get('plain EC')!, undefined, dir);
        assert.ok(!v.ok, v.output);
      });
    });
  }
});
