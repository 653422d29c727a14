/** Certificate helpers shared by the CA and the leaves. */
import crypto, { type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { loadForge } from './forge.js';

export const DAY_MS = 86_400_000;
/** Apple: TLS server certificates issued after 2020-09-01 must be valid for at most 398 days; 397 leaves a margin. */
export const APPLE_MAX_VALIDITY_DAYS = 397;
/** Backdated a day so a phone whose clock is behind still accepts a certificate minted just now. */
export const BACKDATE_MS = DAY_MS;

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
export function signWithNativeKey(cert: forge.pki.Certificate, key: KeyObject, hash: 'sha256' | 'sha1' = 'sha256'): void {
  const forge = loadForge();
  const oid = forge.pki.oids[hash === 'sha256' ? 'sha256WithRSAEncryption' : 'sha1WithRSAEncryption']!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  const c = cert as forge.pki.Certificate & { tbsCertificate: forge.asn1.Asn1 };
  c.tbsCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(c.tbsCertificate).getBytes(), 'binary');
  cert.signature = crypto.sign(hash, tbsDer, key).toString('binary');
}
