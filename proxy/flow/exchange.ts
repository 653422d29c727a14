/**
 * One request or socket handshake, from its head to its end (mitmproxy's HTTPFlow). The rules, the
 * forwarder, the log line, the events and the reports all read this object, so nothing re-derives
 * the host, the API or the client. Its end is reached exactly once, from `finish()`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Action, Api, RuleId, Severity } from '../../config/vocabulary.js';
import type { PlatformName } from '../../config/platforms.js';
import type { QueueFields, Violation } from './events.js';
import { isPreflight, type ProxyAnswer, withCors, writeRawProxyAnswer } from './respond.js';
import { type ClientProtocol, type ClientResponse, type ResponseWriter, writerFor } from './response-writer.js';
import { formatHost } from '../../config/net-address.js';
import type { Condition } from '../network/conditions.js';
import type { Mapped } from '../../config/map.js';

export type Scheme = 'https' | 'http' | 'wss' | 'ws';
/**
 * How it ended: `completed` (whole response sent), `blocked` (a rule's answer), `fault` (a network
 * fault's answer), `aborted` (a peer left), `cut` (a rule or a fault cut it), `error`.
 */
export type Outcome = 'completed' | 'blocked' | 'fault' | 'aborted' | 'cut' | 'error';

/**
 * Where an exchange is, the one thing every part reads instead of its own flags:
 * `admitting` (the request rules run, a latency is waited), `queued` (held for a concurrency slot),
 * `forwarding` (dispatched upstream, nothing sent to the client yet), `answered` (a response head
 * reached the client: the upstream's, the 101, or the proxy's own answer), `ended` (`finish()` ran).
 * Until `answered` the proxy can still answer instead of the upstream; after it, only a cut is left.
 */
export type ExchangeState = 'admitting' | 'queued' | 'forwarding' | 'answered' | 'ended';

/** The moves each state allows (test/exchange-state.test.ts). A queued exchange goes back to its remaining request rules. */
export const TRANSITIONS: Readonly<Record<ExchangeState, readonly ExchangeState[]>> = {
  admitting: ['queued', 'forwarding', 'answered', 'ended'],
  queued: ['admitting', 'answered', 'ended'],
  forwarding: ['answered', 'ended'],
  answered: ['ended'],
  ended: [],
};

/** Nothing of a response has reached the client in this state, so the proxy can still answer. */
export const answerableIn = (state: ExchangeState): boolean => state !== 'answered' && state !== 'ended';

let nextId = 1;

/**
 * The client's request: Node's HTTP/1.1 message, or its HTTP/2 compatibility request (one stream;
 * its `headers` and `rawHeaders` hold the pseudo-headers too, `httpVersion` is `2.0`).
 */
export type ClientRequest = IncomingMessage | Http2ServerRequest;

/** RFC 9112 §9.3: HTTP/1.1 keeps the connection unless `close` is named; HTTP/1.0 closes unless `keep-alive` is. */
function wantsClose(req: ClientRequest): boolean {
  const value = typeof req.headers.connection === 'string' ? req.headers.connection.toLowerCase() : undefined;
  if (req.httpVersion === '1.0') return !value?.includes('keep-alive');
  return value?.includes('close') ?? false;
}

/** What the exchange can do to its upstream side: undici's `DispatchController` is one. */
export interface UpstreamControl {
  abort(reason: Error): void;
}

/** What a recorded finding says (a rule's Finding is one). */
export interface FindingFields {
  rule: RuleId;
  severity: Severity;
  message: string;
  /** The platforms it is a violation on, first the one that decides; the configured ones when absent. */
  platforms?: readonly PlatformName[];
  /** Fields the event carries besides docs/rules.md's: the holders of a full cap (`inFlight`), a queued call's `queuedMs` and `outcome` (docs/device.md). */
  queue?: Partial<QueueFields>;
}

/**
 * The few things an exchange needs from the proxy around it (mitmproxy's flow imports no addon):
 * built once by the engine (proxy/engine/exchange-env.ts), a plain object in tests.
 */
export interface ExchangeEnv {
  /** The configured platforms, first the one that decides. */
  readonly platformNames: readonly PlatformName[];
  /** The network condition for this client and host now (docs/network.md), if any. */
  conditionFor(client: string, host: string): Condition | undefined;
  /** The client's name (docs/dashboard.md), as it is now. */
  clientName(client: string): string | undefined;
  /** A new exchange: counted and announced. */
  started(ex: Exchange): void;
  /** A violation of this exchange: counted and published; returns it as published. */
  violation(ex: Exchange, v: Violation): Violation;
  /** The exchange's one end: the rules release what they hold, its line is logged, its end announced. */
  ended(ex: Exchange): void;
  /** It starts (true) or stops (false) waiting for a concurrency slot: a waiting call is not in flight (docs/device.md). */
  queued?(ex: Exchange, waiting: boolean): void;
}

