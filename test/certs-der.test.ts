/**
 * The names and the DER of the CA and of every kind of leaf: every DirectoryString is a
 * UTF8String, or a PrintableString within its alphabet, read back with OpenSSL's own ASN.1 parser
 * (independent of ours) and with certs/der.ts's strict checker, the one the CA load uses.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import forge from 'node-forge';
import { certificateDerProblems, parseDer } from '../certs/der.js';
import { signWithNativeKey } from '../certs/x509.js';
import { ensureDebianTool } from './helpers/debian.js';
import { LEAF_KINDS, presentedLeaf } from './helpers/leaves.js';
import { startProxy, type ProxyProcess } from './helpers/proxy.js';

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** The string values of the names as OpenSSL's asn1parse reads them: [type, value]. */
function opensslStrings(openssl: string, der: Buffer): Array<[string, string]> {
  const out = execFileSync(openssl, ['asn1parse', '-inform', 'DER'], { input: der, timeout: 30_000 }).toString();
  return [...out.matchAll(/prim: (PRINTABLESTRING|UTF8STRING|T61STRING|IA5STRING|BMPSTRING)\s*:(.*)$/gm)].map((m) => [m[1]!, m[2]!]);
}

function assertNames(openssl: string, der: Buffer, what: string): void {
  const strings = opensslStrings(openssl, der);
  assert.ok(strings.length > 0, `${what}: asn1parse found the names`);
  for (const [type, value] of strings) {
    assert.ok(type === 'UTF8STRING' || (type === 'PRINTABLESTRING' && PRINTABLE.test(value)), `${what}: ${type} ${JSON.stringify(value)}`);
  }
  assert.deepEqual(certificateDerProblems(der), [], `${what}: strict DER`);
}

describe('certificate names and DER', () => {
  const openssl = ensureDebianTool('openssl', 'openssl');
  let p: ProxyProcess;
  let ca: X509Certificate;
  before(async () => {
    p = await startProxy();
    ca = new X509Certificate(p.caPem);
  });
  after(async () => { await p?.stop(); });

  it('the CA: every name a UTF8String (its OU holds a ";"), strict DER', (t) => {
    if ('skip' in openssl) return t.skip(openssl.skip);
    assertNames(openssl.path, ca.raw, 'CA');
    assert.match(ca.subject, /OU=.*;/, 'the OU that PrintableString cannot hold is still there');
  });

  for (const [kind, host] of Object.entries(LEAF_KINDS)) {
    it(`a leaf for a ${kind} name (${host.length > 30 ? `${host.slice(0, 27)}…` : host}): UTF8 names, strict DER, issuer bytes = the CA's subject`, async (t) => {
      if ('skip' in openssl) return t.skip(openssl.skip);
      const leaf = await presentedLeaf(p, host);
      assertNames(openssl.path, leaf.raw, kind);
      assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
      const name = host.replace(/\.$/, '');
      assert.equal(leaf.subjectAltName, kind === 'ipv6' ? 'IP Address:2001:DB8:0:0:0:0:0:5' : `${kind === 'ipv4' ? 'IP Address' : 'DNS'}:${name}`);
      const tbs = (der: Buffer) => parseDer(der).children[0]!.children;
      const rawName = (n: ReturnType<typeof parseDer>) => Buffer.from(n.content).toString('hex');
      assert.equal(rawName(tbs(leaf.raw)[3]!), rawName(tbs(ca.raw)[5]!), 'issuer encoded exactly as the CA subject');
    });
  }

  it('the strict checker refuses what Chromium refuses: a ";" in a PrintableString (the CA of the old code)', async () => {
    const oldStyle = forge.pki.createCertificate();
    const keys = forge.pki.rsa.generateKeyPair({ bits: 512, e: 0x10001 });
    oldStyle.publicKey = keys.publicKey;
    oldStyle.serialNumber = '01';
    oldStyle.validity.notBefore = new Date();
    oldStyle.validity.notAfter = new Date(Date.now() + 86_400_000);
    const subject = [{ name: 'commonName', value: 'mgproxy CA' }, { shortName: 'OU', value: 'mini-game network rules proxy; install only on test devices' }];
    oldStyle.setSubject(subject);
    oldStyle.setIssuer(subject);
    oldStyle.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }]);
    const { createPrivateKey } = await import('node:crypto');
    signWithNativeKey(oldStyle, createPrivateKey(forge.pki.privateKeyToPem(keys.privateKey)));
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(oldStyle)).getBytes(), 'binary');
    assert.match(certificateDerProblems(der).join(), /PrintableString .*outside its alphabet/);
  });

  it('the strict checker refuses BER and DEFAULTs spelled out', () => {
    assert.throws(() => parseDer(Buffer.from('3081030201 01'.replace(/ /g, ''), 'hex')), /length not minimal/);
    assert.throws(() => parseDer(Buffer.from('308003020101 0000'.replace(/ /g, ''), 'hex')), /indefinite/);
    assert.throws(() => parseDer(Buffer.from('0101 01'.replace(/ /g, ''), 'hex')), /BOOLEAN/);
    assert.throws(() => parseDer(Buffer.from('0202 0001'.replace(/ /g, ''), 'hex')), /INTEGER not minimal/);
    assert.throws(() => parseDer(Buffer.from('0302 0701'.replace(/ /g, ''), 'hex')), /unused bits not zero/);
  });
});
