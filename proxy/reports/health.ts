/**
 * The network health report (docs/health.md): the platform's performance checklist computed from
 * the traffic the proxy sees. Streaming and bounded: each exchange is folded into aggregates when
 * it ends (counts, sums, a log-bucket histogram per domain, bounded top-N lists, the first 200
 * exchanges for the waterfall, a time series that halves its resolution instead of growing), and
 * bodies above 128 KB are hashed as they stream for the duplicates. Nothing keeps every exchange.
 *
 * It listens only once started (`HealthMonitor.start`): by `--health`/`--health-html` at start, or
 * by the first `GET /api/health` (the dashboard's panel asks it), so a proxy nobody asks for a
 * health report pays nothing for it.
 */
import type { EventEmitter } from 'node:events';
import type { Api } from '../../config/vocabulary.js';
import type { RuntimeConfig } from '../../config/load.js';
import type { Exchange } from '../flow/exchange.js';
import type { Violation } from '../flow/events.js';
import { chainTap } from '../flow/taps.js';
import type { OriginAlpn } from '../engine/upstream/origin-alpn.js';
import { API_INDEX, APIS, BodyHash, ConcurrencySeries, DomainStats, type SeriesDrawing, TopN } from './health-aggregates.js';
import {
  cacheVerdict, CHECKS, COMPRESSIBLE_BYTES, DUPLICATE_MIN_BYTES, DUPLICATE_WINDOW_MS, type HealthCheckId, isStatic,
  isTextual, LARGE_RESPONSE_BYTES, mimeOf, scoreOf, SLOW_REQUEST_MS,
} from './health-checks.js';

export interface HealthOffender { method: string; url: string; value: number | string }
export interface HealthCheck {
  id: HealthCheckId; title: string; weight: number; pass: boolean;
  value: number; threshold: number; offenders: HealthOffender[];
}
export interface HealthExchange { method: string; url: string; status: number | null; durationMs: number; bytesDown: number; outcome: string }
export interface HealthDomain {
  host: string; requests: number; bytesDown: number; bytesUp: number; p50Ms: number; p95Ms: number; maxMs: number;
  h2: boolean; compressed: number | null; cacheHits: number | null; errors: number;
}
export interface HealthConcurrency { cap: number | null; maxInFlight: number; queued: number; meanQueueMs: number }
export interface HealthReport {
  window: { start: string | null; end: string | null; ms: number };
  totals: { requests: number; sockets: number; bytesDown: number; bytesUp: number; failed: number };
  score: number;
  checks: HealthCheck[];
  domains: HealthDomain[];
  slowest: HealthExchange[];
  largest: HealthExchange[];
  failed: (HealthExchange & { rule?: string })[];
  duplicates: { url: string; sha256: string; bytes: number; count: number }[];
  concurrency: Partial<Record<Api, HealthConcurrency>>;
  utilisation: number;
  baseline?: unknown;
}
/** What the HTML page draws besides the report: the first exchanges, and in-flight calls per API over time. */
export interface HealthDrawing {
  waterfall: { id: number; api: Api; method: string; url: string; startMs: number; queuedMs: number; firstByteMs: number | null; durationMs: number; status: number | null; outcome: string; bytesDown: number }[];
  series: SeriesDrawing;
}

export const MAX_OFFENDERS = 20;
export const WATERFALL_EXCHANGES = 200;
const TOP_EXCHANGES = 10;
const MAX_FAILED = 50;
const MAX_DUPLICATES = 50;
/** Domains kept apart; past it, new hosts are counted under "(other hosts)". */
const MAX_DOMAINS = 500;
/** URLs whose last large body is remembered for the duplicates (oldest forgotten first). */
const MAX_HASHED_URLS = 5000;
const OTHER_HOSTS = '(other hosts)';
/** The queue's event (docs/health.md, the queue rows): a call that waited for a slot, with `queuedMs`. */
const QUEUED_RULE: string = 'concurrency-queued';


