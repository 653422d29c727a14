/** Certificate helpers shared by the CA and the leaves. */
import crypto, { type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { loadForge } from './forge.js';

export const DAY_MS = 86_400_000;
/** Apple: TLS server certificates issued after 2020-09-01 must be valid for at most 398 days; 397 leaves a margin. */
export const APPLE_MAX_VALIDITY_DAYS = 397;
/** The CA is a root, outside the 398-day rule: 10 years, as mitmproxy's, so a lab's devices do not all lose trust on one day. */
export const CA_VALIDITY_DAYS = 3650;
/** Backdated a day so a phone whose clock is behind still accepts a certificate minted just now. */
export const BACKDATE_MS = DAY_MS;

/**
 * A Name whose every attribute is a UTF8String (RFC 5280 §4.1.2.4 asks it of new certificates;
 * forge's default, PrintableString, cannot hold `;`, `_`, `@`, `*` or non-ASCII, and Chromium
 * refuses a certificate whose PrintableString does).
 */
export function utf8Name(attrs: forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  const UTF8 = loadForge().asn1.Type.UTF8;
  return attrs.map((a) => ({ ...a, valueTagClass: UTF8 as unknown as forge.pki.CertificateField['valueTagClass'] }));
}

/** A positive, minimally encoded 128-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
export function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/**
 * Signs a forge certificate with RSA using Node's native crypto (forge's JS big-number signing
 * costs several milliseconds per leaf). mgproxy signs with SHA-256 only; tests make SHA-1 ones.
 */
export function signWithNativeKey(cert: forge.pki.Certificate, key: KeyObject, hash: 'sha256' | 'sha1' = 'sha256', issuerName?: forge.asn1.Asn1): void {
  const forge = loadForge();
  const oid = forge.pki.oids[hash === 'sha256' ? 'sha256WithRSAEncryption' : 'sha1WithRSAEncryption']!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  const c = cert as forge.pki.Certificate & { tbsCertificate: forge.asn1.Asn1 };
  c.tbsCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  // The issuer as the CA's own subject bytes: name chaining compares them, whatever forge would re-encode.
  if (issuerName) (c.tbsCertificate.value as forge.asn1.Asn1[]).splice(3, 1, issuerName);
  const tbsDer = Buffer.from(forge.asn1.toDer(c.tbsCertificate).getBytes(), 'binary');
  cert.signature = crypto.sign(hash, tbsDer, key).toString('binary');
}
