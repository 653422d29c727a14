/**
 * Forwarding with http-proxy (STYLE "Forwarding"): always our keep-alive agents, always an error
 * callback, the Referer (and any other override) set through `headers`, response bodies observed
 * chunk by chunk while http-proxy pipes them. Also the WebSocket path: the upgrade goes out through
 * the same agents and, once the upstream answers 101, bytes are piped unchanged both ways.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { type Duplex, Readable } from 'node:stream';
import { createRequire } from 'node:module';
import net from 'node:net';
import type httpProxy from 'http-proxy';
import type { ProxyContext } from './context.js';
import type { Exchange } from './exchange.js';
import { upstreamErrorAnswer } from './respond.js';
import { bodyObservers, runResponseHeadRules } from './rules/pipeline.js';
import { kOnUpstreamRequest, LoopError, MAX_RESPONSE_HEADER_BYTES } from './upstream.js';
import { responseSink, shapeOpenSocket, shapesSocket, uploadSource, watchSocketDrop } from './network/paths.js';

const kExchange = Symbol('mgproxy.exchange');

export function attachExchange(req: IncomingMessage, ex: Exchange): void {
  (req as IncomingMessage & { [kExchange]?: Exchange })[kExchange] = ex;
}

function exchangeOf(req: IncomingMessage): Exchange | undefined {
  return (req as IncomingMessage & { [kExchange]?: Exchange })[kExchange];
}

/** RFC 9110 §7.6.1: hop-by-hop fields are the proxy's to consume, never to forward. */
const HOP_BY_HOP = ['proxy-connection', 'proxy-authorization', 'keep-alive', 'te', 'trailer', 'transfer-encoding'];

function stripHopByHop(headers: IncomingHttpHeaders, upgrade: boolean): void {
  const named = typeof headers.connection === 'string' ? headers.connection.toLowerCase().split(',').map((s) => s.trim()) : [];
  for (const name of [...HOP_BY_HOP, ...named]) {
    if (upgrade && name === 'upgrade') continue;
    delete headers[name];
  }
  if (!upgrade) {
    delete headers.connection;
    delete headers.upgrade;
  }
}

/** What a forwarding error tells the client: the cause for scripts, the runtime's reason, a sentence. */
function describeError(err: NodeJS.ErrnoException): { cause: string; reason: string; message: string } {
  const code = err.code ?? '';
  if (err instanceof LoopError) return { cause: 'loop', reason: 'url not in domain list', message: err.message };
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME|EPROTO/.test(code)) {
    return { cause: 'upstream-tls', reason: 'ssl hand shake error', message: `TLS with the upstream failed: ${err.message}` };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
    return { cause: 'upstream-unreachable', reason: `${code.toLowerCase()}`, message: `the upstream cannot be reached: ${err.message}` };
  }
  return { cause: 'upstream-failed', reason: code ? code.toLowerCase() : 'upstream error', message: `the upstream failed before responding: ${err.message}` };
}

export class Forwarder {
  private server?: httpProxy;
  /** Upgraded sockets whose exchange has a network condition (SPEC §11), until http-proxy opens them. */
  private readonly shapedSockets = new WeakMap<Duplex, Exchange>();

  constructor(private readonly ctx: ProxyContext) {}

  /** http-proxy, loaded with the first request forwarded: a start does not wait for it (issue 8). */
  private get proxy(): httpProxy {
    if (this.server) return this.server;
    const { createProxyServer } = createRequire(import.meta.url)('http-proxy') as typeof httpProxy;
    const server = createProxyServer({ xfwd: false, changeOrigin: false, ws: true });
    server.on('proxyRes', (proxyRes, req) => {
      const ex = exchangeOf(req);
      if (ex) this.onResponse(ex, proxyRes);
    });
    // http-proxy has just piped the upgraded sockets to each other: a shaped one goes through its shapers instead.
    server.on('open', (upstreamSocket: Duplex) => {
      const ex = this.shapedSockets.get(upstreamSocket);
      if (ex) shapeOpenSocket(ex, ex.socket!, upstreamSocket);
    });
    // Every call passes its own callback; this only keeps a stray event from being an uncaught 'error'.
    server.on('error', (err) => this.ctx.log.error({ error: { message: err.message } }, 'forwarding error without a callback'));
    return (this.server = server);
  }

  private options(ex: Exchange) {
    const secure = ex.scheme === 'https' || ex.scheme === 'wss';
    const route = this.ctx.upstream.route(ex.host, ex.port);
    return {
      loop: this.ctx.upstream.loopCheck(route),
      options: {
        target: { protocol: secure ? 'https:' : 'http:', host: ex.host, hostname: ex.host, port: ex.port },
        agent: secure ? this.ctx.upstream.httpsAgent : this.ctx.upstream.httpAgent,
        headers: ex.upstreamHeaders,
        // http-proxy builds the request options on top of `ssl`: the one place to add our own.
        ssl: {
          servername: net.isIP(ex.host) ? '' : ex.host,
          maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
          [kOnUpstreamRequest]: (upstreamReq: ClientRequest) => this.onUpstreamRequest(ex, upstreamReq),
        },
      } as httpProxy.ServerOptions,
    };
  }

  private onUpstreamRequest(ex: Exchange, upstreamReq: ClientRequest): void {
    ex.upstreamRequest = upstreamReq;
    // http-proxy's urlJoin collapses "//" in paths; a proxy must send the path it was given.
    if (upstreamReq.path !== ex.path && !(upstreamReq as ClientRequest & { _header?: string })._header) upstreamReq.path = ex.path;
    if (ex.ended) upstreamReq.destroy();
  }

