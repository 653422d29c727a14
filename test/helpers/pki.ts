/**
 * A test PKI made in-process: a root, an intermediate, and leaves with whatever flaw a test
 * needs (expired, not yet valid, wrong name, self-signed, SHA-1, RSA 1024, no intermediate sent).
 */
import crypto, { type KeyObject, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { randomSerial, signWithNativeKey } from '../../certs/x509.js';

export interface TestCert {
  certPem: string;
  keyPem: string;
  key: KeyObject;
  cert: forge.pki.Certificate;
  x509: X509Certificate;
}

export interface LeafOptions {
  names: string[];
  /** Who signs: the intermediate (default), the root, or the leaf itself. */
  issuer?: 'intermediate' | 'root' | 'self';
  notBefore?: Date;
  notAfter?: Date;
  keyBits?: number;
  hash?: 'sha256' | 'sha1';
  /** false: no extended key usage at all (iOS 13+ refuses such a TLS server certificate). */
  serverAuth?: boolean;
  /** An Authority Information Access caIssuers URL (RFC 5280 §4.2.2.1), where clients may fetch the issuer. */
  caIssuers?: string;
}

/** AuthorityInfoAccessSyntax with one caIssuers AccessDescription, as DER bytes (forge has no builder for it). */
function aiaExtension(url: string) {
  const { asn1 } = forge;
  const description = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer('1.3.6.1.5.5.7.48.2').getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, url),
  ]);
  return { id: '1.3.6.1.5.5.7.1.1', value: asn1.toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [description])).getBytes() };
}

const DAY = 86_400_000;
const keyCache = new Map<number, { privateKey: KeyObject; publicPem: string }>();

function keyPair(bits: number) {
  let k = keyCache.get(bits);
  if (!k) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
    k = { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    keyCache.set(bits, k);
  }
  return k;
}

function build(opts: {
  subject: string; issuer?: TestCert; ca: boolean; names?: string[]; keyBits?: number; hash?: 'sha256' | 'sha1';
  notBefore?: Date; notAfter?: Date; freshKey?: boolean; serverAuth?: boolean; caIssuers?: string;
}): TestCert {
  const bits = opts.keyBits ?? 2048;
  const k = opts.freshKey
    ? (() => { const p = crypto.generateKeyPairSync('rsa', { modulusLength: bits }); return { privateKey: p.privateKey, publicPem: p.publicKey.export({ type: 'spki', format: 'pem' }).toString() }; })()
    : keyPair(bits);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(k.publicPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 90 * DAY);
  const subject = [{ name: 'commonName', value: opts.subject }, { name: 'organizationName', value: 'mgproxy tests' }];
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? opts.issuer.cert.subject.attributes : subject);
  const exts: object[] = opts.ca
    ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]
    : [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      ...(opts.serverAuth === false ? [] : [{ name: 'extKeyUsage', serverAuth: true }]),
      { name: 'subjectAltName', altNames: (opts.names ?? []).map((n) => (net.isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ];
  exts.push({ name: 'subjectKeyIdentifier' });
  if (opts.caIssuers) exts.push(aiaExtension(opts.caIssuers));
  cert.setExtensions(exts);
  signWithNativeKey(cert, opts.issuer ? opts.issuer.key : k.privateKey, opts.hash ?? 'sha256');
  const certPem = forge.pki.certificateToPem(cert);
  return {
    certPem, cert, key: k.privateKey, x509: new X509Certificate(certPem),
    keyPem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export class TestPki {
  readonly root = build({ subject: 'mgproxy test root', ca: true, freshKey: true });
  readonly intermediate = build({ subject: 'mgproxy test intermediate', ca: true, issuer: this.root, freshKey: true });
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-pki-'));
  /** The root alone, as a file for `upstream.extraCaFiles` and clients' `--cacert`. */
  readonly rootFile = path.join(this.dir, 'root.pem');

  constructor() {
    fs.writeFileSync(this.rootFile, this.root.certPem);
  }

  leaf(opts: LeafOptions): TestCert {
    const issuer = opts.issuer ?? 'intermediate';
    return build({
      subject: opts.names[0] ?? 'leaf', ca: false, names: opts.names, keyBits: opts.keyBits, hash: opts.hash,
      notBefore: opts.notBefore, notAfter: opts.notAfter, serverAuth: opts.serverAuth, caIssuers: opts.caIssuers,
      issuer: issuer === 'self' ? undefined : issuer === 'root' ? this.root : this.intermediate,
    });
  }

  /** The PEM a server sends: the leaf and, unless told otherwise, the intermediate. */
  chain(leaf: TestCert, withIntermediate = true): string {
    return withIntermediate && leaf.cert.issuer.getField('CN')?.value === 'mgproxy test intermediate'
      ? leaf.certPem + this.intermediate.certPem
      : leaf.certPem;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
