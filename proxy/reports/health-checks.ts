/**
 * The network rows of WeChat's performance checklist (小游戏性能诊断 "性能清单",
 * https://developers.weixin.qq.com/minigame/dev/guide/performance/perf-audit/perf-audit-rating-rule.html):
 * each check's id, the platform's own title, its weight and its threshold, and the score. The
 * recorder (proxy/reports/health.ts) measures; this file only judges. docs/health.md explains each row.
 */

export type HealthCheckId = 'http2' | 'compression' | 'cdn-cache' | 'total-bytes' | 'utilisation' | 'queue-count'
  | 'queue-time' | 'slow-request' | 'large-response' | 'failures' | 'status';

export interface CheckDefinition {
  id: HealthCheckId;
  /** The platform's name for the row. */
  title: string;
  /** The same in English, beside it on the HTML page (docs/health.md). */
  english: string;
  weight: number;
  /** What the measured value is compared with (0 for "none may"). */
  threshold: number;
  /** True when `value` passes. */
  passes(value: number): boolean;
}

/** 50 MB, 3 MB: the platform's decimal megabytes. */
export const TOTAL_BYTES_MAX = 50e6;
export const LARGE_RESPONSE_BYTES = 3e6;
export const SLOW_REQUEST_MS = 1500;
export const QUEUE_COUNT_MAX = 50;
export const QUEUE_MEAN_MS = 1500;
export const UTILISATION_MIN = 0.3;
/** Compression is judged on textual bodies of at least this many bytes. */
export const COMPRESSIBLE_BYTES = 1024;
/** Duplicates: bodies above 128 KB (the mini program audit's 网络请求缓存 rule), repeated within 3 minutes. */
export const DUPLICATE_MIN_BYTES = 131_072;
export const DUPLICATE_WINDOW_MS = 3 * 60_000;

const none = (v: number) => v === 0;

/** In the platform's order. */
export const CHECKS: readonly CheckDefinition[] = [
  { id: 'http2', title: '使用HTTP/2', english: 'Use HTTP/2', weight: 8, threshold: 0, passes: none },
  { id: 'compression', title: '开启服务器压缩', english: 'Turn on server compression', weight: 10, threshold: 0, passes: none },
  { id: 'cdn-cache', title: '使用CDN缓存', english: 'Use a CDN cache', weight: 10, threshold: 0, passes: none },
  { id: 'total-bytes', title: '合理控制网络请求总资源量', english: 'Keep the total download reasonable', weight: 5, threshold: TOTAL_BYTES_MAX, passes: (v) => v <= TOTAL_BYTES_MAX },
  { id: 'utilisation', title: '合理提升网络利用率', english: 'Use the network well', weight: 6, threshold: UTILISATION_MIN, passes: (v) => v >= UTILISATION_MIN },
  { id: 'queue-count', title: '减少网络排队数量', english: 'Fewer queued calls', weight: 6, threshold: QUEUE_COUNT_MAX, passes: (v) => v <= QUEUE_COUNT_MAX },
  { id: 'queue-time', title: '降低网络排队平均耗时', english: 'Shorter queueing', weight: 6, threshold: QUEUE_MEAN_MS, passes: (v) => v < QUEUE_MEAN_MS },
  { id: 'slow-request', title: '降低单个网络请求耗时时长', english: 'No slow request', weight: 8, threshold: SLOW_REQUEST_MS, passes: (v) => v < SLOW_REQUEST_MS },
  { id: 'large-response', title: '合理控制单个网络请求资源量', english: 'No oversized response', weight: 3, threshold: LARGE_RESPONSE_BYTES, passes: (v) => v < LARGE_RESPONSE_BYTES },
  { id: 'failures', title: '避免网络请求失败', english: 'No failed request', weight: 10, threshold: 0, passes: none },
  { id: 'status', title: '避免网络状态码异常', english: 'No error status', weight: 10, threshold: 0, passes: none },
];

export const TOTAL_WEIGHT = CHECKS.reduce((n, c) => n + c.weight, 0);

/** 100 × (weights of passing checks) / (all weights, 82), rounded down. */
export function scoreOf(passing: Iterable<HealthCheckId>): number {
  const ids = new Set(passing);
  const sum = CHECKS.filter((c) => ids.has(c.id)).reduce((n, c) => n + c.weight, 0);
  return Math.floor((100 * sum) / TOTAL_WEIGHT);
}

/** `text/*`, JSON, XML, JavaScript, SVG and wasm (docs/health.md "Textual"). */
export function isTextual(mime: string): boolean {
  return mime.startsWith('text/') || mime === 'application/json' || mime.endsWith('+json') || mime === 'application/xml'
    || mime.endsWith('+xml') || mime === 'application/javascript' || mime === 'image/svg+xml' || mime === 'application/wasm';
}

/** Images, audio, video, fonts, octet-stream, wasm, JavaScript and CSS: what a CDN should serve from its cache. */
export function isStatic(mime: string): boolean {
  return mime.startsWith('image/') || mime.startsWith('audio/') || mime.startsWith('video/') || mime.startsWith('font/')
    || mime === 'application/octet-stream' || mime === 'application/wasm' || mime === 'application/javascript'
    || mime === 'text/javascript' || mime === 'application/x-javascript' || mime === 'text/css';
}

/** The cache headers a CDN answers with; `age` > 0 counts as a hit too. */
export const CACHE_HEADERS = ['x-cache', 'x-cache-lookup', 'cf-cache-status', 'x-cache-status', 'eo-cache-status'] as const;

/** A cache hit, and what the headers said (the offender's value). */
export function cacheVerdict(headers: Record<string, string | string[] | undefined>): { hit: boolean; said: string } {
  const age = Number(headers.age);
  if (age > 0) return { hit: true, said: `age: ${headers.age}` };
  let said = '';
  for (const name of CACHE_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    const text = Array.isArray(v) ? v.join(', ') : v;
    if (/hit/i.test(text)) return { hit: true, said: `${name}: ${text}` };
    said ||= `${name}: ${text}`;
  }
  return { hit: false, said: said || 'no cache header' };
}

/** Distinct Content-Type values seen, each parsed once (a game has a handful); bounded. */
const mimes = new Map<string, string>();

export function mimeOf(contentType: string | string[] | undefined): string {
  const text = Array.isArray(contentType) ? contentType[0] ?? '' : contentType ?? '';
  let mime = mimes.get(text);
  if (mime === undefined) {
    mime = text.split(';')[0]!.trim().toLowerCase();
    if (mimes.size < 1024) mimes.set(text, mime);
  }
  return mime;
}
