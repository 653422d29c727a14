/**
 * A strict DER reader for certificates, as strict as Chromium's (and so Android WebView's and
 * Cronet's) parser where it matters to us: minimal lengths and integers, no indefinite lengths, no
 * constructed strings, BOOLEANs 0x00/0xFF, minimal BIT STRINGs, string values within their type's
 * alphabet (a `;` in a PrintableString is what made Chromium refuse the CA of earlier builds), and
 * DEFAULT values omitted. `certificateDerProblems` lists what such a parser would reject, so that
 * a CA made by older code is found and replaced at load.
 */

export interface Tlv {
  cls: number;
  constructed: boolean;
  tag: number;
  content: Buffer;
  children: Tlv[];
}

const UNIVERSAL = 0;
const CONTEXT = 2;
const T = { BOOLEAN: 1, INTEGER: 2, BIT_STRING: 3, OCTET_STRING: 4, NULL: 5, OID: 6, UTF8: 12, SEQUENCE: 16, SET: 17, PRINTABLE: 19, TELETEX: 20, IA5: 22, UTC_TIME: 23, GENERALIZED_TIME: 24, UNIVERSAL_STRING: 28, BMP: 30 } as const;
/** X.680 §41.4: PrintableString's whole alphabet. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export class DerError extends Error {}

/** Parses one DER element filling `buf` exactly; throws DerError naming the first rule broken. */
export function parseDer(buf: Buffer): Tlv {
  const [tlv, end] = readTlv(buf, 0, 'certificate');
  if (end !== buf.length) throw new DerError(`${buf.length - end} bytes after the end of the DER element`);
  return tlv;
}

function readTlv(buf: Buffer, at: number, where: string): [Tlv, number] {
  if (at + 2 > buf.length) throw new DerError(`${where}: truncated`);
  const id = buf[at]!;
  const cls = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tag = id & 0x1f;
  let p = at + 1;
  if (tag === 0x1f) {
    tag = 0;
    if (buf[p] === 0x80) throw new DerError(`${where}: tag number not minimal`);
    for (;;) {
      const b = buf[p++];
      if (b === undefined || tag > 0xffffff) throw new DerError(`${where}: bad tag number`);
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    if (tag < 0x1f) throw new DerError(`${where}: tag number not minimal`);
  }
  const first = buf[p++];
  if (first === undefined) throw new DerError(`${where}: truncated`);
  let len = first;
  if (first === 0x80) throw new DerError(`${where}: indefinite length (BER, not DER)`);
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 4 || p + n > buf.length) throw new DerError(`${where}: bad length`);
    if (buf[p] === 0) throw new DerError(`${where}: length not minimal`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
    if (len < 0x80) throw new DerError(`${where}: length not minimal`);
  }
  if (p + len > buf.length) throw new DerError(`${where}: length past the end`);
  const content = buf.subarray(p, p + len);
  const tlv: Tlv = { cls, constructed, tag, content, children: [] };
  if (constructed) {
    if (cls === UNIVERSAL && tag !== T.SEQUENCE && tag !== T.SET) throw new DerError(`${where}: constructed universal type ${tag} (DER strings are primitive)`);
    let q = 0;
    while (q < content.length) {
      const [child, next] = readTlv(content, q, where);
      tlv.children.push(child);
      q = next;
    }
  } else if (cls === UNIVERSAL) {
    checkPrimitive(tlv, where);
  }
  return [tlv, p + len];
}

