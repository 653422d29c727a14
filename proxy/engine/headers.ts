/**
 * The one home of header handling: which fields a proxy consumes, a raw list to headers, and a
 * raw HTTP/1.1 head. Raw lists come in two forms, Node's `req.rawHeaders` (strings) and undici's
 * `controller.rawHeaders` (Buffers, latin1 as on the wire); every function takes both.
 */
import { type IncomingHttpHeaders, STATUS_CODES } from 'node:http';

/** A raw header list: name, value, name, value… as received. */
export type RawHeaders = readonly (string | Buffer)[];

/**
 * RFC 9110 §7.6.1 (and RFC 9112 §7.1.3, RFC 9110 §11.7): hop-by-hop fields are the proxy's to
 * consume, never to forward, whichever way they go.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/**
 * Dropped from a request on its way upstream besides the hop-by-hop fields: `expect`, since Node's
 * server has already answered `100 Continue` to the client and undici sends the body as it comes.
 * A WebSocket's `upgrade`/`connection` are written by undici itself.
 */
const REQUEST_ONLY = new Set(['expect']);

/** A field the proxy never passes on in a request: hop-by-hop, or `expect`. */
export const droppedFromRequest = (lower: string): boolean => HOP_BY_HOP.has(lower) || REQUEST_ONLY.has(lower);

const text = (v: string | Buffer): string => (typeof v === 'string' ? v : v.toString('latin1'));

/** The fields named by Connection (RFC 9110 §7.6.1), lowercased; undefined when there is none. */
export function connectionTokens(raw: RawHeaders): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && text(raw[i]!).toLowerCase() === 'connection') {
      for (const t of text(raw[i + 1]!).split(',')) (named ??= new Set()).add(t.trim().toLowerCase());
    }
  }
  return named;
}

/**
 * The end-to-end part of a raw list (hop-by-hop and Connection-named fields dropped, and any name
 * `drop` says), names, order and repeated fields kept, as a flat string list.
 */
export function endToEnd(raw: RawHeaders, drop?: (lower: string) => boolean): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = text(raw[i]!);
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop?.(lower)) continue;
    out.push(name, text(raw[i + 1]!));
  }
  return out;
}

/** The client's headers as the upstream gets them: end-to-end fields in order, `overrides` instead of the client's. */
export function requestHeaders(raw: RawHeaders, overrides: Readonly<Record<string, string>>): string[] {
  const out = endToEnd(raw, (lower) => droppedFromRequest(lower) || lower in overrides);
  for (const name in overrides) out.push(name, overrides[name]!);
  return out;
}

/**
 * A raw list as Node's parsed headers: lowercased names, repeated values joined with `, `, except
 * Set-Cookie, kept as an array (RFC 6265 §3: its values cannot be joined).
 */
export function headersOf(raw: RawHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const lower = text(raw[i]!).toLowerCase();
    const value = text(raw[i + 1]!);
    const seen = out[lower];
    if (seen === undefined) out[lower] = lower === 'set-cookie' ? [value] : value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[lower] = `${seen}, ${value}`;
  }
  return out;
}

/**
 * An HTTP/1.1 response head, up to and including its blank line: each field of `fields` (a raw
 * list, or name → value) on its own line as given. For the heads the proxy writes to a socket
 * itself (a WebSocket's answer, its own answers on CONNECT and upgrades).
 */
export function rawHead(status: number, statusText: string | undefined, fields: RawHeaders | Readonly<Record<string, string>>): string {
  let head = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}\r\n`;
  if (Array.isArray(fields)) {
    const raw = fields as RawHeaders;
    for (let i = 0; i < raw.length; i += 2) head += `${text(raw[i]!)}: ${text(raw[i + 1]!)}\r\n`;
  } else {
    for (const [name, value] of Object.entries(fields)) head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}
