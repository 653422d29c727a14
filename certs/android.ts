/**
 * Android's system certificate store names each CA `<subject_hash_old>.0`
 * (/system/etc/security/cacerts, and /apex/com.android.conscrypt/cacerts on Android 14+), the
 * hash `openssl x509 -subject_hash_old` prints: OpenSSL's pre-1.0 X509_NAME_hash, the MD5 of the
 * subject Name exactly as DER-encoded in the certificate, its first 4 bytes read as a
 * little-endian 32-bit number, in 8 lowercase hex digits. Computed here from the certificate's own
 * bytes, so no re-encoding can change it.
 */
import crypto from 'node:crypto';

interface Tlv { tag: number; start: number; end: number; contentStart: number }

/** One DER element at `offset` (definite lengths only: DER has no other kind). */
function readTlv(der: Buffer, offset: number): Tlv {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error('DER: truncated element');
  let length = lengthByte;
  let contentStart = offset + 2;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length');
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[contentStart + i];
      if (lengthByte === undefined) throw new Error('DER: truncated length');
      length = length * 256 + lengthByte;
    }
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error('DER: element runs past the end');
  return { tag, start: offset, end, contentStart };
}

/** The children of a constructed element. */
function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end;) {
    const child = readTlv(der, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

const SEQUENCE = 0x30;
/** `[0] EXPLICIT Version` (RFC 5280 §4.1): absent in v1 certificates. */
const VERSION_TAG = 0xa0;

/** The DER bytes of the certificate's subject Name (RFC 5280 §4.1: tbsCertificate's 6th field, 5th without a version). */
export function subjectNameDer(certDer: Buffer): Buffer {
  const cert = readTlv(certDer, 0);
  const tbs = children(certDer, cert)[0];
  if (cert.tag !== SEQUENCE || !tbs || tbs.tag !== SEQUENCE) throw new Error('not an X.509 certificate');
  const fields = children(certDer, tbs);
  // version?, serialNumber, signature, issuer, validity, subject
  const subject = fields[fields[0]?.tag === VERSION_TAG ? 5 : 4];
  if (!subject || subject.tag !== SEQUENCE) throw new Error('X.509 certificate without a subject');
  return certDer.subarray(subject.start, subject.end);
}

/** `openssl x509 -subject_hash_old -noout` of a DER certificate: 8 hex digits. */
export function subjectHashOld(certDer: Buffer): string {
  const md5 = crypto.createHash('md5').update(subjectNameDer(certDer)).digest();
  return md5.readUInt32LE(0).toString(16).padStart(8, '0');
}

/** The file name Android's system store expects for this CA (`.0`: the first certificate with this hash). */
export function androidSystemFileName(certDer: Buffer): string {
  return `${subjectHashOld(certDer)}.0`;
}