function checkPrimitive({ tag, content: c }: Tlv, where: string): void {
  const fail = (why: string) => { throw new DerError(`${where}: ${why}`); };
  switch (tag) {
    case T.SEQUENCE: case T.SET: fail(`primitive SEQUENCE/SET`); break;
    case T.BOOLEAN: if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) fail('BOOLEAN must be one byte, 0x00 or 0xFF'); break;
    case T.INTEGER:
      if (c.length === 0) fail('empty INTEGER');
      if (c.length > 1 && ((c[0] === 0 && c[1]! < 0x80) || (c[0] === 0xff && c[1]! >= 0x80))) fail('INTEGER not minimally encoded');
      break;
    case T.BIT_STRING:
      if (c.length === 0 || c[0]! > 7 || (c.length === 1 && c[0] !== 0)) fail('bad BIT STRING unused-bits count');
      if (c.length > 1 && (c[c.length - 1]! & ((1 << c[0]!) - 1)) !== 0) fail('BIT STRING unused bits not zero');
      break;
    case T.NULL: if (c.length !== 0) fail('NULL with content'); break;
    case T.OID:
      if (c.length === 0 || (c[c.length - 1]! & 0x80) !== 0) fail('bad OBJECT IDENTIFIER');
      for (let i = 0; i < c.length; i++) if (c[i] === 0x80 && (i === 0 || !(c[i - 1]! & 0x80))) fail('OBJECT IDENTIFIER arc not minimal');
      break;
    case T.PRINTABLE:
      if (!PRINTABLE.test(c.toString('latin1'))) fail(`PrintableString ${JSON.stringify(c.toString('latin1'))} holds characters outside its alphabet (use UTF8String)`);
      break;
    case T.UTF8:
      try { new TextDecoder('utf-8', { fatal: true }).decode(c); } catch { fail('UTF8String is not valid UTF-8'); }
      break;
    case T.IA5: if (c.some((b) => b > 0x7f)) fail('IA5String with non-ASCII bytes'); break;
    case T.BMP: if (c.length % 2) fail('BMPString of odd length'); break;
    case T.UNIVERSAL_STRING: if (c.length % 4) fail('UniversalString length not a multiple of 4'); break;
    case T.UTC_TIME: if (!/^\d{12}Z$/.test(c.toString('latin1'))) fail('UTCTime must be YYMMDDHHMMSSZ'); break;
    case T.GENERALIZED_TIME: if (!/^\d{14}Z$/.test(c.toString('latin1'))) fail('GeneralizedTime must be YYYYMMDDHHMMSSZ'); break;
    default: break;
  }
}

/** An OBJECT IDENTIFIER's content octets as dotted text (X.690 §8.19). */
export const oidString = (c: Buffer): string => {
  const arcs: number[] = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) { arcs.push(v); v = 0; }
  }
  const [head = 0, ...rest] = arcs;
  const first = head < 80 ? Math.floor(head / 40) : 2;
  return [first, head - first * 40, ...rest].join('.');
};

const DIRECTORY_STRING_TAGS: ReadonlySet<number> = new Set([T.UTF8, T.PRINTABLE, T.TELETEX, T.UNIVERSAL_STRING, T.BMP]);
/** Attributes whose values are plain strings of a fixed type rather than DirectoryString. */
const FIXED_STRING_ATTRS: Record<string, ReadonlySet<number>> = {
  '2.5.4.6': new Set([T.PRINTABLE]), // countryName
  '2.5.4.5': new Set([T.PRINTABLE]), // serialNumber
  '1.2.840.113549.1.9.1': new Set([T.IA5]), // emailAddress
  '0.9.2342.19200300.100.1.25': new Set([T.IA5]), // domainComponent
};

function checkName(name: Tlv | undefined, which: string): void {
  if (!name || name.tag !== T.SEQUENCE) throw new DerError(`${which}: not a Name`);
  for (const rdn of name.children) {
    if (rdn.tag !== T.SET || rdn.children.length === 0) throw new DerError(`${which}: empty or malformed RDN`);
    for (const atv of rdn.children) {
      const [type, value] = atv.children;
      if (atv.tag !== T.SEQUENCE || type?.tag !== T.OID || !value || atv.children.length !== 2) throw new DerError(`${which}: malformed attribute`);
      const oid = oidString(type.content);
      const allowed = FIXED_STRING_ATTRS[oid] ?? DIRECTORY_STRING_TAGS;
      if (value.cls !== UNIVERSAL || !allowed.has(value.tag)) throw new DerError(`${which}: attribute ${oid} has string type ${value.tag}, not one its syntax allows`);
      if (value.content.length === 0) throw new DerError(`${which}: attribute ${oid} is empty`);
    }
  }
}

