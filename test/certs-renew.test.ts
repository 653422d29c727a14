/**
 * The CA's life (docs/commands.md, "The CA"): a CA made by older code, with a name Chromium refuses, is replaced at
 * load with one warning line, shown on the onboarding page and the dashboard until restart;
 * `mgproxy ca --renew` rotates it on purpose; `start` warns when less than 30 days are left.
 */
import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import { certificateDerProblems } from '../certs/der.js';
import { signWithNativeKey } from '../certs/x509.js';
import { runCli, startProxy, tempDir, type LogLine } from './helpers/proxy.js';

const DAY = 86_400_000;

/**
 * Writes ca.pem + ca-key.pem as earlier builds of mgproxy made them (forge's default PrintableString names,
 * the OU with its ';') or, with `utf8`, as today's code does, valid for `days`.
 */
function writeCa(dir: string, { utf8 = false, days = 397 } = {}): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '0123456789abcdef';
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + days * DAY);
  const tag = utf8 ? { valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class } : {};
  const subject = [
    { name: 'commonName', value: 'mgproxy CA (old)', ...tag },
    { name: 'organizationName', value: 'mgproxy', ...tag },
    { shortName: 'OU', value: 'mini-game network rules proxy; install only on test devices', ...tag },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWithNativeKey(cert, privateKey);
  const pem = forge.pki.certificateToPem(cert);
  fs.writeFileSync(path.join(dir, 'ca.pem'), pem);
  fs.writeFileSync(path.join(dir, 'ca-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return pem;
}

const warnings = (lines: LogLine[]) => lines.filter((l) => l.level === 40 || l.level === 'warn');

async function get(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200, url);
  return r.text();
}

describe('the CA over time', () => {
  it('an old CA Chromium refuses is replaced at start: old pair kept as *.invalid-<date>, one warning, the notice on the onboarding page and the dashboard until restart', async () => {
    const caDir = path.join(tempDir(), 'ca');
    const oldPem = writeCa(caDir);
    assert.notDeepEqual(certificateDerProblems(new X509Certificate(oldPem).raw), [], 'the fixture is as bad as the old code made it');
    const p = await startProxy({ caDir });
    try {
      const files = fs.readdirSync(caDir).sort();
      assert.equal(files.length, 4, files.join());
      const oldCert = files.find((f) => /^ca\.pem\.invalid-\d{4}-\d\d-\d\dT/.test(f));
      assert.ok(oldCert && files.some((f) => f === `ca-key.pem${oldCert.slice('ca.pem'.length)}`), files.join());
      assert.equal(fs.readFileSync(path.join(caDir, oldCert), 'utf8'), oldPem, 'the old certificate kept as it was');
      assert.notEqual(p.caPem, oldPem);
      assert.deepEqual(certificateDerProblems(new X509Certificate(p.caPem).raw), []);
      const notices = warnings(p.lines).filter((l) => /CA/.test(String(l.msg)));
      assert.equal(notices.length, 1, JSON.stringify(notices));
      const line = String(notices[0]!.msg);
      assert.match(line, /Chromium/);
      assert.ok(line.includes(`install ${path.join(caDir, 'ca.pem')} on your test devices`), line);
      const escaped = line.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const onboarding = await get(`${p.url}/`);
      assert.ok(onboarding.includes(`id="ca-notice">${escaped}<`), 'onboarding page shows the notice');
      const dashboard = await get(`${p.adminUrl}/`);
      assert.ok(dashboard.includes(`id="ca-notice" role="alert">${escaped}<`), 'dashboard shows the notice');
    } finally {
      await p.stop();
    }
    const again = await startProxy({ caDir });
    try {
      assert.equal(warnings(again.lines).length, 0, JSON.stringify(warnings(again.lines)));
      assert.equal(again.caPem, p.caPem, 'the new CA is kept');
      assert.ok(!(await get(`${again.url}/`)).includes('id="ca-notice"'));
      assert.ok(!(await get(`${again.adminUrl}/`)).includes('id="ca-notice"'));
    } finally {
      await again.stop();
    }
  });

  it('`mgproxy ca` replaces such a CA too and says so on stderr', async () => {
    const caDir = path.join(tempDir(), 'ca');
    writeCa(caDir);
    const r = await runCli(['ca', '--ca-dir', caDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${path.join(caDir, 'ca.pem')}\n`);
    assert.match(r.stderr, /^the CA in .* Chromium.*; install .*ca\.pem on your test devices\n$/);
  });

  it('`mgproxy ca --renew` makes a new pair, keeps the old as *.renewed-<date>, prints the new path, exit 0', async () => {
    const caDir = path.join(tempDir(), 'ca');
    await runCli(['ca', '--ca-dir', caDir]);
    const before = fs.readFileSync(path.join(caDir, 'ca.pem'), 'utf8');
    const keyBefore = fs.readFileSync(path.join(caDir, 'ca-key.pem'), 'utf8');
    const r = await runCli(['ca', '--renew', '--ca-dir', caDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${path.join(caDir, 'ca.pem')}\n`);
    assert.match(r.stderr, /renewed the CA .*ca\.pem\.renewed-.*; install .*ca\.pem on your test devices/);
    const files = fs.readdirSync(caDir);
    const old = files.find((f) => f.startsWith('ca.pem.renewed-'))!;
    assert.equal(fs.readFileSync(path.join(caDir, old), 'utf8'), before);
    assert.equal(fs.readFileSync(path.join(caDir, `ca-key.pem${old.slice('ca.pem'.length)}`), 'utf8'), keyBefore);
    const after = fs.readFileSync(path.join(caDir, 'ca.pem'), 'utf8');
    assert.notEqual(after, before);
    assert.notEqual(new X509Certificate(after).serialNumber, new X509Certificate(before).serialNumber);
    assert.equal(fs.statSync(path.join(caDir, 'ca-key.pem')).mode & 0o777, 0o600);
  });

  it('`start` warns when the CA has less than 30 days left, and keeps using it', async () => {
    const caDir = path.join(tempDir(), 'ca');
    const pem = writeCa(caDir, { utf8: true, days: 10 });
    const p = await startProxy({ caDir });
    try {
      assert.equal(p.caPem, pem);
      const w = warnings(p.lines);
      assert.equal(w.length, 1, JSON.stringify(w));
      assert.match(String(w[0]!.msg), /^the CA expires in (9|10) days: run `mgproxy ca --renew/);
    } finally {
      await p.stop();
    }
    const fine = path.join(tempDir(), 'ca');
    writeCa(fine, { utf8: true, days: 31 });
    const q = await startProxy({ caDir: fine });
    await q.stop();
    assert.equal(warnings(q.lines).length, 0, JSON.stringify(warnings(q.lines)));
  });
});