  /** Sends an admitted HTTP exchange upstream. */
  web(ex: Exchange): void {
    const { req, res } = ex;
    if (!res || ex.ended) return;
    const { loop, options } = this.options(ex);
    if (loop) { this.onError(ex, loop); return; }
    stripHopByHop(req.headers, false);
    req.on('data', (chunk: Buffer) => {
      ex.bytesIn += chunk.length;
      ex.requestBodyTap?.(chunk);
    });
    // A shaped upload (upKbps): http-proxy reads the body from `buffer` instead of the request.
    const upload = ex.network ? uploadSource(ex, req) : req;
    if (upload !== req) options.buffer = upload;
    this.proxy.web(req, res, options, (err) => this.onError(ex, err as NodeJS.ErrnoException));
  }

  /** Sends an admitted WebSocket upgrade upstream; after the 101, bytes are piped both ways unchanged. */
  ws(ex: Exchange, socket: Duplex, head: Buffer): void {
    const { loop, options } = this.options(ex);
    if (loop) { this.onError(ex, loop); return; }
    stripHopByHop(ex.req.headers, true);
    const ssl = options.ssl as Record<symbol, (r: ClientRequest) => void>;
    const announce = ssl[kOnUpstreamRequest]!;
    ssl[kOnUpstreamRequest] = (upstreamReq) => {
      announce(upstreamReq);
      upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
        // Not upgraded: http-proxy relays this response to the client as it is.
        ex.status = upstreamRes.statusCode;
        ex.responseHeaders = upstreamRes.headers;
        ex.responseStartMs = ex.elapsedMs();
        upstreamRes.on('data', (chunk: Buffer) => { ex.bytesOut += chunk.length; });
        upstreamRes.on('error', () => ex.cut('error'));
      });
      upstreamReq.on('upgrade', (upstreamRes: IncomingMessage, upstreamSocket: Duplex) => {
        ex.upgraded = true;
        ex.status = 101;
        ex.responseHeaders = upstreamRes.headers;
        ex.responseStartMs = ex.elapsedMs();
        ex.upstreamSocket = upstreamSocket;
        // Messages observed (never changed) when the dashboard or a HAR wants them (SPEC §8).
        const tap = this.ctx.socketMessages.tap(ex, upstreamRes.headers['sec-websocket-extensions']);
        upstreamSocket.on('data', (chunk: Buffer) => { ex.bytesOut += chunk.length; tap?.fromServer(chunk); });
        socket.on('data', (chunk: Buffer) => { ex.bytesIn += chunk.length; tap?.fromClient(chunk); });
        if (tap) socket.once('close', () => tap.end());
        // A peer that vanishes without a FIN: the other side is closed too (a shaped socket once its shaper has flushed).
        upstreamSocket.on('close', () => { if (!this.shapedSockets.has(upstreamSocket)) socket.destroy(); });
        socket.on('close', () => upstreamSocket.destroy());
        if (shapesSocket(ex)) this.shapedSockets.set(upstreamSocket, ex);
        watchSocketDrop(ex, this.ctx.network, socket, upstreamSocket);
      });
    };
    this.proxy.ws(ex.req, socket, head, options, (err) => this.onError(ex, err as NodeJS.ErrnoException));
  }

  private onResponse(ex: Exchange, proxyRes: IncomingMessage): void {
    // Hop-by-hop (RFC 9110 §7.6.1): the client's connection is ours, kept alive or closed as the
    // client asked, whatever the upstream said of its own (http-proxy keeps a header set here).
    delete proxyRes.headers['keep-alive'];
    delete proxyRes.headers['proxy-connection'];
    proxyRes.headers.connection = ex.clientWantsClose ? 'close' : 'keep-alive';
    ex.status = proxyRes.statusCode;
    ex.responseHeaders = proxyRes.headers;
    ex.responseStartMs = ex.elapsedMs();
    // An upstream that breaks off mid-body: the client must see the connection cut, never a short body.
    proxyRes.on('error', () => ex.cut('error'));
    proxyRes.on('aborted', () => ex.cut('error'));
    const stop = runResponseHeadRules(this.ctx, ex);
    if (stop) {
      ex.abortUpstream();
      ex.block(stop);
      return;
    }
    // A shaped or reset response (SPEC §11): http-proxy's pipe to the client goes through the sink.
    const sink = ex.network && ex.res ? responseSink(ex, ex.res) : undefined;
    if (sink && sink !== ex.res) proxyRes.pipe = (() => Readable.prototype.pipe.call(proxyRes, sink)) as typeof proxyRes.pipe;
    const observers = bodyObservers(this.ctx, ex);
    const tap = ex.responseBodyTap;
    proxyRes.on('data', (chunk: Buffer) => {
      ex.bytesOut += chunk.length;
      observers?.observe(chunk);
      tap?.(chunk);
    });
    if (observers) proxyRes.on('end', () => { if (proxyRes.complete) observers.end(); });
  }

  private onError(ex: Exchange, err: NodeJS.ErrnoException): void {
    if (ex.ended) return;
    const what = describeError(err);
    this.ctx.log.warn({ id: ex.id, url: ex.url, client: ex.client, error: { code: err.code, message: err.message }, cause: what.cause }, 'upstream error');
    if (ex.canAnswer) {
      ex.abortUpstream();
      ex.answer(upstreamErrorAnswer(ex.api, what.cause, what.reason, what.message), 'error');
    } else {
      ex.cut('error');
    }
  }
}
