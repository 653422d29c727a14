/**
 * Leaf certificates for intercepted hosts, signed by the mgproxy CA. They must pass what iOS and
 * Android demand of a TLS server certificate (docs/tls-audit.md, last paragraph): the name in the SAN (iOS 13+
 * ignores the CN), the serverAuth EKU, at most 397 days, SHA-256, and an RSA 2048 key or its
 * ECDSA P-256 twin (certs/store.ts serves both; a client that offers ECDSA gets the P-256 one).
 *
 * Written as DER here, field by field, in the strict form certs/der.ts checks: a leaf is one
 * template whose only variables are the serial, the dates, the name and the key, and building it
 * directly costs a fraction of a millisecond beside the CA's signature (forge took ~2 ms a leaf,
 * and cannot hold an EC key).
 */
import crypto, { type KeyObject } from 'node:crypto';
import net from 'node:net';
import { domainToASCII } from 'node:url';
import { ipFamily } from '../config/net-address.js';
import type { Ca } from './ca.js';
import { APPLE_MAX_VALIDITY_DAYS, BACKDATE_MS, DAY_MS, randomSerial } from './x509.js';

/** One key pair every leaf of one kind shares: minting then costs one signature, not a key generation. */
export interface LeafKey {
  privateKeyPem: string;
  /** SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  type: 'rsa' | 'ec';
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
  if (ipFamily(host)) return host;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return domainToASCII(name) || name;
}

// ---- DER, as much as a leaf needs ----

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = content.length === 1 ? content[0]! : Buffer.concat(content);
  const n = body.length;
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : [tag, 0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const arc of rest) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'latin1')) : tlv(0x18, Buffer.from(digits, 'latin1'));
}

/** A named BIT STRING (keyUsage): bits numbered from the most significant, trailing zeros dropped. */
function namedBits(bits: number[]): Buffer {
  const last = Math.max(...bits);
  const bytes = Buffer.alloc((last >> 3) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return tlv(0x03, Buffer.from([7 - (last & 7)]), bytes);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), TRUE, octets(value)) : seq(oid(id), octets(value));
}

/** The address of an iPAddress GeneralName: 4 or 16 bytes. */
export function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const end = tail === undefined ? left : right;
  const v4 = end.length > 0 && end[end.length - 1]!.includes('.') ? end.pop()! : undefined;
  const out = Buffer.alloc(16);
  const words = [...left, ...Array<string>(8 - left.length - right.length - (v4 ? 2 : 0)).fill('0'), ...right];
  words.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16), i * 2));
  if (v4) Buffer.from(v4.split('.').map(Number)).copy(out, 12);
  return out;
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo, for the key identifier (RFC 5280 §4.2.1.2, method 1). */
function keyIdentifier(spki: Buffer): Buffer {
  // SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip the outer header and the algorithm.
  const inner = (at: number): [number, number] => {
    const first = spki[at + 1]!;
    const lenBytes = first < 0x80 ? 0 : first & 0x7f;
    let len = first < 0x80 ? first : 0;
    for (let i = 0; i < lenBytes; i++) len = len * 256 + spki[at + 2 + i]!;
    return [at + 2 + lenBytes, len];
  };
  const [seqStart] = inner(0);
  const [algStart, algLen] = inner(seqStart);
  const [bitsStart, bitsLen] = inner(algStart + algLen);
  return crypto.createHash('sha1').update(spki.subarray(bitsStart + 1, bitsStart + bitsLen)).digest();
}

