/**
 * What the dashboard shows besides violations (docs/dashboard.md): the recent exchanges, newest
 * MAX_EXCHANGES kept with their headers and timings, and per client a timeline of its calls in flight
 * per API (a point at every change, for the last TIMELINE_MS) with a marker wherever a call waited
 * for a place (`concurrency-queued`, at its arrival) or was refused (`concurrency-exceeded`), listing
 * the calls that held the places then. An open
 * WebSocket is listed from its 101 on (its `durationMs` null), so its messages can be watched live.
 */
import type { EventEmitter } from 'node:events';
import type { Exchange } from '../flow/exchange.js';
import type { EventHub, Violation } from '../flow/events.js';
import type { InFlight } from '../flow/inflight.js';
import type { IncomingHttpHeaders } from 'node:http';
import { answerHeaders, type ProxyAnswer } from '../flow/respond.js';
import type { Mapped } from '../../config/map.js';
import { type BodyKeep, ReplayBodies } from './replay-bodies.js';
import type { ReplayRequest } from '../engine/replay-request.js';

export const MAX_EXCHANGES = 10_000;
export const TIMELINE_MS = 10 * 60_000;
/** Points per client kept at most (a busy client's older points go first). */
const MAX_POINTS = 20_000;

export interface ExchangeSummary {
  id: number;
  client: string;
  clientName?: string;
  method: string;
  url: string;
  api: string;
  status: number | null;
  /** Epoch ms. */
  start: number;
  /** Ms from start to the first response byte, and to the end. */
  firstByteMs: number | null;
  durationMs: number | null;
  bytesIn: number;
  bytesOut: number;
  outcome: string | null;
  violations: string[];
  /** The client's side: `http/1.1` or `h2` (docs/http2.md). */
  protocol: 'http/1.1' | 'h2';
  /** A map rule took it (docs/toolkit.md). */
  mapped?: Mapped;
}

export interface ExchangeDetail extends ExchangeSummary {
  requestHeaders: [string, string][];
  responseHeaders: [string, string][];
}

export interface TimelinePoint { t: number; http: number; socket: number; request: number; uploadFile: number; downloadFile: number }
/** A holder of a place when the marker's call came: `start` is known while its exchange is kept. */
export interface MarkerHolder { id: number; method: string; url: string; start?: number }
/** `queuedMs` for a call that waited; its marker stands at its arrival. */
export interface TimelineMarker { t: number; rule: string; api: string; url: string; queuedMs?: number; outcome?: string; inFlight: MarkerHolder[] }

const NO_VIOLATIONS: readonly string[] = Object.freeze([]);

function summarize(ex: Exchange): ExchangeSummary {
  const clientName = ex.clientName;
  const s: ExchangeSummary = {
    id: ex.id, client: ex.client, method: ex.method, url: ex.url, api: ex.api, status: ex.status ?? null, start: ex.startedAt,
    firstByteMs: ex.responseStartMs === undefined ? null : Math.round(ex.responseStartMs * 10) / 10,
    durationMs: ex.state === 'ended' && ex.durationMs !== undefined ? Math.round(ex.durationMs * 10) / 10 : null,
    bytesIn: ex.bytesIn, bytesOut: ex.bytesOut, outcome: ex.outcome ?? null,
    violations: ex.violations.length === 0 ? NO_VIOLATIONS as string[] : ex.violations.map((v) => v.rule),
    protocol: ex.protocol,
  };
  if (clientName !== undefined) s.clientName = clientName;
  if (ex.mapped) s.mapped = ex.mapped;
  return s;
}

function rawPairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function objectPairs(obj: Record<string, unknown> | undefined): [string, string][] {
  return Object.entries(obj ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, String(x)] as [string, string]) : v === undefined ? [] : [[k, String(v)] as [string, string]]));
}

/**
 * A finished exchange as kept: its summary, and its headers as the objects that already exist
 * (the request's rawHeaders, the response's parsed head or the proxy's answer), turned into pairs
 * only when `/api/exchange` asks. Keeping costs one object per exchange on the hot path.
 */
interface Kept {
  summary: ExchangeSummary;
  requestRaw: readonly string[];
  response: IncomingHttpHeaders | ProxyAnswer | undefined;
  answered: boolean;
  /** Where it went, for replay and copy as cURL (docs/toolkit.md). */
  target: Pick<Exchange, 'scheme' | 'host' | 'port' | 'path'>;
  /** Its request body as kept for replay; undefined when it had none. */
  body?: BodyKeep;
}

