/**
 * The mgproxy CA: `ca.pem` + `ca-key.pem` in the CA folder (docs/architecture.md), created on first use and
 * reused after. node-forge builds the certificate; Node's native crypto makes and signs with the
 * key (forge's pure-JS RSA key generation takes seconds).
 */
import crypto, { type KeyObject, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { certificateDerProblems } from './der.js';
import { loadForge } from './forge.js';
import { BACKDATE_MS, CA_VALIDITY_DAYS, DAY_MS, randomSerial, signWithNativeKey, utf8Name } from './x509.js';

export interface Ca {
  certFile: string;
  keyFile: string;
  certPem: string;
  /** The certificate in DER, for `/ca.crt` and `--der`. */
  certDer: Buffer;
  x509: X509Certificate;
  key: KeyObject;
  /**
   * Set when this load replaced the CA the folder held (expired, or one a strict parser refuses):
   * the one line telling the user to install the new CA, shown on the onboarding page and the
   * dashboard until the proxy restarts.
   */
  notice?: string;
}

/** `start` warns when the CA has less than this left. */
export const CA_RENEW_WARNING_DAYS = 30;

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

/** `~/.mgproxy`, the default of `--ca-dir`. */
export const defaultCaDir = () => path.join(os.homedir(), '.mgproxy');

/**
 * A root valid for 10 years (docs/tls-audit.md: the 398-day limit is the leaves'), SHA-256, RSA 2048, every
 * name a UTF8String. Its EKU limits what a stolen CA key could sign to TLS servers.
 */
function buildCa(): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forge = loadForge();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = randomSerial();
  const notBefore = new Date(Date.now() - BACKDATE_MS);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS);
  const subject = utf8Name([
    { name: 'commonName', value: `mgproxy CA (${os.hostname().slice(0, 40)})` },
    { name: 'organizationName', value: 'mgproxy' },
    { shortName: 'OU', value: 'mini-game network rules proxy; install only on test devices' },
  ]);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'mgproxy.local' }] },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWithNativeKey(cert, privateKey);
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Writes `data` to a new temp file created with `mode` (the key is never readable by others, not even briefly). */
function writeTemp(dir: string, name: string, data: string, mode: number): string {
  const tmp = path.join(dir, `.${name}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return tmp;
}

/**
 * Publishes key then certificate with link(2), which fails if the file exists: two processes
 * creating the CA at once cannot end up with one's key beside the other's certificate.
 */
function publish(dir: string): void {
  const { certPem, keyPem } = buildCa();
  const tmpKey = writeTemp(dir, CA_KEY_FILE, keyPem, 0o600);
  const tmpCert = writeTemp(dir, CA_CERT_FILE, certPem, 0o644);
  try {
    fs.linkSync(tmpKey, path.join(dir, CA_KEY_FILE));
    fs.linkSync(tmpCert, path.join(dir, CA_CERT_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmpKey, { force: true });
    fs.rmSync(tmpCert, { force: true });
  }
}

/** Another process won the race to create the CA: its certificate follows its key within moments. */
function waitForFile(file: string, ms: number): void {
  const until = Date.now() + ms;
  while (!fs.existsSync(file) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}

export class CaError extends Error {}

/**
 * Loads the CA from `dir`, creating it (and `dir`, mode 0700) when missing or expired.
 * Returns whether it was created, so the caller can tell the user to install it.
 */
export function loadOrCreateCa(dir: string): { ca: Ca; created: boolean } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, CA_CERT_FILE);
  const keyFile = path.join(dir, CA_KEY_FILE);
  let created = false;
  if (!fs.existsSync(keyFile) && !fs.existsSync(certFile)) {
    publish(dir);
    created = true;
  }
  waitForFile(certFile, 2000);
  if (!fs.existsSync(keyFile) || !fs.existsSync(certFile)) {
    throw new CaError(`${dir} holds only one of ${CA_CERT_FILE} and ${CA_KEY_FILE}; remove it to make a new CA`);
  }
  // A key file someone loosened is tightened again: it signs every certificate the phone trusts.
  if ((fs.statSync(keyFile).mode & 0o077) !== 0) fs.chmodSync(keyFile, 0o600);
  let ca: Ca;
  try {
    ca = readCa(certFile, keyFile);
  } catch (err) {
    throw new CaError(`cannot load the CA from ${dir}: ${(err as Error).message}`);
  }
  // Expired, or made by older code with names Chromium (Android WebView, Cronet) refuses: no device
  // can use it, so it is replaced, the old pair kept beside it (the user may want it).
  const expired = new Date(ca.x509.validTo).getTime() <= Date.now();
  const problems = expired ? [] : certificateDerProblems(ca.x509.raw);
  if (expired || problems.length > 0) {
    const suffix = retire(dir, expired ? 'expired' : 'invalid');
    const fresh = loadOrCreateCa(dir).ca;
    const why = expired
      ? `the CA in ${dir} expired on ${new Date(ca.x509.validTo).toISOString().slice(0, 10)}`
      : `the CA in ${dir} has a certificate that Chromium, Android WebView and Cronet refuse (${problems[0]})`;
    fresh.notice = `${why}: replaced it with a new CA (the old one is kept as ${CA_CERT_FILE}${suffix}); install ${fresh.certFile} on your test devices`;
    return { ca: fresh, created: true };
  }
  return { ca, created };
}

/** Renames ca.pem and ca-key.pem to `*.<why>-<date>`; returns the suffix. */
function retire(dir: string, why: 'expired' | 'invalid' | 'renewed'): string {
  const suffix = `.${why}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const certFile = path.join(dir, CA_CERT_FILE);
  const keyFile = path.join(dir, CA_KEY_FILE);
  for (const file of [certFile, keyFile]) if (fs.existsSync(file)) fs.renameSync(file, `${file}${suffix}`);
  return suffix;
}

/** `mgproxy ca --renew`: a new pair, the old one kept as `*.renewed-<date>`. */
export function renewCa(dir: string): { ca: Ca; retired?: string } {
  const had = fs.existsSync(path.join(dir, CA_CERT_FILE)) || fs.existsSync(path.join(dir, CA_KEY_FILE));
  let retired: string | undefined;
  if (had) {
    const suffix = retire(dir, 'renewed');
    retired = path.join(dir, `${CA_CERT_FILE}${suffix}`);
  }
  return { ca: loadOrCreateCa(dir).ca, retired };
}

/** Days until the CA expires (fractional). */
export const caDaysLeft = (ca: Ca, now = Date.now()): number => (new Date(ca.x509.validTo).getTime() - now) / DAY_MS;

function readCa(certFile: string, keyFile: string): Ca {
  const certPem = fs.readFileSync(certFile, 'utf8');
  const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
  const x509 = new X509Certificate(certPem);
  if (!x509.checkPrivateKey(key)) throw new Error(`${CA_KEY_FILE} is not the key of ${CA_CERT_FILE}`);
  return { certFile, keyFile, certPem, certDer: x509.raw, x509, key };
}
