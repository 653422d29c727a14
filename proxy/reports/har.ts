/**
 * The HAR report (docs/rules.md, docs/rules.md "HAR"): HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/)
 * of every exchange, blocked ones included with the proxy's own answer, that Chrome DevTools and
 * Charles import. Bodies up to 1 MiB each, as text when textual and valid UTF-8, else base64;
 * bigger ones are omitted with `_mgproxy.bodyOmitted: true`. `_mgproxy.violations` holds the
 * entry's events. Cookies, credentials and the values named in `redact` are written as
 * `[redacted]` unless `secrets` is `keep` (proxy/reports/har-redact.ts, docs/har.md).
 *
 * Memory stays bounded however long the run: each entry is serialised and appended to the
 * report's temp file when its exchange ends (only bodies in flight are held, each capped at
 * 1 MiB and all together at CAPTURE_BUDGET), and the file is closed and renamed at exit, so
 * writing the report costs the same for 10 exchanges as for 100,000.
 */
import { isUtf8 } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Api } from '../../config/schema.js';
import type { Violation } from '../flow/events.js';
import type { Outcome } from '../flow/exchange.js';
import type { WsMessage } from '../sockets/observer.js';
import { answerHeaders, type ProxyAnswer } from '../flow/respond.js';
import { type Condition, describeCondition } from '../network/conditions.js';
import { AtomicFile } from './write-atomic.js';
import { chainTap } from '../flow/taps.js';
import { HarRedactor, type RedactableEntry } from './har-redact.js';
import { decodeWhole } from '../rules/body/decoders.js';
import { isReadableText } from '../rules/body/textual.js';
import type { Mapped } from '../../config/map.js';
import { packageFile } from '../package-files.js';

/** docs/rules.md: bodies up to 1 MiB each. */
export const MAX_HAR_BODY_BYTES = 1024 * 1024;
/** All bodies being captured at once, across exchanges in flight; past it new bodies are omitted. */
export const CAPTURE_BUDGET_BYTES = 256 * 1024 * 1024;
/** Serialised entries waiting for the disk; past it bodies are omitted until it catches up. */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/** What the recorder reads of an exchange (proxy/flow/exchange.ts's Exchange; the benchmark feeds look-alikes). */
export interface HarExchange {
  readonly id: number;
  readonly method: string;
  readonly url: string;
  readonly api: Api;
  readonly client: string;
  readonly clientName?: string;
  readonly startedAt: number;
  readonly req: { readonly httpVersion: string; readonly rawHeaders: readonly string[] };
  /** The client's side (docs/http2.md); HTTP/1.1 when absent. */
  readonly protocol?: 'http/1.1' | 'h2';
  readonly status?: number;
  readonly responseHeaders?: IncomingHttpHeaders;
  readonly responseStartMs?: number;
  readonly durationMs?: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly violations: readonly Violation[];
  readonly outcome?: Outcome;
  readonly proxyAnswer?: ProxyAnswer;
  /** docs/network.md: the network condition it ran under, as `_mgproxy.network`. */
  readonly network?: Condition;
  /** A map rule took it (docs/toolkit.md), as `_mgproxy.mapped`. */
  readonly mapped?: Mapped;
  /** Milliseconds it waited for a concurrency slot (`timings.blocked`); undefined when it never waited. */
  readonly queuedMs?: number;
  requestBodyTap?: (chunk: Buffer) => void;
  responseBodyTap?: (chunk: Buffer) => void;
}

type OmitReason = 'size' | 'memory';

/** One body as it streams past: kept whole up to the cap, dropped entirely past it. */
class Capture {
  chunks: Buffer[] = [];
  size = 0;
  omitted?: OmitReason;

  constructor(private readonly budget: { used: number; max: number }) {}

