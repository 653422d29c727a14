/**
 * `request` (https://developers.weixin.qq.com/minigame/dev/api/network/request/wx.request.html):
 * how `data` goes on the wire, how the answer becomes `res.data`, and the RequestTask.
 */
import { Settle, Listeners } from './callbacks.js';
import { type Core, outgoingHeaders } from './core.js';
import { runHttp } from './http-call.js';
import type { ChunkReceived, HeadersReceived, RequestOptions, RequestSuccess, RequestTask } from './types.js';
import { badUrlFailure, callUrl } from './errors.js';

const hasContentType = (h: Record<string, unknown> | undefined, pattern: RegExp) =>
  Object.entries(h ?? {}).some(([k, v]) => k.toLowerCase() === 'content-type' && pattern.test(String(v)));

/** `k=v&…` with `encodeURIComponent` on both sides; objects inside as JSON (the docs say nothing of nesting). */
export function formPairs(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))}`)
    .join('&');
}

const isBinary = (d: unknown): d is ArrayBuffer | ArrayBufferView => d instanceof ArrayBuffer || ArrayBuffer.isView(d);
const bufferOf = (d: ArrayBuffer | ArrayBufferView) => (d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength));

/**
 * The URL and body of a call: for GET and HEAD an object's pairs join the query (`?` or `&`); for
 * other methods JSON, or the same pairs under `application/x-www-form-urlencoded`; strings and
 * ArrayBuffers as they are ("对于 GET 方法的数据，会将数据转换成 query string…对于 POST 方法且
 * header['content-type'] 为 application/json 的数据，会对数据进行 JSON 序列化", wx.request's page).
 */
export function serialise(method: string, url: URL, data: RequestOptions['data'], header: RequestOptions['header']): { url: URL; body: string | Buffer | null } {
  if (data === undefined || data === null) return { url, body: null };
  const queryMethod = method === 'GET' || method === 'HEAD';
  if (isBinary(data)) return { url, body: method === 'HEAD' ? null : bufferOf(data) };
  if (typeof data !== 'object') {
    const text = String(data);
    if (!queryMethod) return { url, body: text };
    return { url: text === '' ? url : withQuery(url, text), body: null };
  }
  const pairs = formPairs(data as Record<string, unknown>);
  if (queryMethod) return { url: pairs === '' ? url : withQuery(url, pairs), body: null };
  if (hasContentType(header, /application\/x-www-form-urlencoded/i)) return { url, body: pairs };
  return { url, body: JSON.stringify(data) };
}

function withQuery(url: URL, query: string): URL {
  const href = url.href.replace(/#.*$/, '');
  return new URL(`${href}${href.includes('?') ? '&' : '?'}${query}`);
}

/** `dataType: 'json'`: one BOM stripped, one JSON.parse; a body that does not parse stays the string. */
export function parseJsonBody(text: string): unknown {
  const stripped = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(stripped);
  } catch {
    return stripped;
  }
}

const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export function request(core: Core, options: RequestOptions): RequestTask {
  const o = options ?? ({} as RequestOptions);
  const settle = new Settle<RequestSuccess>(o);
  const onHeaders = new Listeners<HeadersReceived>();
  const onChunk = new Listeners<ChunkReceived>();
  const method = String(o.method ?? 'GET').toUpperCase();
  let url: URL;
  let body: string | Buffer | null;
  try {
    url = callUrl(o.url);
    ({ url, body } = serialise(method, url, o.data, o.header));
  } catch (err) {
    settle.fail(badUrlFailure('request', err));
    return { abort() {}, onHeadersReceived() {}, offHeadersReceived() {}, onChunkReceived() {}, offChunkReceived() {} };
  }
  const chunks: Buffer[] = [];
  const handle = runHttp(core, settle, {
    api: 'request', url, method, timeout: o.timeout,
    // The device sends `content-type: application/json` unless the game sets one (wx.request's `header` parameter).
    headers: (s) => outgoingHeaders(s, o.header, { 'content-type': 'application/json' }),
    body: () => body,
  }, {
    onHeaders: (statusCode, header, cookies) => onHeaders.emit({ header, statusCode, cookies }),
    onData: (chunk) => {
      chunks.push(chunk);
      if (o.enableChunked && onChunk.size > 0) onChunk.emit({ data: toArrayBuffer(Buffer.from(chunk)) });
    },
    onEnd: (statusCode, header, cookies, profile) => {
      const raw = Buffer.concat(chunks);
      let data: unknown;
      if (o.responseType === 'arraybuffer') data = toArrayBuffer(raw);
      else if ((o.dataType ?? 'json') === 'json') data = parseJsonBody(raw.toString('utf8'));
      else data = raw.toString('utf8');
      return { data, statusCode, header, cookies, profile, errMsg: 'request:ok' };
    },
  });
  return {
    abort: () => handle.abort(),
    onHeadersReceived: (fn) => onHeaders.add(fn),
    offHeadersReceived: (fn) => onHeaders.remove(fn),
    onChunkReceived: (fn) => onChunk.add(fn),
    offChunkReceived: (fn) => onChunk.remove(fn),
  };
}
