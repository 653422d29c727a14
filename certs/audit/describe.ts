/**
 * What the audit says about one certificate: a one-line subject, the key type and size, the
 * signature algorithm and its hash. Node 20's X509Certificate has no `signatureAlgorithm` (it came
 * in Node 22), so the algorithm is read from the DER: Certificate ::= SEQUENCE { tbsCertificate,
 * signatureAlgorithm AlgorithmIdentifier, signatureValue } (RFC 5280 §4.1).
 */
import type { X509Certificate } from 'node:crypto';
import type { ChainEntry } from './types.js';
import { oidString } from '../der.js';

/** A signature algorithm's OpenSSL name and the hash it signs with (`undefined` when unknown). */
export interface SignatureAlgorithm { name: string; hash?: string }

/** RFC 3279, 4055, 5758, 8410 OIDs, named as `openssl x509 -text` names them. */
const SIGNATURES: Readonly<Record<string, SignatureAlgorithm>> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption', hash: 'md2' },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.2.840.10040.4.3': { name: 'dsa_with_SHA1', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa_with_SHA256', hash: 'sha256' },
  '1.3.101.112': { name: 'ED25519', hash: 'sha512' },
  '1.3.101.113': { name: 'ED448', hash: 'shake256' },
};

const RSASSA_PSS = '1.2.840.113549.1.1.10';
const HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1', '2.16.840.1.101.3.4.2.4': 'sha224', '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Hashes ATS accepts for certificate signatures: "SHA-2 with a digest length of at least 256". */
export const STRONG_HASHES: ReadonlySet<string> = new Set(['sha256', 'sha384', 'sha512', 'shake256']);

/** One DER element's header at `at`: its tag and where its body starts and ends (lenient: any length form). */
function element(der: Buffer, at: number): { tag: number; body: number; end: number } {
  const first = der[at + 1];
  if (first === undefined) throw new Error('truncated');
  let len = first;
  let body = at + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i]!;
    body += n;
  }
  if (body + len > der.length) throw new Error('truncated');
  return { tag: der[at]!, body, end: body + len };
}


/** The OID and the parameters' bounds of the AlgorithmIdentifier SEQUENCE at `at`. */
function algorithmAt(der: Buffer, at: number): { oid: string; params?: { body: number; end: number; tag: number } } {
  const alg = element(der, at);
  const id = element(der, alg.body);
  if (alg.tag !== 0x30 || id.tag !== 0x06) throw new Error('not an AlgorithmIdentifier');
  return { oid: oidString(der.subarray(id.body, id.end)), params: id.end < alg.end ? element(der, id.end) : undefined };
}

const signatures = new WeakMap<X509Certificate, SignatureAlgorithm>();

/**
 * The certificate's signatureAlgorithm, read from the DER headers alone (Certificate ::= SEQUENCE
 * { tbsCertificate, signatureAlgorithm, signature }): a TLS audit reads it for every certificate
 * of every new host, and parsing whole certificates with forge cost ~0.3 ms a host.
 */
export function signatureAlgorithmOf(cert: X509Certificate): SignatureAlgorithm {
  let known = signatures.get(cert);
  if (known) return known;
  try {
    const der = cert.raw;
    const top = element(der, 0);
    const tbs = element(der, top.body);
    const { oid, params } = algorithmAt(der, tbs.end);
    known = oid === RSASSA_PSS ? { name: 'rsassaPss', hash: pssHash(der, params) } : SIGNATURES[oid] ?? { name: oid };
  } catch {
    known = { name: 'unknown' };
  }
  signatures.set(cert, known);
  return known;
}

/** RFC 4055 §3.1: RSASSA-PSS-params [0] hashAlgorithm, SHA-1 when absent. */
function pssHash(der: Buffer, params: { body: number; end: number; tag: number } | undefined): string | undefined {
  if (!params || params.tag !== 0x30) return 'sha1';
  for (let at = params.body; at < params.end;) {
    const field = element(der, at);
    if (field.tag === 0xa0) return HASHES[algorithmAt(der, field.body).oid];
    at = field.end;
  }
  return 'sha1';
}

/** Curve sizes by OpenSSL's curve name; others are read from the digits of the name. */
const CURVE_BITS: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp224r1: 224, secp256k1: 256, prime192v1: 192 };

export interface KeyInfo { type: string; bits: number }

export function keyOf(cert: X509Certificate): KeyInfo {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': return { type: 'RSA', bits: details.modulusLength ?? 0 };
    case 'rsa-pss': return { type: 'RSA-PSS', bits: details.modulusLength ?? 0 };
    case 'dsa': return { type: 'DSA', bits: details.modulusLength ?? 0 };
    case 'ec': {
      const curve = details.namedCurve ?? '';
      return { type: 'EC', bits: CURVE_BITS[curve] ?? Number(/(\d{3})/.exec(curve)?.[1] ?? 0) };
    }
    case 'ed25519': return { type: 'Ed25519', bits: 256 };
    case 'ed448': return { type: 'Ed448', bits: 448 };
    default: return { type: key.asymmetricKeyType ?? 'unknown', bits: 0 };
  }
}

/** `C=US\nO=Example\nCN=host` → `CN=host, O=Example, C=US` (most specific first, as RFC 4514 writes it). */
export function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).reverse().join(', ');
}

/** The name a person knows a certificate by: its CN, else the whole subject. */
export function shortName(cert: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  return cn ?? oneLineName(cert.subject);
}

export const notAfterOf = (cert: X509Certificate) => new Date(cert.validTo);
export const notBeforeOf = (cert: X509Certificate) => new Date(cert.validFrom);

export function describeCert(cert: X509Certificate): ChainEntry {
  const key = keyOf(cert);
  return {
    subject: oneLineName(cert.subject),
    issuer: oneLineName(cert.issuer),
    notAfter: notAfterOf(cert).toISOString(),
    keyType: key.type,
    keyBits: key.bits,
    signature: signatureAlgorithmOf(cert).name,
  };
}