  readonly tap = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.omitted) return;
    if (this.size > MAX_HAR_BODY_BYTES) this.drop('size');
    else if (this.budget.used + chunk.length > this.budget.max) this.drop('memory');
    else {
      this.chunks.push(chunk);
      this.budget.used += chunk.length;
    }
  };

  drop(reason: OmitReason): void {
    this.omitted = reason;
    this.release();
  }

  release(): void {
    for (const c of this.chunks) this.budget.used -= c.length;
    this.chunks = [];
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

interface HarHeader { name: string; value: string }
interface HarContent { size: number; mimeType: string; text?: string; encoding?: 'base64'; compression?: number; comment?: string }

/** Text when the type is textual (or unknown) and the bytes are UTF-8; base64 otherwise, losslessly. */
function encodeBody(body: Buffer, contentType: string | undefined): { text: string; encoding?: 'base64' } {
  if (isReadableText(contentType) && isUtf8(body)) return { text: body.toString('utf8') };
  return { text: body.toString('base64'), encoding: 'base64' };
}

/** HAR's `content` is the decoded body: gzip, deflate and br are undone, still within the 1 MiB cap. */
function decodeBody(body: Buffer, contentEncoding: string | undefined): { body?: Buffer; error?: string } {
  const decoded = decodeWhole(body, contentEncoding, MAX_HAR_BODY_BYTES);
  return decoded.tooLarge ? {} : decoded;
}

function headerList(headers: IncomingHttpHeaders | Record<string, string>): HarHeader[] {
  const out: HarHeader[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push({ name, value: v });
    else out.push({ name, value: String(value) });
  }
  return out;
}

function rawHeaderList(raw: readonly string[]): HarHeader[] {
  const out: HarHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push({ name: raw[i]!, value: raw[i + 1]! });
  return out;
}

function findHeader(headers: HarHeader[], name: string): string | undefined {
  return headers.find((h) => h.name.toLowerCase() === name)?.value;
}

function requestCookies(headers: HarHeader[]) {
  const cookie = findHeader(headers, 'cookie');
  if (!cookie) return [];
  return cookie.split(';').map((c) => c.trim()).filter(Boolean).map((c) => {
    const eq = c.indexOf('=');
    return eq < 0 ? { name: c, value: '' } : { name: c.slice(0, eq), value: c.slice(eq + 1) };
  });
}

function responseCookies(headers: HarHeader[]) {
  return headers.filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => {
    const [pair = '', ...attrs] = h.value.split(';');
    const eq = pair.indexOf('=');
    const cookie: Record<string, string | boolean> = eq < 0 ? { name: pair.trim(), value: '' } : { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
    for (const attr of attrs) {
      const [k = '', v = ''] = attr.split('=').map((s) => s.trim());
      const key = k.toLowerCase();
      if (key === 'path' || key === 'domain' || key === 'expires') cookie[key] = v;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'secure') cookie.secure = true;
    }
    return cookie;
  });
}