function checkExtension(ext: Tlv): void {
  const [id, second, third] = ext.children;
  if (ext.tag !== T.SEQUENCE || id?.tag !== T.OID) throw new DerError('extension: malformed');
  const oid = oidString(id.content);
  let value = second;
  if (second?.tag === T.BOOLEAN) {
    if (second.content[0] === 0) throw new DerError(`extension ${oid}: critical FALSE is the DEFAULT and must be omitted`);
    value = third;
  }
  if (value?.tag !== T.OCTET_STRING || ext.children.length !== (value === second ? 2 : 3)) throw new DerError(`extension ${oid}: malformed`);
  const inner = (() => {
    try { return parseDer(value.content); } catch (err) { throw new DerError(`extension ${oid}: ${(err as Error).message}`); }
  })();
  if (oid === '2.5.29.19') {
    const [cA] = inner.children;
    if (cA?.tag === T.BOOLEAN && cA.content[0] === 0) throw new DerError('basicConstraints: cA FALSE is the DEFAULT and must be omitted');
  } else if (oid === '2.5.29.15') {
    const c = inner.content;
    if (inner.tag !== T.BIT_STRING || c.length < 2) throw new DerError('keyUsage: not a non-empty BIT STRING');
    if ((c[c.length - 1]! & (1 << c[0]!)) === 0) throw new DerError('keyUsage: trailing zero bits (a DER named bit list ends on a 1)');
  } else if (oid === '2.5.29.17') {
    if (inner.tag !== T.SEQUENCE || inner.children.length === 0) throw new DerError('subjectAltName: empty');
    for (const gn of inner.children) {
      if (gn.cls !== CONTEXT) throw new DerError('subjectAltName: not a GeneralName');
      if (gn.tag === 2 && (gn.content.length === 0 || gn.content.some((b) => b > 0x7e || b < 0x21))) throw new DerError('subjectAltName: dNSName is not printable ASCII');
      if (gn.tag === 7 && gn.content.length !== 4 && gn.content.length !== 16) throw new DerError('subjectAltName: iPAddress is neither 4 nor 16 bytes');
    }
  }
}

/** What a strict X.509 parser would reject in this certificate (empty when nothing). */
export function certificateDerProblems(der: Buffer): string[] {
  try {
    const cert = parseDer(der);
    const [tbs, sigAlg, sig] = cert.children;
    if (cert.tag !== T.SEQUENCE || tbs?.tag !== T.SEQUENCE || sigAlg?.tag !== T.SEQUENCE || sig?.tag !== T.BIT_STRING || cert.children.length !== 3) {
      throw new DerError('not an X.509 Certificate');
    }
    const fields = [...tbs.children];
    if (fields[0]?.cls === CONTEXT && fields[0].tag === 0) {
      const v = fields.shift()!.children[0];
      if (v?.tag !== T.INTEGER || v.content.length !== 1 || v.content[0] === 0) throw new DerError('version: v1 is the DEFAULT and must be omitted; else v2 or v3');
    }
    const [serial, , issuer, , subject] = fields;
    if (serial?.tag !== T.INTEGER || serial.content.length > 21) throw new DerError('serialNumber: not an INTEGER of at most 20 octets');
    checkName(issuer, 'issuer');
    checkName(subject, 'subject');
    const exts = fields.find((f) => f.cls === CONTEXT && f.tag === 3)?.children[0];
    for (const ext of exts?.children ?? []) checkExtension(ext);
    return [];
  } catch (err) {
    if (err instanceof DerError) return [err.message];
    throw err;
  }
}