const OID = {
  sha256WithRSA: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;
const SHA256_WITH_RSA = seq(oid(OID.sha256WithRSA), Buffer.from([0x05, 0x00]));

/** The CA's subject Name and key identifier as its certificate encodes them: a leaf's issuer and AKI must match them byte for byte. */
export interface Issuer { name: Buffer; keyId?: Buffer; notAfter: Date; key: KeyObject }

const issuers = new WeakMap<Ca, Issuer>();

/** Reads the subject and subjectKeyIdentifier from the CA's DER once. */
export function issuerOf(ca: Ca): Issuer {
  let issuer = issuers.get(ca);
  if (issuer) return issuer;
  const der = ca.certDer;
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, sigAlg, issuer, validity, subject, spki, ..., [3] extensions } ... }
  const elements = (buf: Buffer, from: number, to: number): { start: number; end: number; tag: number; body: number }[] => {
    const out = [];
    for (let at = from; at < to;) {
      const first = buf[at + 1]!;
      const lenBytes = first < 0x80 ? 0 : first & 0x7f;
      let len = first < 0x80 ? first : 0;
      for (let i = 0; i < lenBytes; i++) len = len * 256 + buf[at + 2 + i]!;
      const body = at + 2 + lenBytes;
      out.push({ start: at, end: body + len, tag: buf[at]!, body });
      at = body + len;
    }
    return out;
  };
  const [cert] = elements(der, 0, der.length);
  const [tbs] = elements(der, cert!.body, cert!.end);
  const fields = elements(der, tbs!.body, tbs!.end);
  const f = fields[0]!.tag === 0xa0 ? fields.slice(1) : fields;
  const subject = f[4]!;
  let keyId: Buffer | undefined;
  const exts = fields.find((x) => x.tag === 0xa3);
  if (exts) {
    const [list] = elements(der, exts.body, exts.end);
    for (const ext of elements(der, list!.body, list!.end)) {
      const parts = elements(der, ext.body, ext.end);
      if (!der.subarray(parts[0]!.start, parts[0]!.end).equals(oid(OID.subjectKeyIdentifier))) continue;
      const value = parts[parts.length - 1]!;
      const [inner] = elements(der, value.body, value.end);
      keyId = der.subarray(inner!.body, inner!.end);
    }
  }
  issuer = { name: der.subarray(subject.start, subject.end), keyId, notAfter: new Date(ca.x509.validTo), key: ca.key };
  issuers.set(ca, issuer);
  return issuer;
}

export function mintLeaf(requestedHost: string, ca: Ca, key: LeafKey, now = Date.now()): MintedLeaf {
  const host = certName(requestedHost);
  const issuer = issuerOf(ca);
  const notBefore = new Date(now - BACKDATE_MS);
  // A leaf must not outlive its CA, or the chain is invalid from the CA's expiry on.
  const notAfter = new Date(Math.min(notBefore.getTime() + (APPLE_MAX_VALIDITY_DAYS - 1) * DAY_MS, issuer.notAfter.getTime()));
  // Every attribute a UTF8String (RFC 5280 §4.1.2.4; a PrintableString cannot hold `_` or `*`).
  const subject = seq(
    ...(host.length <= CN_MAX ? [set(seq(oid(OID.commonName), utf8(host)))] : []),
    set(seq(oid(OID.organizationName), utf8('mgproxy'))),
  );
  const altName = ipFamily(host) ? tlv(0x87, ipBytes(host)) : tlv(0x82, Buffer.from(host, 'latin1'));
  const extensions = [
    // cA FALSE is the DEFAULT: DER omits it, leaving an empty SEQUENCE.
    extension(OID.basicConstraints, true, seq()),
    // digitalSignature, and keyEncipherment for RSA key exchange; an EC key signs only (RFC 5480 §3).
    extension(OID.keyUsage, true, namedBits(key.type === 'rsa' ? [0, 2] : [0])),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, seq(altName)),
    extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(key.spki))),
    ...(issuer.keyId ? [extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, issuer.keyId)))] : []),
  ];
  const tbs = seq(
    Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]), // version v3
    tlv(0x02, Buffer.from(randomSerial(), 'hex')),
    SHA256_WITH_RSA,
    issuer.name,
    seq(time(notBefore), time(notAfter)),
    subject,
    key.spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = crypto.sign('sha256', tbs, issuer.key);
  const der = seq(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return { certPem: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`, notAfter };
}