function queryString(url: string): HarHeader[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(url.slice(q + 1).replace(/#.*$/, ''))].map(([name, value]) => ({ name, value }));
}

const omittedComment = (what: string, reason: OmitReason, size: number) => (reason === 'size'
  ? `${what} of ${size} bytes is over the 1 MiB limit: omitted by mgproxy`
  : `${what} omitted by mgproxy: too many bodies were being recorded at once`);

/** Where a socket's observed messages come from (proxy/sockets/messages.ts's SocketMessages). */
export interface HarSocketMessages {
  settled(socket: number): Promise<void>;
  messagesOf(socket: number): readonly WsMessage[];
}

export interface HarRecorderOptions {
  creator?: { name: string; version: string };
  /** WebSocket messages for `_webSocketMessages` (docs/dashboard.md). */
  socketMessages?: HarSocketMessages;
  /** Bytes of bodies held at once across exchanges in flight (default CAPTURE_BUDGET_BYTES). */
  captureBudget?: number;
  /** docs/platforms.md: the platforms checked, in the config's order (`_mgproxy.platform` and `.platforms`). */
  platforms?: readonly string[];
  /** `keep`: cookies and tokens as they were (`--har-secrets keep`); default `redact`. */
  secrets?: 'redact' | 'keep';
  /** Header and query parameter names redacted besides Cookie, Set-Cookie, Authorization, Proxy-Authorization. */
  redact?: readonly string[];
}

export class HarRecorder {
  private readonly file: AtomicFile;
  private readonly captures = new Map<HarExchange, { req: Capture; res: Capture }>();
  private readonly budget: { used: number; max: number };
  private entries = 0;
  private closed = false;
  private readonly socketMessages?: HarSocketMessages;
  /** Socket entries waiting for their last messages to be parsed. */
  private readonly pending = new Set<Promise<void>>();
  private readonly platforms: readonly string[];
  private detach: () => void = () => undefined;
  private readonly redactor?: HarRedactor;

  /** Opens the temp file beside `target` at once (a path that cannot be written fails here). Readable by its owner only: it holds cookies and tokens. */
  constructor(readonly target: string, opts: HarRecorderOptions = {}) {
    this.budget = { used: 0, max: opts.captureBudget ?? CAPTURE_BUDGET_BYTES };
    this.socketMessages = opts.socketMessages;
    this.platforms = opts.platforms ?? [];
    if (opts.secrets !== 'keep') this.redactor = new HarRedactor(opts.redact);
    this.file = AtomicFile.open(target, 0o600);
    const creator = opts.creator ?? { name: 'mgproxy', version: packageVersion() };
    this.file.write(`{\n  "log": {\n    "version": "1.2",\n    "creator": ${JSON.stringify(creator)},\n    "entries": [`);
  }

  /** Records every exchange `events` announces ('exchange-start' sets the body taps, 'exchange' writes the entry). */
  attach(events: EventEmitter): void {
    const onStart = (ex: HarExchange) => this.start(ex);
    const onEnd = (ex: HarExchange) => this.add(ex);
    events.on('exchange-start', onStart);
    events.on('exchange', onEnd);
    this.detach = () => {
      events.off('exchange-start', onStart);
      events.off('exchange', onEnd);
    };
  }

  get count(): number {
    return this.entries;
  }

  /** Sets the exchange's body taps; called when it is created, before any body byte flows. */
  start(ex: HarExchange): void {
    if (this.closed) return;
    const c = { req: new Capture(this.budget), res: new Capture(this.budget) };
    this.captures.set(ex, c);
    // The dashboard's store taps request bodies too (kept for replay): every recorder sees every chunk (proxy/flow/taps.ts).
    ex.requestBodyTap = chainTap(ex.requestBodyTap, c.req.tap);
    ex.responseBodyTap = chainTap(ex.responseBodyTap, c.res.tap);
  }

  /** Appends the finished exchange's entry to the file and lets its bodies go (a socket's once its last messages are parsed). */
  add(ex: HarExchange): void {
    if (this.closed) return;
    if (ex.api === 'connectSocket' && ex.status === 101 && this.socketMessages) {
      const p = this.socketMessages.settled(ex.id).then(() => { this.pending.delete(p); this.write(ex); });
      this.pending.add(p);
      return;
    }
    this.write(ex);
  }

  private write(ex: HarExchange): void {
    if (this.closed) return;
    const c = this.captures.get(ex);
    this.captures.delete(ex);
    if (c && this.file.backlog > MAX_BACKLOG_BYTES) { c.req.drop('memory'); c.res.drop('memory'); }
    const entry = this.entry(ex, c);
    this.redactor?.redact(entry as unknown as RedactableEntry);
    c?.req.release();
    c?.res.release();
    this.file.write(`${this.entries === 0 ? '' : ','}\n      ${JSON.stringify(entry)}`);
    this.entries++;
  }

  /** Closes the entries and renames the file into place. */
  async finish(): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.pending);
    this.close();
    this.file.write(`${this.entries === 0 ? '' : '\n    '}]\n  }\n}\n`);
    await this.file.commit();
  }

  abort(): void {
    if (this.closed) return;
    this.close();
    this.file.abort();
  }

  private close(): void {
    this.closed = true;
    this.detach();
    for (const c of this.captures.values()) { c.req.release(); c.res.release(); }
    this.captures.clear();
  }

  private entry(ex: HarExchange, c: { req: Capture; res: Capture } | undefined) {
    const omitted: string[] = [];
    const reqHeaders = rawHeaderList(ex.req.rawHeaders);
    // As Chrome DevTools writes them: `h2` (its pseudo-headers among the request headers), else `HTTP/1.x`.
    const h2 = ex.protocol === 'h2';
    const request: Record<string, unknown> = {
      method: ex.method, url: ex.url, httpVersion: h2 ? 'h2' : `HTTP/${ex.req.httpVersion}`,
      cookies: requestCookies(reqHeaders), headers: reqHeaders, queryString: queryString(ex.url),
      // A socket's frames are not the upgrade request's body (they are in _mgproxy.bytesIn).
      headersSize: -1, bodySize: ex.api === 'connectSocket' ? 0 : ex.bytesIn,
    };
    if (c && c.req.size > 0) {
      const mimeType = findHeader(reqHeaders, 'content-type') ?? '';
      if (c.req.omitted) {
        omitted.push('request');
        request.postData = { mimeType, text: '', comment: omittedComment('request body', c.req.omitted, c.req.size) };
      } else {
        const { text, encoding } = encodeBody(c.req.bytes(), mimeType);
        // HAR 1.2 has no encoding for postData; custom fields start with "_".
        request.postData = encoding ? { mimeType, text, _encoding: encoding } : { mimeType, text };
      }
    }

    const answer = ex.proxyAnswer;
    const resHeaders = answer ? headerList(answerHeaders(answer)) : headerList(ex.responseHeaders ?? {});
    const status = answer?.status ?? ex.status ?? 0;
    const mimeType = findHeader(resHeaders, 'content-type') ?? '';
    let content: HarContent;
    let bodySize: number;
    if (answer) {
      const body = Buffer.from(answer.body);
      content = { size: body.length, mimeType, text: answer.body };
      bodySize = body.length;
    } else {
      bodySize = ex.status === 101 ? 0 : ex.bytesOut;
      content = { size: bodySize, mimeType };
      if (c && c.res.omitted) {
        omitted.push('response');
        content.comment = omittedComment('response body', c.res.omitted, c.res.size);
      } else if (c && c.res.size > 0) {
        const decoded = decodeBody(c.res.bytes(), findHeader(resHeaders, 'content-encoding'));
        if (decoded.body) {
          content.size = decoded.body.length;
          if (decoded.body.length !== c.res.size) content.compression = decoded.body.length - c.res.size;
          Object.assign(content, encodeBody(decoded.body, mimeType));
        } else if (decoded.error) {
          Object.assign(content, { text: c.res.bytes().toString('base64'), encoding: 'base64', comment: decoded.error });
        } else {
          omitted.push('response');
          content.comment = 'response body is over the 1 MiB limit once decoded: omitted by mgproxy';
        }
      }
    }
    const response = {
      status, statusText: status === 0 ? '' : STATUS_CODES[status] ?? '', httpVersion: status === 0 ? '' : h2 ? 'h2' : 'HTTP/1.1',
      cookies: responseCookies(resHeaders), headers: resHeaders, content,
      redirectURL: findHeader(resHeaders, 'location') ?? '', headersSize: -1, bodySize,
    };

    const total = Math.max(0, ex.durationMs ?? 0);
    // `blocked` is the time the call waited for a concurrency slot (docs/device.md); the other timings follow it.
    const blocked = ex.queuedMs === undefined ? undefined : Math.min(total, ex.queuedMs);
    const wait = Math.min(total - (blocked ?? 0), Math.max(0, (ex.responseStartMs ?? total) - (blocked ?? 0)));
    const mgproxy: Record<string, unknown> = { id: ex.id, api: ex.api, client: ex.client, ...(ex.clientName === undefined ? {} : { clientName: ex.clientName }), outcome: ex.outcome ?? null, bytesIn: ex.bytesIn, bytesOut: ex.bytesOut, protocol: ex.protocol ?? 'http/1.1' };
    if (omitted.length > 0) { mgproxy.bodyOmitted = true; mgproxy.omitted = omitted; }
    mgproxy.violations = ex.violations;
    // The platform whose rules decided the answer (the first), and every one whose rules the entry breaks.
    if (this.platforms.length > 0) {
      const broken = new Set(ex.violations.flatMap((v) => v.platforms ?? this.platforms));
      mgproxy.platform = this.platforms[0];
      mgproxy.platforms = this.platforms.filter((p) => broken.has(p));
    }
    if (ex.network) mgproxy.network = describeCondition(ex.network);
    if (ex.mapped) mgproxy.mapped = ex.mapped;
    const entry: Record<string, unknown> = {
      startedDateTime: new Date(ex.startedAt).toISOString(),
      time: round(total),
      request, response, cache: {},
      timings: { blocked: blocked === undefined ? -1 : round(blocked), dns: -1, connect: -1, ssl: -1, send: 0, wait: round(wait), receive: round(total - (blocked ?? 0) - wait) },
      connection: String(ex.id),
    };
    if (ex.api === 'connectSocket') {
      entry._resourceType = 'websocket';
      // Chrome DevTools' shape (docs/dashboard.md): Chrome and Charles import it; a close frame's data is its reason.
      const messages = this.socketMessages?.messagesOf(ex.id);
      if (messages) entry._webSocketMessages = messages.map((m) => ({ type: m.type, time: m.time, opcode: m.opcode, data: m.data }));
    }
    entry._mgproxy = mgproxy;
    return entry;
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

let version: string | undefined;
function packageVersion(): string {
  try {
    version ??= (JSON.parse(fs.readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
  } catch {
    version = 'unknown';
  }
  return version;
}
