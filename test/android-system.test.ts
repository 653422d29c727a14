/**
 * `mgproxy ca --android-system DIR` (docs/commands.md): the CA as `<subject_hash_old>.0`, the hash computed
 * in-process and checked here against the real `openssl x509 -subject_hash_old`.
 */
import assert from 'node:assert/strict';
import { ensureDebianTool } from './helpers/debian.js';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { subjectHashOld } from '../certs/android.js';
import { runCli, tempDir } from './helpers/proxy.js';

const opensslTool = ensureDebianTool('openssl', 'openssl');
const openssl = (args: string[], input?: string) => {
  if ('skip' in opensslTool) throw new Error(`the test needs openssl: ${opensslTool.skip}`);
  return execFileSync(opensslTool.path, args, { input, timeout: 30_000 }).toString().trim();
};
const opensslHash = (pemFile: string) => openssl(['x509', '-subject_hash_old', '-noout', '-in', pemFile]);
const derOf = (pem: string) => new X509Certificate(pem).raw;

describe('mgproxy ca --android-system', () => {
  it('writes <subject_hash_old>.0 holding the CA, named as openssl names it', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'android', 'nested');
    const r = await runCli(['ca', '--ca-dir', path.join(dir, 'ca'), '--android-system', out]);
    assert.equal(r.code, 0, r.stderr);
    const caFile = path.join(dir, 'ca', 'ca.pem');
    assert.equal(r.stdout.trim(), caFile, 'stdout still names the CA certificate');
    const files = fs.readdirSync(out);
    assert.deepEqual(files, [`${opensslHash(caFile)}.0`]);
    assert.match(files[0]!, /^[0-9a-f]{8}\.0$/);
    const written = fs.readFileSync(path.join(out, files[0]!), 'utf8');
    assert.deepEqual(derOf(written), derOf(fs.readFileSync(caFile, 'utf8')), 'the .0 file is the CA');
    assert.equal(fs.statSync(path.join(out, files[0]!)).mode & 0o777, 0o644);
    assert.match(r.stderr, new RegExp(`wrote .*${files[0]!.replace('.', '\\.')}`));
    assert.ok(!fs.readdirSync(out).some((f) => /key/.test(f)), 'no key next to it');
  });

  it('refuses an empty folder name with one line and exit 2', async () => {
    const r = await runCli(['ca', '--ca-dir', path.join(tempDir(), 'ca'), '--android-system', '']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--android-system/);
  });
});

describe('subjectHashOld', () => {
  it('equals openssl for v1 and v3 certificates, UTF-8 names included', () => {
    const dir = tempDir();
    const cases: { name: string; args: string[] }[] = [
      { name: 'v3 ascii', args: ['-subj', '/CN=mgproxy hash test/O=Example'] },
      { name: 'v3 utf8', args: ['-subj', '/C=CN/O=小游戏测试/CN=代理 CA', '-utf8'] },
      { name: 'v3 many RDNs', args: ['-subj', '/C=US/ST=CA/L=SF/O=A/OU=B/OU=C/CN=x.example/emailAddress=a@b.example'] },
    ];
    for (const c of cases) {
      const file = path.join(dir, `${c.name.replace(/ /g, '-')}.pem`);
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-days', '2', '-out', file, ...c.args]);
      assert.equal(subjectHashOld(derOf(fs.readFileSync(file, 'utf8'))), opensslHash(file), c.name);
    }
    // A version 1 certificate has no [0] version field: the subject is the 5th field, not the 6th.
    const csr = path.join(dir, 'v1.csr');
    const v1 = path.join(dir, 'v1.pem');
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k1.pem'), '-subj', '/O=Old Style/CN=v1 cert', '-out', csr]);
    openssl(['x509', '-req', '-in', csr, '-signkey', path.join(dir, 'k1.pem'), '-days', '2', '-out', v1]);
    assert.match(openssl(['x509', '-in', v1, '-noout', '-text']), /Version: 1 /, 'openssl made a v1 certificate');
    assert.equal(subjectHashOld(derOf(fs.readFileSync(v1, 'utf8'))), opensslHash(v1), 'v1');
  });

  it('rejects bytes that are not a certificate', () => {
    assert.throws(() => subjectHashOld(Buffer.from('not DER')));
    assert.throws(() => subjectHashOld(Buffer.from([0x30, 0x82, 0xff, 0xff])));
  });
});
