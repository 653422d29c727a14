/**
 * Leaf certificates for intercepted hosts, signed by the mgproxy CA. They must pass what iOS and
 * Android demand of a TLS server certificate (SPEC §5, last paragraph): the name in the SAN (iOS 13+
 * ignores the CN), the serverAuth EKU, at most 397 days, SHA-256, RSA 2048.
 */
import net from 'node:net';
import { domainToASCII } from 'node:url';
import type forge from 'node-forge';
import type { Ca } from './ca.js';
import { loadForge } from './forge.js';
import { APPLE_MAX_VALIDITY_DAYS, BACKDATE_MS, DAY_MS, randomSerial, signWithNativeKey, utf8Name } from './x509.js';

/** The one key pair every leaf shares: minting then costs one signature, not a key generation. */
export interface LeafKey {
  privateKeyPem: string;
  publicKey: forge.pki.PublicKey;
}

export interface MintedLeaf {
  certPem: string;
  notAfter: Date;
}

/** X.520 caps the CN at 64 characters; longer names live in the SAN alone. */
const CN_MAX = 64;

/**
 * The name as a certificate holds it: IDN in punycode (a dNSName is ASCII) and no trailing dot
 * (clients match `host.` against `host`; a dNSName ending in a dot is not a valid name).
 */
export function certName(host: string): string {
  if (net.isIP(host)) return host;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return domainToASCII(name) || name;
}

export function mintLeaf(requestedHost: string, ca: Ca, key: LeafKey, now = Date.now()): MintedLeaf {
  const host = certName(requestedHost);
  const forge = loadForge();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = randomSerial();
  const notBefore = new Date(now - BACKDATE_MS);
  // A leaf must not outlive its CA, or the chain is invalid from the CA's expiry on.
  const notAfter = new Date(Math.min(notBefore.getTime() + (APPLE_MAX_VALIDITY_DAYS - 1) * DAY_MS, ca.cert.validity.notAfter.getTime()));
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject: forge.pki.CertificateField[] = [{ name: 'organizationName', value: 'mgproxy' }];
  if (host.length <= CN_MAX) subject.unshift({ name: 'commonName', value: host });
  cert.setSubject(utf8Name(subject));
  cert.setIssuer(ca.cert.subject.attributes);
  const altName = net.isIP(host) ? { type: 7, ip: host } : { type: 2, value: host };
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [altName] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.keyId },
  ]);
  signWithNativeKey(cert, ca.key, 'sha256', ca.subjectName);
  return { certPem: forge.pki.certificateToPem(cert), notAfter };
}
