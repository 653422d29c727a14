/**
 * The `map` config key and admin list (docs/toolkit.md "Map rules"): each entry answers the URLs its
 * pattern matches from a local file or folder (`local`), from another base URL (`remote`), or with
 * a canned answer (`respond`), instead of the game's upstream. A validator that names the path of
 * every problem (`map[1].respond.status: …`), and the compiled matcher the proxy runs.
 */
import fs from 'node:fs';
import path from 'node:path';

/** A canned answer (`respond`). */
export interface MapRespond {
  /** The status code; default 200. */
  status?: number;
  /** Response headers, sent as written (no `content-length`: the proxy sets it). */
  headers?: Record<string, string>;
  /** The body, as UTF-8 text. At most one of `body` and `bodyFile`. */
  body?: string;
  /** A file whose bytes are the body (streamed), relative to the config file's folder. */
  bodyFile?: string;
}

/** One map rule; the first entry whose `url` matches wins. */
export interface MapEntry {
  /**
   * The game's URL, whole (query string included): `*` matches any run of characters, everything
   * else itself (`https://cdn.example.com/bundles/*`).
   */
  url: string;
  /**
   * A file answered for every matching URL, or a folder (a path ending in `/`, or an existing
   * directory) to which the part matched by the last `*` is appended (its query string left out);
   * relative to the config file's folder. `..` segments, encoded or not, are 404.
   */
  local?: string;
  /** A base URL (`https://staging.example.com/bundles/`) that replaces what the pattern matched before its last `*`. */
  remote?: string;
  /** Answered by the proxy itself. */
  respond?: MapRespond;
}

export type MapType = 'local' | 'remote' | 'respond';

/** What an exchange's events, log line and HAR entry carry when a map rule answered it. */
export interface Mapped {
  type: MapType;
  /** The file read, the URL requested, or `"respond"`. */
  to: string;
}

export interface MapProblem { path: string; message: string }

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => typeName(v) === 'object';
/** RFC 9110 §5.1 field names and §5.5 values (visible characters, space and tab; no CR, LF or NUL). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const ENTRY_KEYS = ['url', 'local', 'remote', 'respond'];
const RESPOND_KEYS = ['status', 'headers', 'body', 'bodyFile'];

function checkUrlPattern(v: unknown, at: string, out: MapProblem[]): void {
  if (typeof v !== 'string' || v === '') { out.push({ path: at, message: `must be a URL pattern (a string such as "https://cdn.example.com/bundles/*"), got ${JSON.stringify(v)}` }); return; }
  if (/\s/.test(v)) { out.push({ path: at, message: `must not contain white space, got ${JSON.stringify(v)}` }); return; }
  if (!/^(\*|https?:\/\/)/i.test(v)) out.push({ path: at, message: `must start with "https://", "http://" or "*", got ${JSON.stringify(v)}` });
}

function checkRemote(v: unknown, at: string, out: MapProblem[]): void {
  let url: URL | undefined;
  try { url = typeof v === 'string' ? new URL(v) : undefined; } catch { url = undefined; }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') {
    out.push({ path: at, message: `must be an http:// or https:// base URL, got ${JSON.stringify(v)}` });
  } else if (url.username || url.password) out.push({ path: at, message: 'must not carry credentials' });
  else if (url.hash) out.push({ path: at, message: 'must not have a #fragment' });
}

function checkRespond(v: unknown, at: string, dir: string | undefined, out: MapProblem[]): void {
  if (!isObject(v)) { out.push({ path: at, message: `must be an object ({"status", "headers", "body" or "bodyFile"}), got ${typeName(v)}` }); return; }
  for (const k of Object.keys(v)) if (!RESPOND_KEYS.includes(k)) out.push({ path: `${at}.${k}`, message: `unknown key (known: ${RESPOND_KEYS.join(', ')})` });
  const { status, headers, body, bodyFile } = v;
  if (status !== undefined && (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599)) {
    out.push({ path: `${at}.status`, message: `must be a whole number from 200 to 599, got ${JSON.stringify(status)}` });
  }
  if (headers !== undefined) {
    if (!isObject(headers)) out.push({ path: `${at}.headers`, message: `must be an object of header names to strings, got ${typeName(headers)}` });
    else {
      for (const [name, value] of Object.entries(headers)) {
        if (!TOKEN.test(name)) out.push({ path: `${at}.headers.${name}`, message: 'is not a valid header name' });
        else if (typeof value !== 'string') out.push({ path: `${at}.headers.${name}`, message: `must be a string, got ${typeName(value)}` });
        else if (!FIELD_VALUE.test(value)) out.push({ path: `${at}.headers.${name}`, message: 'must hold visible characters, spaces and tabs only (no CR, LF, NUL, nor characters beyond Latin-1)' });
        else if (['content-length', 'transfer-encoding', 'connection'].includes(name.toLowerCase())) out.push({ path: `${at}.headers.${name}`, message: 'is set by the proxy; leave it out' });
      }
    }
  }
  if (body !== undefined && typeof body !== 'string') out.push({ path: `${at}.body`, message: `must be a string, got ${typeName(body)}` });
  if (bodyFile !== undefined) {
    if (typeof bodyFile !== 'string' || bodyFile === '') out.push({ path: `${at}.bodyFile`, message: `must be a file path, got ${JSON.stringify(bodyFile)}` });
    else if (body !== undefined) out.push({ path: `${at}.bodyFile`, message: 'give "body" or "bodyFile", not both' });
    else if (dir !== undefined) {
      const file = path.resolve(dir, bodyFile);
      let stat: fs.Stats | undefined;
      try { stat = fs.statSync(file); } catch { stat = undefined; }
      if (!stat?.isFile()) out.push({ path: `${at}.bodyFile`, message: `${file} is not a readable file` });
    }
  }
}

/**
 * Every problem of a `map` list, each with its path (`map[0].url`). `dir` is the config file's
 * folder, against which `bodyFile` is checked; without it only the shape is.
 */
