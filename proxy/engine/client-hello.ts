/**
 * What the proxy needs from a TLS ClientHello before the handshake starts (proxy/engine/connect.ts):
 * its server name (SNI), so that the leaf for the right name is chosen up front; whether its ALPN
 * offers h2; and whether the client can take an ECDSA P-256 leaf, so that a new host's first
 * handshake mints only the one leaf that client will get (docs/certificates.md). Node's
 * SNICallback can switch contexts, but it copies only one certificate of the new context onto the
 * connection (node_crypto's UseSNIContext): reading the hello ahead keeps each connection on one
 * context minted for its name and key type.
 */
import tls from 'node:tls';

/** A ClientHello longer than this (one TLS record holds at most 16 KiB) is not waited for. */
export const MAX_CLIENT_HELLO = 16 * 1024 + 5;

export type HelloName =
  /** More bytes are needed to know. */
  | { kind: 'partial' }
  /**
   * The ClientHello is complete: its server name, if it sent one, whether its ALPN offers h2, and
   * whether a P-256 leaf suits it (offersEcdsa).
   */
  | { kind: 'done'; name?: string; offersH2?: boolean; offersEcdsa?: boolean }
  /** Not a ClientHello in one record (or malformed): let TLS itself handle it. */
  | { kind: 'unknown' };

/** SignatureScheme ecdsa_secp256r1_sha256 (RFC 8446 §4.2.3); in TLS 1.2 the same two bytes are the pair {sha256, ecdsa} (RFC 5246 §7.4.1.4.1). */
const ECDSA_P256_SHA256 = 0x0403;
/** supported_groups (RFC 8446 §4.2.7; "elliptic_curves" in RFC 8422 §5.1.1): secp256r1. */
const SECP256R1 = 23;
const TLS13 = 0x0304;
/**
 * The ECDHE_ECDSA cipher suites the proxy's server side enables (Node's default cipher list, as
 * `openssl ciphers -V` lists it): AES-GCM, ChaCha20-Poly1305, AES-CCM(8), ARIA-GCM, AES-CBC.
 * A TLS 1.2 client gets a P-256 leaf only if it offers one of these: the suite, not the
 * certificate, names the server's signature algorithm there (RFC 5246 §7.4.2).
 */
const ECDHE_ECDSA_SUITES: ReadonlySet<number> = new Set([
  0xc02b, 0xc02c, 0xcca9, 0xc0ac, 0xc0ad, 0xc0ae, 0xc0af, 0xc05c, 0xc05d, 0xc023, 0xc024, 0xc009, 0xc00a,
]);
const EXT = { serverName: 0, supportedGroups: 10, signatureAlgorithms: 13, alpn: 16, supportedVersions: 43 } as const;

/** Whether `buf[from, to)`, a list of 2-byte values, holds `value`. */
function has16(buf: Buffer, from: number, to: number, value: number): boolean {
  for (let q = from; q + 2 <= to; q += 2) if (buf.readUInt16BE(q) === value) return true;
  return false;
}