export interface ExchangeInit {
  req: ClientRequest;
  client: string;
  scheme: Scheme;
  host: string;
  port: number;
  /** Path and query, origin-form. */
  path: string;
  api: Api;
  res?: ClientResponse;
  socket?: Duplex;
  /** Whether the request has a body: over h2 known from the stream (no END_STREAM on its HEADERS); over HTTP/1.1 from its head when unset. */
  hasBody?: boolean;
}

export class Exchange {
  readonly id = nextId++;
  readonly req: ClientRequest;
  readonly res?: ClientResponse;
  /** How a response reaches the client over its protocol (proxy/flow/response-writer.ts); none for WebSocket upgrades. */
  readonly writer?: ResponseWriter;
  /** The client's side: `http/1.1` or `h2` (WebSockets are always HTTP/1.1). */
  readonly protocol: ClientProtocol;
  /** The ALPN the forwarding connection negotiated with the origin (`h2` or `http/1.1`), once forwarded over TLS. */
  upstreamAlpn?: string;
  /** The request has a body to forward. */
  readonly hasBody: boolean;
  /** The client's socket, for WebSocket upgrades (no ServerResponse there). */
  readonly socket?: Duplex;
  readonly client: string;
  readonly method: string;
  readonly scheme: Scheme;
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly url: string;
  readonly api: Api;
  readonly startedAt = Date.now();
  private readonly t0 = performance.now();

  status?: number;
  responseHeaders?: IncomingHttpHeaders;
  /** Milliseconds from the request head to the first response byte. */
  responseStartMs?: number;
  durationMs?: number;
  bytesIn = 0;
  bytesOut = 0;
  /**
   * Response body bytes handed to the client's connection: `bytesOut` once they left the network
   * shaper, when one holds them (`completed` as docs/health.md defines it).
   */
  bytesToClient = 0;
  /** The 101 went out: the socket is open and piped. */
  upgraded = false;
  readonly violations: Violation[] = [];
  /** Headers the upstream gets instead of the client's (the Referer rewrite). */
  readonly upstreamHeaders: Record<string, string> = {};
  /**
   * The upstream side of this exchange, set by the forwarder: its dispatch's controller (undici's
   * `DispatchController`), then, once upgraded, its socket's.
   */
  upstream?: UpstreamControl;
  /** Taps for the HAR recorder; unset unless a recorder listens. */
  requestBodyTap?: (chunk: Buffer) => void;
  responseBodyTap?: (chunk: Buffer) => void;
  /** The proxy's own answer, when it answered instead of the upstream (the HAR shows it). */
  proxyAnswer?: ProxyAnswer;
  /** Set when a map rule took the exchange (proxy/engine/map/): its events, line and HAR entry carry it. */
  mapped?: Mapped;
  private current: ExchangeState = 'admitting';
  /** Milliseconds spent waiting for a concurrency slot; undefined when it never waited. */
  queuedMs?: number;
  private queuedAt = 0;
  /** Body findings still on their way (a decoder's last output); `finish` waits for them. */
  private findingsDue = false;
  /** The outcome `finish` was called with while findings were due. */
  private dueOutcome?: Outcome;
  outcome?: Outcome;
  /** The network condition in force at the head (docs/network.md); undefined when none applies. */
  readonly network?: Condition;
  /**
   * The client's `Connection` intent, read once at the head: forwarding strips the hop-by-hop
   * `req.headers.connection`, and the proxy's own late answers (502/503/504) must still honour it.
   */
  readonly clientWantsClose: boolean;