export function validateMap(value: unknown, dir?: string, base = 'map'): MapProblem[] {
  const out: MapProblem[] = [];
  if (!Array.isArray(value)) return [{ path: base, message: `must be a list of map rules, got ${typeName(value)}` }];
  value.forEach((entry, i) => {
    const at = `${base}[${i}]`;
    if (!isObject(entry)) { out.push({ path: at, message: `must be an object ({"url", and "local", "remote" or "respond"}), got ${typeName(entry)}` }); return; }
    for (const k of Object.keys(entry)) if (!ENTRY_KEYS.includes(k)) out.push({ path: `${at}.${k}`, message: `unknown key (known: ${ENTRY_KEYS.join(', ')})` });
    checkUrlPattern(entry.url, `${at}.url`, out);
    const given = (['local', 'remote', 'respond'] as const).filter((k) => entry[k] !== undefined);
    if (given.length === 0) out.push({ path: `${at}.local`, message: 'one of "local", "remote" or "respond" is needed' });
    else if (given.length > 1) out.push({ path: `${at}.${given[1]}`, message: `give one of "local", "remote" or "respond", not both ${given.map((g) => `"${g}"`).join(' and ')}` });
    if (entry.local !== undefined && (typeof entry.local !== 'string' || entry.local === '')) out.push({ path: `${at}.local`, message: `must be a file or folder path, got ${JSON.stringify(entry.local)}` });
    if (entry.remote !== undefined) checkRemote(entry.remote, `${at}.remote`, out);
    if (entry.respond !== undefined) checkRespond(entry.respond, `${at}.respond`, dir, out);
  });
  return out;
}

/** One entry ready for matching: its pattern as a RegExp, its paths absolute. */
export interface CompiledMapEntry {
  readonly entry: MapEntry;
  readonly pattern: RegExp;
  /** How many `*` the pattern has (the last one's capture is the tail). */
  readonly stars: number;
  /** `local` or `respond.bodyFile`, resolved against the config file's folder. */
  readonly file?: string;
}

/**
 * `*` becomes a capture, lazy for all but the last (which is greedy), so the last `*` takes the
 * longest tail: `https://cdn/*\/b/*` on `https://cdn/x/b/y/b/z` gives `x` and `y/b/z`.
 */
function patternOf(url: string): { pattern: RegExp; stars: number } {
  const parts = url.split('*');
  const escaped = parts.map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'));
  let source = escaped[0]!;
  for (let i = 1; i < escaped.length; i++) source += `${i === escaped.length - 1 ? '(.*)' : '(.*?)'}${escaped[i]}`;
  return { pattern: new RegExp(`^${source}$`, 's'), stars: parts.length - 1 };
}

/** Compiles a valid list (validateMap found nothing). */
export function compileMap(entries: readonly MapEntry[], dir: string): CompiledMapEntry[] {
  return entries.map((entry) => {
    const { pattern, stars } = patternOf(entry.url);
    const rel = entry.local ?? entry.respond?.bodyFile;
    // path.resolve drops a trailing `/`, which says "a folder": kept.
    const file = rel === undefined ? undefined : path.resolve(dir, rel) + (rel.endsWith('/') && rel.length > 1 ? '/' : '');
    return { entry, pattern, stars, file };
  });
}

/** The first entry matching `url`, and what its last `*` matched ('' when it has none). */
export function matchMap(list: readonly CompiledMapEntry[], url: string): { rule: CompiledMapEntry; tail: string } | undefined {
  for (const rule of list) {
    const m = rule.pattern.exec(url);
    if (m) return { rule, tail: rule.stars > 0 ? m[rule.stars]! : '' };
  }
  return undefined;
}