/**
 * One client's in-flight counts at every start and end, newest MAX_POINTS, in a ring of typed
 * arrays that grows by doubling: a point costs no allocation (at thousands of requests a second,
 * an object per point was a steady share of the collector's work).
 */
const SERIES = ['http', 'socket', 'request', 'uploadFile', 'downloadFile'] as const;

export class Points {
  private t = new Float64Array(256);
  private n = SERIES.map(() => new Uint32Array(256));
  private start = 0;
  private length = 0;

  /** A point per change; changes within one millisecond (a call that arrives and waits) keep the last. */
  push(t: number, load: Readonly<Record<(typeof SERIES)[number], number>> | undefined): void {
    const cap0 = this.t.length;
    if (this.length > 0) {
      const last = (this.start + this.length - 1) % cap0;
      if (this.t[last] === t) { this.write(last, load); return; }
    }
    if (this.length === cap0 && this.length < MAX_POINTS) this.grow();
    const cap = this.t.length;
    const i = (this.start + this.length) % cap;
    this.t[i] = t;
    this.write(i, load);
    if (this.length < cap) this.length++;
    else this.start = (this.start + 1) % cap;
  }

  private write(i: number, load: Readonly<Record<(typeof SERIES)[number], number>> | undefined): void {
    for (let j = 0; j < SERIES.length; j++) this.n[j]![i] = load?.[SERIES[j]!] ?? 0;
  }

  private grow(): void {
    const cap = Math.min(MAX_POINTS, this.t.length * 2);
    const t = new Float64Array(cap);
    const n = SERIES.map(() => new Uint32Array(cap));
    for (let k = 0; k < this.length; k++) {
      const i = (this.start + k) % this.t.length;
      t[k] = this.t[i]!;
      for (let j = 0; j < SERIES.length; j++) n[j]![k] = this.n[j]![i]!;
    }
    this.t = t; this.n = n;
    this.start = 0;
  }

  since(t0: number): TimelinePoint[] {
    const out: TimelinePoint[] = [];
    const cap = this.t.length;
    for (let k = 0; k < this.length; k++) {
      const i = (this.start + k) % cap;
      if (this.t[i]! < t0) continue;
      const p = { t: this.t[i]! } as TimelinePoint;
      SERIES.forEach((key, j) => { p[key] = this.n[j]![i]!; });
      out.push(p);
    }
    return out;
  }
}

/** The detail of an exchange as it stands now (an open socket's). */
function detailOf(ex: Exchange): ExchangeDetail {
  const response = ex.proxyAnswer ? answerHeaders(ex.proxyAnswer) : ex.responseHeaders;
  return { ...summarize(ex), requestHeaders: rawPairs(ex.req.rawHeaders), responseHeaders: objectPairs(response as Record<string, unknown> | undefined) };
}

export class ExchangeLog {
  private readonly done: Kept[] = [];
  private readonly byId = new Map<number, Kept>();
  private readonly points = new Map<string, Points>();
  private readonly markers = new Map<string, TimelineMarker[]>();
  /** WebSockets past their 101, not ended yet. */
  private readonly open = new Map<number, Exchange>();
  /** Request bodies up to 1 MiB each, bounded in total, for replay. */
  private readonly bodies = new ReplayBodies();

  /** `sockets` announces each socket's 101 ('open', with its exchange). */
  constructor(private readonly events: EventHub, private readonly inFlight: InFlight, sockets?: EventEmitter) {
    inFlight.onChange = (client) => this.point(client);
    events.on('exchange-start', (ex: Exchange) => this.bodies.watch(ex));
    events.on('exchange', (ex: Exchange) => this.finished(ex));
    sockets?.on('open', (ex: Exchange) => this.opened(ex));
    // After the current exchange's end: a queued call leaves its line while its holder ends, and that holder's start is kept then.
    events.on('violation', (v: Violation) => { if ((v.rule === 'concurrency-exceeded' || v.rule === 'concurrency-queued') && v.client) queueMicrotask(() => this.marker(v)); });
  }

  private point(client: string): void {
    let list = this.points.get(client);
    if (!list) this.points.set(client, (list = new Points()));
    list.push(Date.now(), this.inFlight.countsOf(client));
  }

  private opened(ex: Exchange): void {
    if (ex.state === 'ended') return;
    this.open.set(ex.id, ex);
    this.events.emit('exchange-summary', detailOf(ex));
  }

