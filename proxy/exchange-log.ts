/**
 * What the dashboard shows besides violations (SPEC §8): the recent exchanges, newest
 * MAX_EXCHANGES kept with their headers and timings, and per client a timeline of its requests and
 * sockets in flight (a point at every start and end, for the last TIMELINE_MS) with a marker
 * wherever `concurrency-exceeded` fired, listing the exchanges that were in flight then. An open
 * WebSocket is listed from its 101 on (its `durationMs` null), so its messages can be watched live.
 */
import type { EventEmitter } from 'node:events';
import type { Exchange } from './exchange.js';
import type { EventHub, Violation } from './events.js';
import type { InFlight } from './inflight.js';
import { answerHeaders } from './respond.js';

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
}

export interface ExchangeDetail extends ExchangeSummary {
  requestHeaders: [string, string][];
  responseHeaders: [string, string][];
}

export interface TimelinePoint { t: number; http: number; socket: number }
export interface TimelineMarker { t: number; rule: string; url: string; inFlight: ExchangeSummary[] }

function summarize(ex: Exchange): ExchangeSummary {
  return {
    id: ex.id, client: ex.client, ...(ex.clientName === undefined ? {} : { clientName: ex.clientName }),
    method: ex.method, url: ex.url, api: ex.api, status: ex.status ?? null, start: ex.startedAt,
    firstByteMs: ex.responseStartMs === undefined ? null : Math.round(ex.responseStartMs * 10) / 10,
    durationMs: ex.state === 'ended' && ex.durationMs !== undefined ? Math.round(ex.durationMs * 10) / 10 : null,
    bytesIn: ex.bytesIn, bytesOut: ex.bytesOut, outcome: ex.outcome ?? null, violations: ex.violations.map((v) => v.rule),
  };
}

function headerPairs(raw: readonly string[] | undefined, obj?: Record<string, unknown>): [string, string][] {
  if (raw) { const out: [string, string][] = []; for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]); return out; }
  return Object.entries(obj ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, String(x)] as [string, string]) : v === undefined ? [] : [[k, String(v)] as [string, string]]));
}

function detailOf(ex: Exchange): ExchangeDetail {
  return {
    ...summarize(ex),
    requestHeaders: headerPairs(ex.req.rawHeaders),
    responseHeaders: headerPairs(undefined, (ex.proxyAnswer ? answerHeaders(ex.proxyAnswer) : ex.responseHeaders) as Record<string, unknown>),
  };
}

export class ExchangeLog {
  private readonly done: ExchangeDetail[] = [];
  private readonly byId = new Map<number, ExchangeDetail>();
  private readonly points = new Map<string, TimelinePoint[]>();
  private readonly markers = new Map<string, TimelineMarker[]>();
  /** WebSockets past their 101, not ended yet. */
  private readonly open = new Map<number, Exchange>();

  /** `sockets` announces each socket's 101 ('open', with its exchange). */
  constructor(private readonly events: EventHub, private readonly inFlight: InFlight, sockets?: EventEmitter) {
    events.on('exchange-start', (ex: Exchange) => this.point(ex.client));
    events.on('exchange', (ex: Exchange) => this.finished(ex));
    sockets?.on('open', (ex: Exchange) => this.opened(ex));
    events.on('violation', (v: Violation) => { if (v.rule === 'concurrency-exceeded' && v.client) this.marker(v); });
  }

  private point(client: string): void {
    const load = this.inFlight.loadOf(client);
    let list = this.points.get(client);
    if (!list) this.points.set(client, (list = []));
    list.push({ t: Date.now(), ...load });
    if (list.length > MAX_POINTS * 1.1) list.splice(0, list.length - MAX_POINTS);
  }

  private opened(ex: Exchange): void {
    if (ex.state === 'ended') return;
    this.open.set(ex.id, ex);
    this.events.emit('exchange-summary', detailOf(ex));
  }

  private finished(ex: Exchange): void {
    this.point(ex.client);
    this.open.delete(ex.id);
    const d = detailOf(ex);
    this.done.push(d);
    this.byId.set(d.id, d);
    if (this.done.length > MAX_EXCHANGES * 1.1) for (const old of this.done.splice(0, this.done.length - MAX_EXCHANGES)) this.byId.delete(old.id);
    this.events.emit('exchange-summary', d);
  }

  /** The exchanges of `v.client` in flight when the cap refused one (that one left out). */
  private marker(v: Violation): void {
    const inFlight: ExchangeSummary[] = [];
    for (const ex of this.inFlight.all()) if (ex.client === v.client && !ex.isWebSocket === (v.api !== 'connectSocket') && !ex.violations.includes(v)) inFlight.push(summarize(ex));
    let list = this.markers.get(v.client!);
    if (!list) this.markers.set(v.client!, (list = []));
    const m: TimelineMarker = { t: Date.parse(v.time), rule: v.rule, url: v.url ?? '', inFlight };
    list.push(m);
    if (list.length > 1100) list.splice(0, list.length - 1000);
    this.events.emit('timeline-marker', { client: v.client, ...m });
  }

  /** Newest last (by id; open sockets among them); `client` filters; `limit` keeps the newest N. */
  recent(client?: string, limit = MAX_EXCHANGES): ExchangeSummary[] {
    const out: ExchangeSummary[] = [];
    for (let i = this.done.length - 1; i >= 0 && out.length < limit; i--) {
      const d = this.done[i]!;
      if (client === undefined || d.client === client) { const { requestHeaders: _a, responseHeaders: _b, ...s } = d; out.push(s); }
    }
    for (const ex of this.open.values()) if (client === undefined || ex.client === client) out.push(summarize(ex));
    return out.sort((a, b) => a.id - b.id).slice(-limit);
  }

  /** A finished exchange, or an open socket (as it stands now). */
  detail(id: number): ExchangeDetail | undefined {
    const open = this.open.get(id);
    return open ? detailOf(open) : this.byId.get(id);
  }

  /** The client's points and markers of the last TIMELINE_MS. */
  timeline(client: string): { points: TimelinePoint[]; markers: TimelineMarker[] } {
    const since = Date.now() - TIMELINE_MS;
    return {
      points: (this.points.get(client) ?? []).filter((p) => p.t >= since),
      markers: (this.markers.get(client) ?? []).filter((m) => m.t >= since),
    };
  }
}