export interface HealthDeps {
  events: EventEmitter;
  config: Pick<RuntimeConfig, 'caps' | 'platformNames'>;
  origins: OriginAlpn;
  /** Exchanges in flight when the recorder starts: their ends are not counted (their starts were not seen). */
  inFlight: Iterable<Exchange>;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export class HealthRecorder {
  private firstStart = -1;
  private lastEnd = -1;
  private requests = 0; private sockets = 0; private bytesDown = 0; private bytesUp = 0; private failedCount = 0;
  private httpActive = 0; private busySince = 0; private busyMs = 0;
  private readonly domains = new Map<string, DomainStats>();
  private readonly offenders = new Map<HealthCheckId, TopN<HealthOffender>>();
  private readonly breaks = new Map<HealthCheckId, number>();
  private slowestMs = 0; private largestBytes = 0;
  private readonly slowest = new TopN<HealthExchange>(TOP_EXCHANGES);
  private readonly largest = new TopN<HealthExchange>(TOP_EXCHANGES);
  private readonly totalBytesOffenders = new TopN<HealthOffender>(MAX_OFFENDERS);
  private readonly failed: HealthReport['failed'] = [];
  private readonly h2Origins = new Set<string>();
  private queued = 0; private queuedMsSum = 0;
  private readonly queuedPerApi = new Float64Array(4);
  private readonly queuedMsPerApi = new Float64Array(4);
  private readonly queueOffenders = new TopN<HealthOffender>(MAX_OFFENDERS);
  private readonly series = new ConcurrencySeries();
  private readonly forwarded = new Set<Exchange>();
  private readonly ignored: Set<Exchange>;
  private readonly hashes = new Map<Exchange, BodyHash>();
  private readonly lastBody = new Map<string, { sha256: string; at: number; bytes: number; count: number }>();
  private readonly waterfall: HealthDrawing['waterfall'] = [];
  /** The first 200 exchanges still in flight, with their place in the waterfall. */
  private readonly waterfallOpen = new Map<Exchange, number>();
  private readonly apiSeen = new Int32Array(4);
  private readonly detach: () => void;

  constructor(private readonly deps: HealthDeps) {
    this.ignored = new Set(deps.inFlight);
    const { events } = deps;
    const onStart = (ex: Exchange) => this.started(ex);
    const onForward = (ex: Exchange) => this.forwardedNow(ex);
    const onEnd = (ex: Exchange) => this.ended(ex);
    const onViolation = (v: Violation) => { if (v.rule === QUEUED_RULE) this.queuedCall(v); };
    events.on('exchange-start', onStart);
    events.on('exchange-forward', onForward);
    events.on('exchange', onEnd);
    events.on('violation', onViolation);
    this.detach = () => {
      events.off('exchange-start', onStart);
      events.off('exchange-forward', onForward);
      events.off('exchange', onEnd);
      events.off('violation', onViolation);
    };
  }

  stop(): void {
    this.detach();
  }

  private started(ex: Exchange): void {
    const now = Date.now();
    if (this.firstStart < 0) this.firstStart = now;
    if (this.waterfall.length < WATERFALL_EXCHANGES) {
      this.waterfallOpen.set(ex, this.waterfall.length);
      this.waterfall.push(waterfallRow(ex, this.firstStart, now));
    }
    if (ex.isWebSocket) return;
    if (this.httpActive++ === 0) this.busySince = now;
    if (ex.method === 'GET') ex.responseBodyTap = chainTap(ex.responseBodyTap, (chunk) => this.hashChunk(ex, chunk));
  }

  /** The first chunk decides: only a 200 whose body may exceed 128 KB is hashed. */
  private hashChunk(ex: Exchange, chunk: Buffer): void {
    let h = this.hashes.get(ex);
    if (!h) {
      if (ex.status !== 200) return;
      const length = Number(ex.responseHeaders?.['content-length'] ?? NaN);
      if (length <= DUPLICATE_MIN_BYTES) return;
      this.hashes.set(ex, (h = new BodyHash()));
    }
    h.hash.update(chunk);
    h.bytes += chunk.length;
  }

  private forwardedNow(ex: Exchange): void {
    if (this.ignored.has(ex)) return;
    this.forwarded.add(ex);
    this.series.change(ex.client, ex.api, 1, Date.now());
  }

  private queuedCall(v: Violation): void {
    const ms = Number((v as Violation & { queuedMs?: number }).queuedMs) || 0;
    this.queued++;
    this.queuedMsSum += ms;
    if (v.api) { this.queuedPerApi[API_INDEX[v.api]]!++; this.queuedMsPerApi[API_INDEX[v.api]]! += ms; }
    this.queueOffenders.offer(ms, () => ({ method: v.method ?? '', url: v.url ?? '', value: Math.round(ms) }));
  }

  private breakCheck(id: HealthCheckId, value: number, offender: () => HealthOffender): void {
    this.breaks.set(id, (this.breaks.get(id) ?? 0) + 1);
    let top = this.offenders.get(id);
    if (!top) this.offenders.set(id, (top = new TopN(MAX_OFFENDERS)));
    top.offer(value, offender);
  }

  private domainOf(host: string): DomainStats {
    let d = this.domains.get(host);
    if (!d) {
      if (this.domains.size >= MAX_DOMAINS) host = OTHER_HOSTS;
      d = this.domains.get(host);
      if (!d) this.domains.set(host, (d = new DomainStats()));
    }
    return d;
  }

  private ended(ex: Exchange): void {
    if (this.ignored.delete(ex)) return;
    const now = Date.now();
    this.lastEnd = now;
    if (this.forwarded.delete(ex)) this.series.change(ex.client, ex.api, -1, now);
    this.apiSeen[API_INDEX[ex.api]]!++;
    const place = this.waterfallOpen.get(ex);
    if (place !== undefined) { this.waterfallOpen.delete(ex); this.waterfall[place] = waterfallRow(ex, this.firstStart, now); }
    const d = this.domainOf(ex.host);
    d.requests++;
    d.bytesDown += ex.bytesOut;
    d.bytesUp += ex.bytesIn;
    const failed = (ex.outcome === 'blocked' || ex.outcome === 'fault' || ex.outcome === 'cut' || ex.outcome === 'error') && !ex.preflight;
    const fromOrigin = ex.status !== undefined && ex.proxyAnswer === undefined;
    if (failed || (ex.status ?? 0) >= 400) d.errors++;
    if (ex.isWebSocket) { this.sockets++; return; }
    if (--this.httpActive === 0) this.busyMs += now - this.busySince;
    this.requests++;
    this.bytesDown += ex.bytesOut;
    this.bytesUp += ex.bytesIn;
    const queuedMs = queuedMsOf(ex);
    const ms = Math.max(0, (ex.durationMs ?? 0) - queuedMs);
    d.time(ms);
    const row = (): HealthExchange => ({ method: ex.method, url: ex.url, status: ex.status ?? null, durationMs: round1(ms), bytesDown: ex.bytesOut, outcome: ex.outcome ?? 'completed' });
    if (this.slowest.takes(ms)) this.slowest.offer(ms, row);
    if (this.largest.takes(ex.bytesOut)) this.largest.offer(ex.bytesOut, row);
    if (this.totalBytesOffenders.takes(ex.bytesOut)) this.totalBytesOffenders.offer(ex.bytesOut, () => ({ method: ex.method, url: ex.url, value: ex.bytesOut }));
    if (ms > this.slowestMs) this.slowestMs = ms;
    if (ex.bytesOut > this.largestBytes) this.largestBytes = ex.bytesOut;
    if (ms >= SLOW_REQUEST_MS) this.breakCheck('slow-request', ms, () => ({ method: ex.method, url: ex.url, value: Math.round(ms) }));
    if (ex.bytesOut >= LARGE_RESPONSE_BYTES) this.breakCheck('large-response', ex.bytesOut, () => ({ method: ex.method, url: ex.url, value: ex.bytesOut }));
    if (failed) {
      this.failedCount++;
      const what = failureOf(ex);
      this.breakCheck('failures', -this.failedCount, () => ({ method: ex.method, url: ex.url, value: what }));
      if (this.failed.length < MAX_FAILED) {
        const rule = ex.violations.find((v) => v.severity === 'error')?.rule;
        this.failed.push({ ...row(), ...(rule === undefined ? {} : { rule }) });
      }
    }
    if (fromOrigin) this.originResponse(ex, d);
    const h = this.hashes.get(ex);
    if (h) { this.hashes.delete(ex); this.duplicate(ex, h, now); }
  }

  /** The rows judged on what the origin answered: status, compression, cache, protocol. */
  private originResponse(ex: Exchange, d: DomainStats): void {
    const status = ex.status!;
    const headers = ex.responseHeaders ?? {};
    if (status >= 400) this.breakCheck('status', -(this.breaks.get('status') ?? 0), () => ({ method: ex.method, url: ex.url, value: status }));
    const mime = mimeOf(headers['content-type']);
    if (ex.bytesOut >= COMPRESSIBLE_BYTES && isTextual(mime)) {
      d.compressible++;
      if (/\b(gzip|br|deflate|zstd)\b/i.test(String(headers['content-encoding'] ?? ''))) d.compressed++;
      else this.breakCheck('compression', ex.bytesOut, () => ({ method: ex.method, url: ex.url, value: ex.bytesOut }));
    }
    if (status === 200 && ex.method === 'GET' && isStatic(mime)) {
      d.cacheable++;
      const cache = cacheVerdict(headers);
      if (cache.hit) d.hits++;
      else this.breakCheck('cdn-cache', ex.bytesOut, () => ({ method: ex.method, url: ex.url, value: cache.said }));
    }
    if (ex.scheme === 'https') {
      // What the origin answered to an offer of h2 (forwarding's or the audit's), else what forwarding spoke.
      const alpn = this.deps.origins.protocolOf(ex.host, ex.port) ?? ex.upstreamAlpn ?? 'unknown';
      d.judgedH2++;
      if (alpn === 'h2') { d.onH2++; return; }
      // One offender per origin first: a thousand calls to one origin must not hide another.
      const origin = `${ex.host}:${ex.port}`;
      const fresh = !this.h2Origins.has(origin);
      if (fresh && this.h2Origins.size < MAX_OFFENDERS * 50) this.h2Origins.add(origin);
      this.breakCheck('http2', fresh ? 1 : 0, () => ({ method: ex.method, url: ex.url, value: alpn }));
    }
  }

  private duplicate(ex: Exchange, h: BodyHash, now: number): void {
    if (h.bytes <= DUPLICATE_MIN_BYTES || ex.outcome !== 'completed') return;
    const sha256 = h.hash.digest('hex');
    const last = this.lastBody.get(ex.url);
    if (last && last.sha256 === sha256 && now - last.at <= DUPLICATE_WINDOW_MS) {
      last.count++;
      last.at = now;
      return;
    }
    this.lastBody.delete(ex.url);
    if (this.lastBody.size >= MAX_HASHED_URLS) {
      // Forget the oldest URL that never repeated; a repeated one stays for the report.
      for (const [url, b] of this.lastBody) if (b.count === 1) { this.lastBody.delete(url); break; }
    }
    if (this.lastBody.size < MAX_HASHED_URLS) this.lastBody.set(ex.url, { sha256, at: now, bytes: h.bytes, count: 1 });
  }

  private capOf(api: Api): number | null {
    const caps = this.deps.config.caps.get(this.deps.config.platformNames[0]!) ?? [];
    const mine = caps.filter((c) => c.apis.includes(api)).map((c) => c.max);
    return mine.length === 0 ? null : Math.min(...mine);
  }

  /** The report as it stands at `now` (an exchange in flight extends the window to now). */
  report(now = Date.now()): HealthReport {
    const http = this.requests > 0;
    const end = this.httpActive > 0 || this.forwarded.size > 0 ? now : this.lastEnd;
    const windowMs = this.firstStart < 0 ? 0 : Math.max(0, end - this.firstStart);
    const busy = this.busyMs + (this.httpActive > 0 ? now - this.busySince : 0);
    const utilisation = windowMs > 0 ? Math.min(1, busy / windowMs) : http ? 1 : 0;
    const meanQueueMs = this.queued === 0 ? 0 : this.queuedMsSum / this.queued;
    const measured: Record<HealthCheckId, number> = {
      http2: this.breaks.get('http2') ?? 0,
      compression: this.breaks.get('compression') ?? 0,
      'cdn-cache': this.breaks.get('cdn-cache') ?? 0,
      'total-bytes': this.bytesDown,
      utilisation: round3(utilisation),
      'queue-count': this.queued,
      'queue-time': Math.round(meanQueueMs),
      'slow-request': Math.round(this.slowestMs),
      'large-response': this.largestBytes,
      failures: this.failedCount,
      status: this.breaks.get('status') ?? 0,
    };
    const checks: HealthCheck[] = CHECKS.map((c) => {
      const value = measured[c.id];
      // A window with no HTTP exchange passes every check (nothing was slow, large or failed).
      const pass = !http || c.passes(value);
      const offenders = c.id === 'utilisation' ? []
        : c.id === 'total-bytes' ? (pass ? [] : this.totalBytesOffenders.list())
        : c.id === 'queue-count' || c.id === 'queue-time' ? (pass ? [] : this.queueOffenders.list())
        : this.offenders.get(c.id)?.list() ?? [];
      return { id: c.id, title: c.title, weight: c.weight, pass, value, threshold: c.threshold, offenders };
    });
    const concurrency: HealthReport['concurrency'] = {};
    for (const api of APIS) {
      const i = API_INDEX[api];
      if (this.apiSeen[i] === 0 && this.queuedPerApi[i] === 0) continue;
      const q = this.queuedPerApi[i]!;
      concurrency[api] = { cap: this.capOf(api), maxInFlight: this.series.max[i]!, queued: q, meanQueueMs: q === 0 ? 0 : Math.round(this.queuedMsPerApi[i]! / q) };
    }
    const duplicates = [...this.lastBody].filter(([, b]) => b.count > 1)
      .sort((a, b) => b[1].bytes * b[1].count - a[1].bytes * a[1].count).slice(0, MAX_DUPLICATES)
      .map(([url, b]) => ({ url, sha256: b.sha256, bytes: b.bytes, count: b.count }));
    return {
      window: { start: this.firstStart < 0 ? null : new Date(this.firstStart).toISOString(), end: this.firstStart < 0 ? null : new Date(end).toISOString(), ms: windowMs },
      totals: { requests: this.requests, sockets: this.sockets, bytesDown: this.bytesDown, bytesUp: this.bytesUp, failed: this.failedCount },
      score: scoreOf(checks.filter((c) => c.pass).map((c) => c.id)),
      checks,
      domains: [...this.domains].map(([host, s]) => ({
        host, requests: s.requests, bytesDown: s.bytesDown, bytesUp: s.bytesUp,
        p50Ms: s.percentile(0.5), p95Ms: s.percentile(0.95), maxMs: Math.round(s.maxMs),
        h2: s.judgedH2 > 0 && s.onH2 === s.judgedH2,
        compressed: s.compressible === 0 ? null : round3(s.compressed / s.compressible),
        cacheHits: s.cacheable === 0 ? null : round3(s.hits / s.cacheable),
        errors: s.errors,
      })).sort((a, b) => b.bytesDown - a.bytesDown || a.host.localeCompare(b.host)),
      slowest: this.slowest.list(),
      largest: this.largest.list(),
      failed: [...this.failed],
      duplicates,
      concurrency,
      utilisation: round3(utilisation),
    };
  }

  /** The waterfall of the first 200 exchanges (those still in flight drawn up to now) and the concurrency series. */
  drawing(now = Date.now()): HealthDrawing {
    const waterfall = [...this.waterfall];
    for (const [ex, place] of this.waterfallOpen) waterfall[place] = waterfallRow(ex, this.firstStart, now);
    return { waterfall, series: this.series.drawing() };
  }
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

function waterfallRow(ex: Exchange, origin: number, now: number): HealthDrawing['waterfall'][number] {
  const ended = ex.state === 'ended';
  return {
    id: ex.id, api: ex.api, method: ex.method, url: ex.url, startMs: ex.startedAt - origin, queuedMs: Math.round(queuedMsOf(ex)),
    firstByteMs: ex.responseStartMs === undefined ? null : round1(ex.responseStartMs),
    durationMs: round1(ended ? ex.durationMs ?? 0 : now - ex.startedAt),
    status: ex.status ?? null, outcome: ended ? ex.outcome ?? 'completed' : 'in flight', bytesDown: ex.bytesOut,
  };
}

/** The time an exchange waited for a slot (its `concurrency-queued` events). */
function queuedMsOf(ex: Exchange): number {
  let ms = 0;
  for (const v of ex.violations) if (v.rule === QUEUED_RULE) ms += Number((v as Violation & { queuedMs?: number }).queuedMs) || 0;
  return ms;
}

/** What a failed exchange's offender says: how it ended, its status, the rule. */
function failureOf(ex: Exchange): string {
  const rule = ex.violations.find((v) => v.severity === 'error')?.rule ?? ex.proxyAnswer?.headers['x-mgproxy-error'];
  return [ex.outcome, ex.status, rule].filter((x) => x !== undefined && x !== null).join(' ');
}

/**
 * The one health recorder of a proxy, started on demand: `--health`/`--health-html` start it at
 * once; `GET /api/health` starts it when nothing did (its window then begins at that first ask).
 */
export class HealthMonitor {
  private recorder?: HealthRecorder;
  constructor(private readonly deps: () => HealthDeps) {}

  get started(): boolean {
    return this.recorder !== undefined;
  }

  start(): HealthRecorder {
    return (this.recorder ??= new HealthRecorder(this.deps()));
  }
}
