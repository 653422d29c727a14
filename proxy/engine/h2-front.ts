/**
 * The HTTP/2 front end (docs/http2.md; mockttp and httpolyglot's shape): an intercepted TLS
 * connection whose ALPN chose `h2` (proxy/engine/connect.ts) is fed to an `http2.createServer()`
 * that never listens, with `emit('connection')`. Each stream is one exchange, through the same
 * rules, forwarder and reports as an HTTP/1.1 request; what differs on the way back is in
 * proxy/flow/response-writer.ts.
 *
 * Abuse stays one client's problem (RFC 9113 §10.5, CVE-2023-44487): SETTINGS_MAX_CONCURRENT_STREAMS
 * 100 (the caps are the rules' business, never the protocol's; RFC 9113 §6.5.2 recommends at least
 * 100), header lists bounded (64 KiB, 128 fields: the stream is reset), Node's own limits on
 * outstanding PINGs and SETTINGS and on session memory, nghttp2's limits on CONTINUATION frames and
 * queued ACKs (GOAWAY ENHANCE_YOUR_CALM), and a rapid-reset counter per connection: a client that
 * cancels more than RAPID_RESET_LIMIT streams within RAPID_RESET_WINDOW_MS gets GOAWAY
 * ENHANCE_YOUR_CALM and the connection is closed.
 */
import type http2 from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session, ServerHttp2Session } from 'node:http2';
import type tls from 'node:tls';
import type { ProxyContext } from '../context.js';
import { classifyApi } from '../flow/classify.js';
import { Exchange, type ExchangeEnv } from '../flow/exchange.js';
import { normalizeHost, splitHostPort } from '../../config/net-address.js';
import type { H2Acceptor, TunnelInfo } from './connect.js';
import { loadHttp2 } from '../flow/lazy-http2.js';

/** RFC 9113 §6.5.2 recommends no fewer than 100; the per-API caps (the rules) queue or refuse past theirs. */
export const MAX_CONCURRENT_STREAMS = 100;
/** A request's header list (HPACK-decoded) over this resets its stream: the size HTTP/1.1 refuses with 431 too. */
export const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** Client resets counted per connection; past the limit within the window: GOAWAY ENHANCE_YOUR_CALM. */
export const RAPID_RESET_LIMIT = 200;
export const RAPID_RESET_WINDOW_MS = 10_000;
/**
 * PING and SETTINGS frames a connection may send per window: each costs the proxy an ACK, and a
 * client that floods them without reading the ACKs would have them queued (RFC 9113 §10.5). A
 * browser sends a handful per connection.
 */
export const CONTROL_FLOOD_LIMIT = 1000;
/** An h2 connection with no frame for this long is closed, as the HTTP/1.1 server's keep-alive does. */
const IDLE_SESSION_MS = 65_000;
/** After GOAWAY the client gets this long to read it before the connection is destroyed. */
const GOAWAY_LINGER_MS = 1000;

/** How often, while a connection opens streams, its abandoned streams are counted. */
const RESET_CHECK_MS = 500;

/**
 * Per connection: its tunnel, and what its rapid-reset count reads. A stream the client opens and
 * resets at once may never reach JavaScript (Node drops a stream closed before its 'stream' event),
 * so abandoned streams are counted as the streams the connection opened (nghttp2's last processed
 * stream id) less those that ended cleanly or by the proxy's own doing, less those still open.
 */
interface SessionState {
  info: TunnelInfo;
  /** Streams answered to their end, or ended by the proxy (a cut, a fault): not the client's resets. */
  settled: number;
  /** Streams that became requests and have not closed yet. */
  open: number;
  /** [time, abandoned] samples of the last window. */
  samples: [number, number][];
  timer?: NodeJS.Timeout;
  calmed: boolean;
  /** PING and SETTINGS frames in the current window, and when it started. */
  control: number;
  controlSince: number;
}

export class H2Front implements H2Acceptor {
  /** Made by the first h2 connection (proxy/flow/lazy-http2.ts). */
  private h2server?: http2.Http2Server;
  private readonly sessions = new WeakMap<Http2Session, SessionState>();
  /** The tunnel of the connection being accepted: the server's 'session' runs within `accept`'s emit. */
  private accepting?: TunnelInfo;

