/**
 * The audit's judgement as a pure function (certs/audit `analyse`): a table of handshakes the
 * probe could have seen, built from test certificates, and the ids each must raise. The real
 * servers are in tls-audit.test.ts and audit-command.test.ts; these are the cases around them.
 */
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import forge from 'node-forge';
import { caIssuerUrls, certificatesIn } from '../certs/audit/aia.js';
import { analyse } from '../certs/audit/audit.js';
import type { Handshake, ProbeFailure, ProbeResult } from '../certs/audit/probe.js';
import { TrustStore } from '../certs/audit/trust.js';
import type { TlsRuleId } from '../proxy/rules/types.js';
import { TestPki } from './helpers/pki.js';

const DAY = 86_400_000;
const pki = new TestPki();
after(() => pki.cleanup());

const HOST = 'api.table.test';
const handshake = (sent: X509Certificate[], protocol = 'TLSv1.3', cipher = 'TLS_AES_128_GCM_SHA256'): Handshake => ({
  ok: true, protocol, cipher, sent, leafFingerprint256: sent[0]!.fingerprint256,
});
const refused: ProbeFailure = { ok: false, stage: 'handshake', message: 'unsupported protocol' };
const target = { host: HOST, port: 443, connect: { host: '127.0.0.1', port: 9 } };
const leaf = (o: Partial<Parameters<TestPki['leaf']>[0]> = {}) => pki.leaf({ names: [HOST], ...o }).x509;
const withIntermediate = (l: X509Certificate) => [l, pki.intermediate.x509];

const selfSigned = leaf({ issuer: 'self' });

interface Row { name: string; result: () => ProbeResult; extra?: 'root' | 'self'; ids: TlsRuleId[]; trustedVia?: string | null }

const rows: Row[] = [
  { name: 'a leaf the root signed directly needs no intermediate', result: () => { const l = leaf({ issuer: 'root' }); return { best: handshake([l]), tls12: handshake([l]) }; }, ids: [], trustedVia: 'extraCaFiles' },
  { name: 'a server that also sends the root', result: () => { const s = [...withIntermediate(leaf()), pki.root.x509]; return { best: handshake(s), tls12: handshake(s) }; }, ids: [] },
  { name: 'TLS 1.2 with ECDHE is forward-secret', result: () => { const s = withIntermediate(leaf()); return { best: handshake(s, 'TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256'), tls12: handshake(s) }; }, ids: [] },
  { name: 'plain DHE is not what ATS asks for', result: () => { const s = withIntermediate(leaf()); return { best: handshake(s, 'TLSv1.2', 'DHE-RSA-AES128-GCM-SHA256'), tls12: handshake(s) }; }, ids: ['ats-no-forward-secrecy'] },
  { name: 'TLS 1.0 only', result: () => { const s = withIntermediate(leaf()); return { best: handshake(s, 'TLSv1', 'ECDHE-RSA-AES128-SHA'), tls12: refused }; }, ids: ['tls-no-tls12', 'ats-weak-protocol'] },
  { name: 'no extended key usage (iOS 13+)', result: () => { const s = withIntermediate(leaf({ serverAuth: false })); return { best: handshake(s), tls12: handshake(s) }; }, ids: ['tls-untrusted'], trustedVia: 'extraCaFiles' },
  {
    name: 'valid for more than 825 days (iOS 13+)',
    result: () => { const s = withIntermediate(leaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 900 * DAY) })); return { best: handshake(s), tls12: handshake(s) }; },
    ids: ['tls-untrusted'],
  },
  {
    name: 'several flaws at once are all named',
    result: () => { const s = withIntermediate(leaf({ names: ['other.table.test'], hash: 'sha1', keyBits: 1024, notBefore: new Date(Date.now() - 90 * DAY), notAfter: new Date(Date.now() - DAY) })); return { best: handshake(s, 'TLSv1.2', 'AES128-SHA'), tls12: handshake(s) }; },
    ids: ['tls-expired', 'tls-hostname-mismatch', 'ats-no-forward-secrecy', 'ats-weak-signature', 'ats-weak-key'],
  },
  { name: 'a self-signed leaf trusted through extraCaFiles is still self-signed', extra: 'self', result: () => { const l = selfSigned; return { best: handshake([l]), tls12: handshake([l]) }; }, ids: ['tls-self-signed'], trustedVia: 'extraCaFiles' },
  { name: 'the root alone cannot complete a chain sent without its intermediate', result: () => { const l = leaf(); return { best: handshake([l]), tls12: handshake([l]) }; }, ids: ['tls-untrusted'], trustedVia: null },
  { name: 'both handshakes refused: unreachable', result: () => ({ best: refused, tls12: refused }), ids: ['tls-unreachable'], trustedVia: null },
];

describe('audit findings (pure)', () => {
  for (const row of rows) {
    it(`${row.name}: ${row.ids.join(', ') || 'none'}`, () => {
      const extras = [{ file: 'root.pem', pem: pki.root.certPem }];
      if (row.extra === 'self') extras.push({ file: 'self.pem', pem: selfSigned.toString() });
      const outcome = analyse(target, row.result(), new TrustStore(extras));
      assert.deepEqual(outcome.audit.findings.map((f) => f.rule), row.ids, JSON.stringify(outcome.audit.findings, null, 1));
      if (row.trustedVia !== undefined) assert.equal(outcome.audit.trustedVia, row.trustedVia);
    });
  }

  it('names every certificate of the chain that expired, not only the leaf', () => {
    // Judged a day after the test PKI's intermediate and root end.
    const s = withIntermediate(leaf());
    const later = Date.parse(pki.intermediate.x509.validTo) + DAY;
    const outcome = analyse(target, { best: handshake(s), tls12: handshake(s) }, new TrustStore([{ file: 'root.pem', pem: pki.root.certPem }]), later);
    const expired = outcome.audit.findings.find((f) => f.rule === 'tls-expired')!;
    assert.match(expired.message, /"mgproxy test intermediate" expired/);
    assert.match(expired.message, /"mgproxy test root" expired/);
  });
});

describe('caIssuers (AIA) helpers', () => {
  it('reads a certificate as DER, PEM or a PKCS#7 bundle', () => {
    const inter = pki.intermediate;
    const p7 = forge.pkcs7.createSignedData();
    p7.addCertificate(inter.cert);
    const p7Der = Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
    for (const body of [inter.x509.raw, Buffer.from(inter.certPem), p7Der]) {
      assert.deepEqual(certificatesIn(body).map((c) => c.fingerprint256), [inter.x509.fingerprint256]);
    }
    assert.deepEqual(certificatesIn(Buffer.from('<html>not found</html>')), []);
  });

  it('follows http URLs on the default port only', () => {
    const urls = ['http://ca.example.test/i.der', 'http://ca.example.test:80/j.der', 'http://ca.example.test:8080/k.der', 'https://ca.example.test/l.der'];
    const withAia = (url: string) => pki.leaf({ names: [HOST], caIssuers: url }).x509;
    assert.deepEqual(urls.map((u) => caIssuerUrls(withAia(u))), [[urls[0]], [urls[1]], [], []]);
  });
});