  private finished(ex: Exchange): void {
    if (ex.isWebSocket) this.open.delete(ex.id);
    const kept: Kept = {
      summary: summarize(ex), requestRaw: ex.req.rawHeaders,
      response: ex.proxyAnswer ?? ex.responseHeaders, answered: ex.proxyAnswer !== undefined,
      target: { scheme: ex.scheme, host: ex.host, port: ex.port, path: ex.path }, body: this.bodies.taken(ex),
    };
    this.done.push(kept);
    this.byId.set(ex.id, kept);
    if (this.done.length > MAX_EXCHANGES * 1.1) {
      for (const old of this.done.splice(0, this.done.length - MAX_EXCHANGES)) {
        this.byId.delete(old.summary.id);
        if (old.body) this.bodies.release(old.body);
      }
    }
    if (this.events.listenerCount('exchange-summary') > 0) this.events.emit('exchange-summary', kept.summary);
  }

  /**
   * A call that waited (at its arrival) or was refused: the calls that held its cap's places then
   * (the event's `inFlight`), with their start while their exchange is kept.
   */
  private marker(v: Violation): void {
    let live: Map<number, Exchange> | undefined;
    const inFlight = (v.inFlight ?? []).map((h): MarkerHolder => {
      let start = this.byId.get(h.id)?.summary.start;
      if (start === undefined) {
        live ??= new Map([...this.inFlight.all()].map((ex) => [ex.id, ex]));
        start = live.get(h.id)?.startedAt;
      }
      return start === undefined ? { ...h } : { ...h, start };
    });
    let list = this.markers.get(v.client!);
    if (!list) this.markers.set(v.client!, (list = []));
    const m: TimelineMarker = { t: Date.parse(v.time) - (v.queuedMs ?? 0), rule: v.rule, api: v.api ?? '', url: v.url ?? '', inFlight };
    if (v.queuedMs !== undefined) m.queuedMs = v.queuedMs;
    if (v.outcome !== undefined) m.outcome = v.outcome;
    list.push(m);
    if (list.length > 1100) list.splice(0, list.length - 1000);
    this.events.emit('timeline-marker', { client: v.client, ...m });
  }

  /** Newest last (by id; open sockets among them); `client` filters; `limit` keeps the newest N. */
  recent(client?: string, limit = MAX_EXCHANGES): ExchangeSummary[] {
    const out: ExchangeSummary[] = [];
    for (let i = this.done.length - 1; i >= 0 && out.length < limit; i--) {
      const d = this.done[i]!.summary;
      if (client === undefined || d.client === client) out.push(d);
    }
    for (const ex of this.open.values()) if (client === undefined || ex.client === client) out.push(summarize(ex));
    return out.sort((a, b) => a.id - b.id).slice(-limit);
  }

  /** A finished exchange, or an open socket (as it stands now). */
  detail(id: number): ExchangeDetail | undefined {
    const open = this.open.get(id);
    if (open) return detailOf(open);
    const kept = this.byId.get(id);
    if (!kept) return undefined;
    const response = kept.answered ? answerHeaders(kept.response as ProxyAnswer) : kept.response as IncomingHttpHeaders | undefined;
    return { ...kept.summary, requestHeaders: rawPairs(kept.requestRaw), responseHeaders: objectPairs(response as Record<string, unknown> | undefined) };
  }

  /**
   * What replay and copy as cURL need of a finished exchange: undefined when it is not kept,
   * `'body-not-kept'` when its request had a body that was not (over 1 MiB, not read, or evicted).
   */
  request(id: number): ReplayRequest | 'body-not-kept' | undefined {
    const kept = this.byId.get(id);
    if (!kept) return undefined;
    const body = kept.body ? this.bodies.bytes(kept.body) : Buffer.alloc(0);
    if (!body) return 'body-not-kept';
    return { ...kept.target, id, method: kept.summary.method, url: kept.summary.url, api: kept.summary.api, rawHeaders: kept.requestRaw, body };
  }

  /** The client's points and markers of the last TIMELINE_MS. */
  timeline(client: string): { points: TimelinePoint[]; markers: TimelineMarker[] } {
    const since = Date.now() - TIMELINE_MS;
    return {
      points: this.points.get(client)?.since(since) ?? [],
      markers: (this.markers.get(client) ?? []).filter((m) => m.t >= since),
    };
  }
}