  /** `serve` runs an exchange through the rules and forwards it (proxy/engine/server.ts, shared with HTTP/1.1). */
  constructor(private readonly ctx: ProxyContext, private readonly env: ExchangeEnv, private readonly serve: (ex: Exchange) => void) {}

  private get server(): http2.Http2Server {
    if (this.h2server) return this.h2server;
    const server = loadHttp2().createServer({
      settings: {
        maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
        maxHeaderListSize: MAX_HEADER_LIST_BYTES,
        // No RFC 8441 extended CONNECT: WebSockets stay on HTTP/1.1 connections.
        enableConnectProtocol: false,
      },
      maxHeaderListPairs: 128,
      maxOutstandingPings: 10,
      maxSettings: 32,
      maxSessionRejectedStreams: 100,
      maxSessionInvalidFrames: 1000,
      // Megabytes per connection (Node's default 10): queued output and HPACK state past it refuse new streams.
      maxSessionMemory: 10,
    });
    server.setTimeout(IDLE_SESSION_MS);
    server.on('session', (session: ServerHttp2Session) => this.onSession(session));
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req, res));
    // A session's errors are that client's alone; Node closes the session.
    server.on('sessionError', () => undefined);
    return (this.h2server = server);
  }

  accept(socket: tls.TLSSocket, info: TunnelInfo): void {
    // Node's Http2Session sets itself up on a TLSSocket only once it is no longer
    // `secureConnecting` (else it waits for 'secureConnect', a client's event). A server-side
    // TLSSocket made with `new tls.TLSSocket` leaves that state only through a tls.Server's
    // connection listener (lib/_tls_wrap.js onServerSocketSecure), which the tunnels do not use:
    // the handshake has finished here ('secure'), so the socket says so.
    (socket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
    this.accepting = info;
    try {
      this.server.emit('connection', socket);
    } finally {
      this.accepting = undefined;
    }
  }

  private onSession(session: ServerHttp2Session): void {
    const info = this.accepting;
    if (!info) { session.destroy(); return; }
    const state: SessionState = { info, settled: 0, open: 0, samples: [], calmed: false, control: 0, controlSince: performance.now() };
    this.sessions.set(session, state);
    const onControl = () => this.countControl(session, state);
    session.on('ping', onControl);
    session.on('remoteSettings', onControl);
    session.on('error', () => undefined);
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      stream.on('error', () => undefined);
      this.watchResets(session, state);
    });
    session.once('close', () => clearTimeout(state.timer));
  }

  /**
   * CVE-2023-44487: requests opened and cancelled at once cost the proxy and the upstream, the
   * client nothing. Checked while the connection opens streams (a timer armed by its activity, so
   * an idle connection costs no wake-ups).
   */
  private watchResets(session: ServerHttp2Session, state: SessionState): void {
    if (state.timer || state.calmed) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      const abandoned = this.checkResets(session, state);
      if (abandoned === undefined) return;
      const now = performance.now();
      state.samples.push([now, abandoned]);
      while (state.samples.length > 1 && state.samples[0]![0] < now - RAPID_RESET_WINDOW_MS) state.samples.shift();
      // Still opening streams (or some still open): look again.
      const last = state.samples.length > 1 ? state.samples[state.samples.length - 2]![1] : -1;
      if (abandoned !== last || state.open > 0) this.watchResets(session, state);
    }, RESET_CHECK_MS);
    state.timer.unref();
  }

  /** A PING or SETTINGS frame came: past CONTROL_FLOOD_LIMIT within the window, GOAWAY ENHANCE_YOUR_CALM. */
  private countControl(session: ServerHttp2Session, state: SessionState): void {
    if (state.calmed) return;
    const now = performance.now();
    if (now - state.controlSince > RAPID_RESET_WINDOW_MS) { state.control = 0; state.controlSince = now; }
    if (++state.control <= CONTROL_FLOOD_LIMIT) return;
    state.calmed = true;
    this.ctx.log.warn({ client: state.info.client, host: state.info.host, frames: state.control, windowMs: RAPID_RESET_WINDOW_MS },
      'HTTP/2 client flooded PING or SETTINGS frames; connection closed with GOAWAY ENHANCE_YOUR_CALM');
    calm(session);
  }

  /** Streams abandoned so far; past the limit within the window, the connection is calmed (and undefined returned). */
  private checkResets(session: ServerHttp2Session, state: SessionState): number | undefined {
    if (session.destroyed || state.calmed) return undefined;
    const opened = ((session.state.lastProcStreamID ?? 0) + 1) >> 1;
    const abandoned = Math.max(0, opened - state.settled - state.open);
    const inWindow = abandoned - (state.samples[0]?.[1] ?? 0);
    if (inWindow <= RAPID_RESET_LIMIT) return abandoned;
    state.calmed = true;
    this.ctx.log.warn({ client: state.info.client, host: state.info.host, resets: inWindow, windowMs: RAPID_RESET_WINDOW_MS },
      'HTTP/2 client reset too many streams (rapid reset); connection closed with GOAWAY ENHANCE_YOUR_CALM');
    calm(session);
    return undefined;
  }

  private onRequest(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const { stream } = req;
    const state = this.sessions.get(stream.session as ServerHttp2Session);
    // Reset before it was read (rapid reset): no exchange, nothing forwarded.
    if (!state || stream.destroyed || stream.closed || state.calmed) return;
    const { info } = state;
    if (this.checkResets(stream.session as ServerHttp2Session, state) === undefined) return;
    state.open++;
    this.watchResets(stream.session as ServerHttp2Session, state);
    res.once('close', () => {
      state.open--;
      // Ended cleanly, or by the proxy (a cut or a fault ends the exchange before its stream closes).
      if (stream.rstCode === loadHttp2().constants.NGHTTP2_NO_ERROR || (ex !== undefined && ex.outcome !== undefined && ex.outcome !== 'aborted')) state.settled++;
    });
    let ex: Exchange | undefined;
    const refuse = (status: number, text: string) => {
      this.ctx.log.warn({ client: info.client, host: info.host, method: req.method, path: req.url, status }, 'bad HTTP/2 request from client');
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`mgproxy: ${text}\n`);
    };
    if (req.method === 'CONNECT') { refuse(405, 'CONNECT inside an HTTP/2 connection is not supported (no extended CONNECT); WebSockets go over HTTP/1.1'); return; }
    const path = req.url ?? '';
    if (!path.startsWith('/') && !(path === '*' && req.method === 'OPTIONS')) { refuse(400, `request target ${JSON.stringify(path)} is not a path`); return; }
    // RFC 9113 §9.1.1: a connection is for the origin of its tunnel; a stream for another origin
    // (a client coalescing connections) is told to open its own, with 421.
    const authority = req.authority ? splitHostPort(req.authority) : undefined;
    if (authority && (normalizeHost(authority.host) !== info.host || (authority.port ?? 443) !== info.port)) {
      refuse(421, `this connection is for ${info.host}:${info.port}, not ${req.authority}`);
      return;
    }
    const api = classifyApi(this.ctx.config, req, info.host, false);
    ex = new Exchange(this.env, {
      req, res, api, scheme: 'https', host: info.host, port: info.port, path, client: info.client,
      hasBody: !stream.endAfterHeaders,
    });
    // Node's compatibility response emits 'finish' whenever its stream closes, a reset included,
    // so the end is read from the stream: closed cleanly after the response ended, or not.
    const exchange = ex;
    res.on('close', () => {
      if (exchange.state === 'ended') return;
      if (stream.rstCode === loadHttp2().constants.NGHTTP2_NO_ERROR && res.writableEnded) { exchange.finish('completed'); return; }
      // The client reset the stream first: the upstream request goes too, at once.
      exchange.abortUpstream();
      exchange.finish('aborted');
    });
    // One turn of the event loop first: a RST_STREAM that came in the same read as its HEADERS
    // (a rapid reset) has closed the stream by then, and the request never leaves the proxy.
    setImmediate(() => { if (exchange.state === 'admitting') this.serve(exchange); });
  }

  /** Closes every h2 connection (the TLS sockets are closed by the proxy's close). */
  close(): void {
    this.h2server?.close();
  }
}


/** GOAWAY ENHANCE_YOUR_CALM, then the connection goes once the client had a moment to read it. */
function calm(session: ServerHttp2Session): void {
  if (session.destroyed) return;
  try {
    session.goaway(loadHttp2().constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } catch {
    // Already closing.
  }
  setTimeout(() => session.destroy(), GOAWAY_LINGER_MS).unref();
}
