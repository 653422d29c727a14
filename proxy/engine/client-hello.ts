/**
 * The server name (SNI) of a TLS ClientHello, read from the bytes before the handshake starts, so
 * that the leaf for the right name is chosen up front (proxy/engine/connect.ts). Node's SNICallback can
 * switch contexts, but it copies only one certificate of the new context onto the connection
 * (node_crypto's UseSNIContext), so a context holding an RSA leaf and its ECDSA twin would leave the
 * other kind from the first context in place.
 */

/** A ClientHello longer than this (one TLS record holds at most 16 KiB) is not waited for. */
export const MAX_CLIENT_HELLO = 16 * 1024 + 5;

export type HelloName =
  /** More bytes are needed to know. */
  | { kind: 'partial' }
  /** The ClientHello is complete: its server name, if it sent one, and whether its ALPN offers h2. */
  | { kind: 'done'; name?: string; offersH2?: boolean }
  /** Not a ClientHello in one record (or malformed): let TLS itself handle it. */
  | { kind: 'unknown' };

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
  if (!skip(1) || !skip(2) || !skip(1)) return { kind: 'unknown' }; // session_id, cipher_suites, compression_methods
  if (p === helloEnd) return { kind: 'done' }; // no extensions
  if (p + 2 > helloEnd) return { kind: 'unknown' };
  const extEnd = p + 2 + buf.readUInt16BE(p);
  if (extEnd > helloEnd) return { kind: 'unknown' };
  p += 2;
  let name: string | undefined;
  let offersH2 = false;
  while (p + 4 <= extEnd) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    const body = p + 4;
    if (body + len > extEnd) return { kind: 'unknown' };
    if (type === 0) {
      // server_name: list length, then entries of (type 0 = host_name, 2-byte length, name).
      let q = body + 2;
      while (q + 3 <= body + len) {
        const nameType = buf[q]!;
        const nameLen = buf.readUInt16BE(q + 1);
        if (q + 3 + nameLen > body + len) return { kind: 'unknown' };
        if (nameType === 0) { name = buf.toString('latin1', q + 3, q + 3 + nameLen); break; }
        q += 3 + nameLen;
      }
    } else if (type === 16) {
      // application_layer_protocol_negotiation (RFC 7301 §3.1): list length, then (1-byte length, name).
      for (let q = body + 2; q < body + len; q += 1 + buf[q]!) {
        if (buf[q] === 2 && q + 3 <= body + len && buf[q + 1] === 0x68 && buf[q + 2] === 0x32) offersH2 = true;
      }
    }
    p = body + len;
  }
  return { kind: 'done', ...(name === undefined ? {} : { name }), ...(offersH2 ? { offersH2 } : {}) };
}
