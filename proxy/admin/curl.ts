/**
 * Copy as cURL (docs/toolkit.md): a kept request as one command line for a POSIX shell that sends
 * it again through the proxy (`-x`, `--cacert` the proxy's CA). Every argument is in single quotes
 * (a `'` inside becomes `'\''`), so nothing in a header or the URL is expanded by the shell.
 * A body that is UTF-8 text (no NUL, not starting with `@`, at most TEXT_BODY_MAX bytes) is one
 * `--data-binary` argument; any other is written by the shell's own `printf` with an octal escape
 * per byte (POSIX printf: `\ddd`; `$'…'` is not POSIX) and piped to `--data-binary @-`.
 */
import type { ReplayRequest } from '../engine/replay.js';

/** Above this a text body goes through printf too: Linux refuses a single argument over 128 KiB to a program (MAX_ARG_STRLEN). */
const TEXT_BODY_MAX = 64 * 1024;

/** Fields curl writes itself, or that describe the connection to the proxy rather than the request. */
const LEFT_OUT = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect']);

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The body as a POSIX printf format: printable ASCII as itself, the rest (and `\`, `%`, `'`) as `\ddd`. */
export function printfOctal(body: Buffer): string {
  let out = '';
  for (const b of body) out += b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x25 && b !== 0x27 ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  return out;
}

function asText(body: Buffer): string | undefined {
  if (body.length > TEXT_BODY_MAX || body.includes(0) || body[0] === 0x40) return undefined;
  const text = body.toString('utf8');
  return Buffer.from(text, 'utf8').equals(body) ? text : undefined;
}

export function curlCommand(r: ReplayRequest, proxyUrl: string, caFile: string): string {
  const args = ['curl', '-x', shellQuote(proxyUrl), '--cacert', shellQuote(caFile), '--path-as-is', '--globoff'];
  const hasBody = r.body.length > 0;
  if (r.method === 'HEAD') args.push('--head');
  else if (!(r.method === 'GET' && !hasBody) && !(r.method === 'POST' && hasBody)) args.push('-X', shellQuote(r.method));
  const named = new Set<string>();
  for (let i = 0; i + 1 < r.rawHeaders.length; i += 2) {
    const name = r.rawHeaders[i]!, value = r.rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    named.add(lower);
    if (LEFT_OUT.has(lower)) continue;
    // curl's syntax for a header with an empty value is `Name;`.
    args.push('-H', shellQuote(value === '' ? `${name};` : `${name}: ${value}`));
  }
  // curl adds these of its own unless told not to; the upstream must see the request's own fields.
  for (const [lower, name] of [['user-agent', 'User-Agent'], ['accept', 'Accept']]) if (!named.has(lower!)) args.push('-H', shellQuote(`${name}:`));
  if (hasBody) {
    args.push('-H', shellQuote('Expect:'));
    // With a body curl would say it is a form.
    if (!named.has('content-type')) args.push('-H', shellQuote('Content-Type:'));
  }
  let stdin = '';
  if (hasBody) {
    const text = asText(r.body);
    if (text !== undefined) args.push('--data-binary', shellQuote(text));
    else {
      stdin = `printf '${printfOctal(r.body)}' | `;
      args.push('--data-binary', '@-');
    }
  }
  args.push(shellQuote(r.url));
  return `${stdin}${args.join(' ')}\n`;
}