  constructor(private readonly env: ExchangeEnv, init: ExchangeInit) {
    this.req = init.req;
    this.res = init.res;
    this.socket = init.socket;
    this.client = init.client;
    this.method = init.req.method ?? 'GET';
    this.scheme = init.scheme;
    this.host = init.host;
    this.port = init.port;
    this.path = init.path;
    this.api = init.api;
    const defaultPort = init.scheme === 'https' || init.scheme === 'wss' ? 443 : 80;
    this.url = `${init.scheme}://${formatHost(init.host)}${init.port === defaultPort ? '' : `:${init.port}`}${init.path}`;
    this.network = env.conditionFor(this.client, this.host);
    this.clientWantsClose = wantsClose(init.req);
    this.writer = init.res ? writerFor(init.res, this.clientWantsClose) : undefined;
    this.protocol = this.writer?.protocol ?? 'http/1.1';
    const { headers } = init.req;
    this.hasBody = init.hasBody ?? ((headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined);
    env.started(this);
  }

  get isWebSocket(): boolean {
    return this.api === 'connectSocket';
  }

  /** The client's name (docs/dashboard.md), as it is now: the dashboard can rename a client at any time. */
  get clientName(): string | undefined {
    return this.env.clientName(this.client);
  }

  /** Milliseconds since the request head arrived. */
  elapsedMs(): number {
    return performance.now() - this.t0;
  }

  get state(): ExchangeState {
    return this.current;
  }

  /** Moves to `next` when the current state allows it (TRANSITIONS); false, and no move, when not. */
  moveTo(next: ExchangeState): boolean {
    if (!TRANSITIONS[this.current].includes(next)) return false;
    // A call waiting for a slot is not in flight (docs/device.md); its wait is the HAR's `blocked`.
    if (next === 'queued') {
      this.queuedAt = performance.now();
      this.env.queued?.(this, true);
    } else if (this.current === 'queued') {
      this.queuedMs = (this.queuedMs ?? 0) + performance.now() - this.queuedAt;
      this.env.queued?.(this, false);
    }
    this.current = next;
    return true;
  }

  /** Nothing of a response has reached the client yet, so the proxy can still answer instead. */
  get answerable(): boolean {
    return answerableIn(this.current);
  }

  /** A CORS preflight (docs/rules.md): the page's real request carries the events, this one records none. */
  get preflight(): boolean {
    return isPreflight(this.req);
  }

  /** Records a finding as a violation event of this exchange. */
  record(finding: FindingFields, action: Action): Violation {
    const clientName = this.clientName;
    const platforms = finding.platforms ?? this.env.platformNames;
    const v: Violation = {
      rule: finding.rule, severity: finding.severity, api: this.api, method: this.method, url: this.url,
      host: this.host, port: this.port, client: this.client, ...(clientName === undefined ? {} : { clientName }),
      action, message: finding.message, platform: platforms[0]!, platforms, protocol: this.protocol, time: new Date().toISOString(),
    };
    if (this.network) v.network = this.network.name;
    if (this.mapped) v.mapped = this.mapped;
    if (finding.queue) Object.assign(v, finding.queue);
    if (this.preflight) return v;
    this.violations.push(v);
    return this.env.violation(this, v);
  }

  /** Sends a proxy answer while nothing was sent (else does nothing) and ends the exchange with `outcome`. */
  answer(plain: ProxyAnswer, outcome: Outcome): void {
    if (!this.moveTo('answered')) return;
    const answer = withCors(plain, this.req.headers.origin);
    this.status = answer.status;
    this.proxyAnswer = answer;
    this.outcome = outcome;
    if (this.writer) {
      this.writer.answer(answer);
      // The client may have sent a body we will not read; drain it so the connection stays usable.
      if (!this.req.complete) this.req.resume();
    } else if (this.socket) {
      writeRawProxyAnswer(this.socket, answer);
      this.finish(outcome);
    }
  }

  /** Cuts the client's connection (and the upstream's): the client sees it closed, never injected bytes. */
  cut(outcome: Outcome): void {
    this.abortUpstream();
    if (this.writer) this.writer.cut();
    else this.socket?.destroy();
    this.finish(outcome);
  }

  /**
   * Every byte of the response reached the client's connection, though `res` has not finished:
   * the body's declared length was handed over and nothing waits in the socket. A client may close
   * the moment the last byte arrives, before the upstream's own end reaches the proxy (undici's
   * `onComplete` comes after its last `onData`) or before the last write's callback runs; such an
   * exchange is `completed`, not `aborted` (docs/health.md, the `failures` check).
   */
  deliveredBeforeClose(): boolean {
    const { res } = this;
    if (!res || this.state !== 'answered' || this.proxyAnswer) return false;
    if ((res.socket?.writableLength ?? 0) > 0) return false;
    if (res.writableEnded) return true;
    const noBody = this.method === 'HEAD' || this.status === 204 || this.status === 304;
    const declared = noBody ? 0 : Number(this.responseHeaders?.['content-length'] ?? NaN);
    return Number.isInteger(declared) && this.bytesToClient === declared;
  }

  /** Stops the upstream side (a no-op once it has ended). */
  abortUpstream(): void {
    this.upstream?.abort(new Error('the proxy stopped this upstream request'));
  }

  /**
   * The body's findings are still coming (pipeline.ts bodyObservers, behind a content-encoding):
   * until the returned call, `finish` only notes its outcome, so they are recorded before the end.
   */
  awaitFindings(): () => void {
    this.findingsDue = true;
    return () => {
      if (!this.findingsDue) return;
      this.findingsDue = false;
      if (this.dueOutcome !== undefined) this.finish(this.dueOutcome);
    };
  }

  /** The one end of every exchange: releases what the rules hold, logs the exchange line, announces it. */
  finish(outcome: Outcome): void {
    if (this.findingsDue) { this.dueOutcome ??= outcome; return; }
    if (!this.moveTo('ended')) return;
    this.outcome ??= outcome;
    this.durationMs = this.elapsedMs();
    this.env.ended(this);
  }
}
