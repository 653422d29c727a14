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
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Session } from 'node:http2';
import type tls from 'node:tls';
import type { ProxyContext } from '../context.js';
import { classifyApi } from '../flow/classify.js';
import { Exchange } from '../flow/exchange.js';
import { normalizeHost, splitHostPort } from '../../config/net-address.js';
import type { H2Acceptor, TunnelInfo } from './connect.js';

/** RFC 9113 §6.5.2 recommends no fewer than 100; the per-API caps (the rules) queue or refuse past theirs. */
export const MAX_CONCURRENT_STREAMS = 100;
/** A request's header list (HPACK-decoded) over this resets its stream: the size HTTP/1.1 refuses with 431 too. */
export const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** Client resets counted per connection; past the limit within the window: GOAWAY ENHANCE_YOUR_CALM. */
export const RAPID_RESET_LIMIT = 200;
export const RAPID_RESET_WINDOW_MS = 10_000;
/** An h2 connection with no frame for this long is closed, as the HTTP/1.1 server's keep-alive does. */
const IDLE_SESSION_MS = 65_000;
/** After GOAWAY the client gets this long to read it before the connection is destroyed. */
const GOAWAY_LINGER_MS = 1000;

/** Per connection: its tunnel and its count of client resets. */
interface SessionState {
  info: TunnelInfo;
  resets: number[];
  calmed: boolean;
}

export class H2Front implements H2Acceptor {
  private readonly server: http2.Http2Server;
  private readonly sessions = new WeakMap<Http2Session, SessionState>();
  /** The tunnel of the connection being accepted: the server's 'session' runs within `accept`'s emit. */
  private accepting?: TunnelInfo;

  /** `serve` runs an exchange through the rules and forwards it (proxy/engine/server.ts, shared with HTTP/1.1). */
  constructor(private readonly ctx: ProxyContext, private readonly serve: (ex: Exchange) => void) {
    this.server = http2.createServer({
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
    this.server.setTimeout(IDLE_SESSION_MS);
    this.server.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req, res));
    // A session's errors are that client's alone (STYLE habit 6); Node closes the session.
    this.server.on('sessionError', () => undefined);
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
    this.sessions.set(session, { info, resets: [], calmed: false });
    session.on('error', () => undefined);
    // A stream reset before it became an exchange (a HEADERS and its RST_STREAM in one read, a
    // header block refused) counts too; an exchange's stream counts when the client left first.
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      stream.on('error', () => undefined);
      stream.once('close', () => {
        if (!exchanged.has(stream) && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) this.countReset(session);
      });
    });
  }

  /** CVE-2023-44487: requests opened and cancelled at once cost the proxy and the upstream, the client nothing. */
  private countReset(session: ServerHttp2Session): void {
    const state = this.sessions.get(session);
    if (!state || state.calmed) return;
    const now = performance.now();
    state.resets.push(now);
    while (state.resets.length > 0 && state.resets[0]! < now - RAPID_RESET_WINDOW_MS) state.resets.shift();
    if (state.resets.length <= RAPID_RESET_LIMIT) return;
    state.calmed = true;
    this.ctx.log.warn({ client: state.info.client, host: state.info.host, resets: state.resets.length, windowMs: RAPID_RESET_WINDOW_MS },
      'HTTP/2 client reset too many streams (rapid reset); connection closed with GOAWAY ENHANCE_YOUR_CALM');
    calm(session);
  }

  private onRequest(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const { stream } = req;
    const state = this.sessions.get(stream.session as ServerHttp2Session);
    // Reset before it was read (rapid reset): no exchange, nothing forwarded.
    if (!state || stream.destroyed || stream.closed || state.calmed) return;
    const { info } = state;
    exchanged.add(stream);
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
    const ex = new Exchange(this.ctx, {
      req, res, api, scheme: 'https', host: info.host, port: info.port, path, client: info.client,
      hasBody: !stream.endAfterHeaders,
    });
    res.on('finish', () => ex.finish('completed'));
    res.on('close', () => {
      if (ex.state === 'ended') return;
      // The client reset the stream first: the upstream request goes too, at once.
      ex.abortUpstream();
      ex.finish('aborted');
      this.countReset(stream.session as ServerHttp2Session);
    });
    this.serve(ex);
  }

  /** Closes every h2 connection (the TLS sockets are closed by the proxy's close). */
  close(): void {
    this.server.close();
  }
}

/** Streams that became exchanges: their resets are counted by the exchange's end (a client's, not the proxy's own cuts). */
const exchanged = new WeakSet<http2.Http2Stream>();

/** GOAWAY ENHANCE_YOUR_CALM, then the connection goes once the client had a moment to read it. */
function calm(session: ServerHttp2Session): void {
  if (session.destroyed) return;
  try {
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } catch {
    // Already closing.
  }
  setTimeout(() => session.destroy(), GOAWAY_LINGER_MS).unref();
}