export function helloServerName(buf: Buffer): HelloName {
  if (buf.length < 5) return { kind: 'partial' };
  if (buf[0] !== 0x16) return { kind: 'unknown' };
  const recordEnd = 5 + buf.readUInt16BE(3);
  if (recordEnd > MAX_CLIENT_HELLO) return { kind: 'unknown' };
  if (buf.length < recordEnd) return { kind: 'partial' };
  // Handshake header: type 1 (ClientHello), 3-byte length; it must fit in this record.
  if (buf[5] !== 0x01 || recordEnd < 9) return { kind: 'unknown' };
  const helloEnd = 9 + buf.readUIntBE(6, 3);
  if (helloEnd > recordEnd) return { kind: 'unknown' };
  let p = 9 + 2 + 32; // client_version, random
  const skip = (lenBytes: number): boolean => {
    if (p + lenBytes > helloEnd) return false;
    const n = buf.readUIntBE(p, lenBytes);
    p += lenBytes + n;
    return p <= helloEnd;
  };
  if (!skip(1)) return { kind: 'unknown' }; // session_id
  const suites = p + 2;
  if (!skip(2)) return { kind: 'unknown' }; // cipher_suites
  let ecdsaSuite = false;
  for (let q = suites; q + 2 <= p; q += 2) if (ECDHE_ECDSA_SUITES.has(buf.readUInt16BE(q))) { ecdsaSuite = true; break; }
  if (!skip(1)) return { kind: 'unknown' }; // compression_methods
  if (p === helloEnd) return { kind: 'done' }; // no extensions: no signature_algorithms, so RSA
  if (p + 2 > helloEnd) return { kind: 'unknown' };
  const extEnd = p + 2 + buf.readUInt16BE(p);
  if (extEnd > helloEnd) return { kind: 'unknown' };
  p += 2;
  let name: string | undefined;
  let offersH2 = false;
  let tls13 = false;
  let ecdsaP256Sha256 = false;
  // Absent supported_groups: a TLS 1.2 server may use any curve (RFC 8422 §4).
  let p256 = true;
  while (p + 4 <= extEnd) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    const body = p + 4;
    const end = body + len;
    if (end > extEnd) return { kind: 'unknown' };
    if (type === EXT.serverName) {
      // server_name: list length, then entries of (type 0 = host_name, 2-byte length, name).
      let q = body + 2;
      while (q + 3 <= end) {
        const nameType = buf[q]!;
        const nameLen = buf.readUInt16BE(q + 1);
        if (q + 3 + nameLen > end) return { kind: 'unknown' };
        if (nameType === 0) { name = buf.toString('latin1', q + 3, q + 3 + nameLen); break; }
        q += 3 + nameLen;
      }
    } else if (type === EXT.alpn) {
      // application_layer_protocol_negotiation (RFC 7301 §3.1): list length, then (1-byte length, name).
      for (let q = body + 2; q < end; q += 1 + buf[q]!) {
        if (buf[q] === 2 && q + 3 <= end && buf[q + 1] === 0x68 && buf[q + 2] === 0x32) offersH2 = true;
      }
    } else if (type === EXT.supportedVersions && len >= 1) {
      // supported_versions (RFC 8446 §4.2.1): a 1-byte list length, then 2-byte versions.
      tls13 = has16(buf, body + 1, Math.min(end, body + 1 + buf[body]!), TLS13);
    } else if (type === EXT.signatureAlgorithms && len >= 2) {
      ecdsaP256Sha256 = has16(buf, body + 2, Math.min(end, body + 2 + buf.readUInt16BE(body)), ECDSA_P256_SHA256);
    } else if (type === EXT.supportedGroups && len >= 2) {
      p256 = has16(buf, body + 2, Math.min(end, body + 2 + buf.readUInt16BE(body)), SECP256R1);
    }
    p = end;
  }
  // TLS 1.3 (the proxy's server contexts take Node's default versions, 1.3 included unless Node
  // runs with --tls-max-v1.2, when a 1.3 client falls back to the 1.2 rules): the certificate's key
  // must suit a scheme of signature_algorithms (RFC 8446 §4.4.2.2), and ecdsa_secp256r1_sha256
  // names the curve itself (§4.2.3). TLS 1.2: an ECDHE_ECDSA suite, {sha256, ecdsa} among
  // signature_algorithms (absent, the server would have to sign with SHA-1, RFC 5246 §7.4.1.4.1),
  // and P-256 among the curves the client takes for ECDSA, when it lists them (RFC 8422 §5.1.1).
  // Every other client gets the RSA leaf: TLS 1.3 clients must all take RSA (RFC 8446 §9.1).
  const offersEcdsa = ecdsaP256Sha256 && ((tls13 && tls.DEFAULT_MAX_VERSION === 'TLSv1.3') || (ecdsaSuite && p256));
  return { kind: 'done', ...(name === undefined ? {} : { name }), ...(offersH2 ? { offersH2 } : {}), ...(offersEcdsa ? { offersEcdsa } : {}) };
}
