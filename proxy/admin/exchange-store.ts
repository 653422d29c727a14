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
import { answerHeaders } from '../flow/respond.js';
import type { Mapped } from '../../config/map.js';
import { type BodyKeep, ReplayBodies } from './replay-bodies.js';
import { ExchangeRing, type RingRecord } from './exchange-ring.js';
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
const NO_FIELDS: readonly string[] = Object.freeze([]);

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
    // Written out, in SERIES order: two points per exchange, each read by name, not by a computed key.
    const n = this.n;
    n[0]![i] = load?.http ?? 0;
    n[1]![i] = load?.socket ?? 0;
    n[2]![i] = load?.request ?? 0;
    n[3]![i] = load?.uploadFile ?? 0;
    n[4]![i] = load?.downloadFile ?? 0;
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

/** A kept record as the admin API lists it. */
function summaryOf(r: RingRecord): ExchangeSummary {
  const s: ExchangeSummary = {
    id: r.id, client: r.client, method: r.method, url: r.url, api: r.api, status: r.status ?? null, start: r.start,
    firstByteMs: r.firstByteMs ?? null, durationMs: r.durationMs ?? null, bytesIn: r.bytesIn, bytesOut: r.bytesOut, outcome: r.outcome ?? null,
    violations: r.violations as string[], protocol: r.protocol as ExchangeSummary['protocol'],
  };
  if (r.clientName !== undefined) s.clientName = r.clientName;
  if (r.mapped !== undefined) s.mapped = JSON.parse(r.mapped) as Mapped;
  return s;
}

export class ExchangeLog {
  /** The newest MAX_EXCHANGES finished exchanges, off the heap (proxy/admin/exchange-ring.ts). */
  private readonly done = new ExchangeRing(MAX_EXCHANGES);
  /** Request bodies kept for replay, by exchange id: only exchanges that had one. */
  private readonly keptBodies = new Map<number, BodyKeep>();
  private readonly points = new Map<string, Points>();
  private readonly markers = new Map<string, TimelineMarker[]>();
  /** WebSockets past their 101, not ended yet. */
  private readonly open = new Map<number, Exchange>();
  /** Request bodies up to 1 MiB each, bounded in total, for replay. */
  private readonly bodies = new ReplayBodies();

  /** `sockets` announces each socket's 101 ('open', with its exchange). */
  constructor(private readonly events: EventHub, private readonly inFlight: InFlight, sockets?: EventEmitter) {
    inFlight.onChange = (client) => this.point(client);
    this.done.onEvict = (id) => {
      const body = this.keptBodies.get(id);
      if (body) { this.keptBodies.delete(id); this.bodies.release(body); }
    };
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
    const clientName = ex.clientName;
    const responseHeaders = ex.proxyAnswer ? answerHeaders(ex.proxyAnswer) : ex.responseHeaders ?? NO_FIELDS;
    // Rounded as the summary shows them (one decimal).
    const firstByteMs = ex.responseStartMs === undefined ? undefined : Math.round(ex.responseStartMs * 10) / 10;
    const durationMs = ex.durationMs === undefined ? undefined : Math.round(ex.durationMs * 10) / 10;
    this.done.add(
      { id: ex.id, start: ex.startedAt, status: ex.status, port: ex.port, firstByteMs, durationMs, bytesIn: ex.bytesIn, bytesOut: ex.bytesOut },
      {
        client: ex.client, clientName, method: ex.method, url: ex.url, api: ex.api, outcome: ex.outcome, protocol: ex.protocol,
        violations: ex.violations.length === 0 ? NO_VIOLATIONS : ex.violations.map((v) => v.rule), mapped: ex.mapped && JSON.stringify(ex.mapped),
        scheme: ex.scheme, host: ex.host, path: ex.path, requestHeaders: ex.req.rawHeaders, responseHeaders,
      },
    );
    const body = this.bodies.taken(ex);
    if (body) this.keptBodies.set(ex.id, body);
    if (this.events.listenerCount('exchange-summary') > 0) this.events.emit('exchange-summary', summarize(ex));
  }

  /**
   * A call that waited (at its arrival) or was refused: the calls that held its cap's places then
   * (the event's `inFlight`), with their start while their exchange is kept.
   */
  private marker(v: Violation): void {
    let live: Map<number, Exchange> | undefined;
    const inFlight = (v.inFlight ?? []).map((h): MarkerHolder => {
      let start = this.done.startOf(h.id);
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
    if (client === undefined) {
      this.done.newestFirst((r) => { out.push(summaryOf(r)); return out.length < limit; });
    } else {
      // Only the client's records are decoded.
      for (let k = 0; k < this.done.size && out.length < limit; k++) {
        if (this.done.clientAt(k) === client) out.push(summaryOf(this.done.at(k)));
      }
    }
    for (const ex of this.open.values()) if (client === undefined || ex.client === client) out.push(summarize(ex));
    return out.sort((a, b) => a.id - b.id).slice(-limit);
  }

  /** A finished exchange, or an open socket (as it stands now). */
  detail(id: number): ExchangeDetail | undefined {
    const open = this.open.get(id);
    if (open) return detailOf(open);
    const r = this.done.get(id);
    if (!r) return undefined;
    return { ...summaryOf(r), requestHeaders: rawPairs(r.requestHeaders), responseHeaders: rawPairs(r.responseHeaders) };
  }

  /**
   * What replay and copy as cURL need of a finished exchange: undefined when it is not kept,
   * `'body-not-kept'` when its request had a body that was not (over 1 MiB, not read, or evicted).
   */
  request(id: number): ReplayRequest | 'body-not-kept' | undefined {
    const r = this.done.get(id);
    if (!r) return undefined;
    const keep = this.keptBodies.get(id);
    const body = keep ? this.bodies.bytes(keep) : Buffer.alloc(0);
    if (!body) return 'body-not-kept';
    return { scheme: r.scheme, host: r.host, port: r.port, path: r.path, id, method: r.method, url: r.url, api: r.api, rawHeaders: r.requestHeaders, body };
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
