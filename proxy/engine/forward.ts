/**
 * Forwarding with undici's Dispatcher : each admitted exchange is dispatched
 * on its route's Pool (proxy/engine/upstream/pools.ts) with a handler that writes the response to the
 * client as it arrives. Backpressure both ways: the handler pauses its controller while the
 * client's socket is full and resumes it on the socket's 'drain'; the upload is the client's request stream,
 * which undici pauses when the upstream socket is full. The Referer (and any other override) is
 * set in the headers the dispatch sends. The WebSocket path is proxy/engine/websocket.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyContext } from '../context.js';
import type { Exchange } from '../flow/exchange.js';
import type { ResponseWriter } from '../flow/response-writer.js';
import { upstreamErrorAnswer } from '../flow/respond.js';
import { answerFinding, type BodyTap, bodyObservers, runResponseHeadRules } from '../rules/pipeline.js';
import { LoopError } from './upstream/pools.js';
import { UpstreamProxyError } from './upstream/chain.js';
import { DispatchRelay, type RelayHost, upstreamRequestHeaders } from './dispatch.js';
import { endToEnd, headersOf } from './headers.js';
import { responseSink, uploadSource } from '../network/paths.js';
import { forwardWebSocket } from './websocket.js';
import { relayed } from './relay-memory.js';
import { mapExchange, type UpstreamRoute } from './map/index.js';

/** The response head as the client gets it, and as the rules and the HAR read it. */
function responseHeaders(raw: Buffer[]): { flat: string[]; parsed: IncomingHttpHeaders } {
  const flat = endToEnd(raw);
  const parsed = headersOf(flat);
  // The client's connection is ours (proxy/flow/response-writer.ts), whatever the upstream said of its own.
  return { flat, parsed };
}

/**
 * The upload as undici's body: the client's request stream itself, or none when the request has
 * no body. Every chunk passes `onUploadChunk` on its way; undici pauses and resumes the stream.
 */
function uploadOf(ex: Exchange): Readable | null {
  const { req } = ex;
  if (!ex.hasBody) return null;
  // Listening first and pausing keeps the stream still until undici (or the shaper) reads it.
  req.on('data', (chunk: Buffer) => onUploadChunk(ex, chunk));
  req.pause();
  // A shaped upload (docs/network.md upKbps): undici reads the shaper, which reads the request.
  return ex.network ? uploadSource(ex, req) : req;
}

/** The one place an upload chunk passes (client → upstream): counts and taps it. */
function onUploadChunk(ex: Exchange, chunk: Buffer): void {
  ex.bytesIn += chunk.length;
  relayed(chunk.length);
  ex.requestBodyTap?.(chunk);
}

/** What a forwarding error tells the client: the cause for scripts, the runtime's reason, a sentence. */
export function describeError(err: NodeJS.ErrnoException): { cause: string; reason: string; message: string } {
  // undici wraps socket errors; the cause's code says more (ECONNRESET rather than UND_ERR_SOCKET).
  const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
  const code = (err.code?.startsWith('UND_ERR_') && cause?.code) || err.code || '';
  if (err instanceof LoopError) return { cause: 'loop', reason: 'url not in domain list', message: err.message };
  // The upstream proxy refused the tunnel or cannot be reached (docs/upstream-proxy.md); its message has no credentials.
  const viaProxy = err instanceof UpstreamProxyError ? err : cause instanceof UpstreamProxyError ? cause : undefined;
  if (viaProxy) return { cause: 'upstream-proxy', reason: viaProxy.reason ?? 'upstream proxy error', message: viaProxy.message };
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME|EPROTO/.test(code)) {
    return { cause: 'upstream-tls', reason: 'ssl hand shake error', message: `TLS with the upstream failed: ${err.message}` };
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return { cause: 'upstream-unreachable', reason: code.toLowerCase(), message: `the upstream cannot be reached: ${err.message}` };
  }
  const reason = code === 'UND_ERR_SOCKET' ? 'econnreset' : code ? code.toLowerCase() : 'upstream error';
  return { cause: 'upstream-failed', reason, message: `the upstream failed before responding: ${err.message}` };
}

/**
 * undici's Dispatcher handler (its controller API): one per forwarded request. The head is read
 * from `controller.rawHeaders` (the upstream's names, order and repeated fields as they came),
 * not from the parsed object, so that every Set-Cookie line reaches the client as its own line.
 */
class ResponseRelay extends DispatchRelay implements Dispatcher.DispatchHandler {
  private observers?: BodyTap;
  /** Where the body goes: the response itself, or the network shaper in front of it (docs/network.md). */
  private sink?: Writable;

  constructor(host: RelayHost, ex: Exchange, private readonly writer: ResponseWriter) {
    super(host, ex);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: IncomingHttpHeaders, statusMessage?: string): void {
    // 1xx informational answers (103 Early Hints) are not relayed; the final one follows.
    if (this.ignored(controller) || statusCode < 200) return;
    const { ex, writer } = this;
    const { flat, parsed } = responseHeaders(controller.rawHeaders as Buffer[]);
    ex.status = statusCode;
    ex.responseHeaders = parsed;
    ex.responseStartMs = ex.elapsedMs();
    const { ctx } = this.host;
    if (ex.scheme === 'https') ex.upstreamAlpn = ctx.upstream.alpnOf(ex.host, ex.port) ?? 'http/1.1';
    const stop = runResponseHeadRules(ctx, ex);
    if (stop) {
      ex.abortUpstream();
      answerFinding(ex, stop);
      return;
    }
    try {
      writer.head(statusCode, statusMessage ?? '', flat);
    } catch (err) {
      // A head Node refuses to write (a bad character in a value): the upstream failed.
      ex.abortUpstream();
      this.host.onError(ex, err as NodeJS.ErrnoException);
      return;
    }
    ex.moveTo('answered');
    this.observers = bodyObservers(ctx, ex);
    this.sink = ex.network ? responseSink(ex, writer) : writer.body;
    this.followDrain(controller, this.sink);
  }

  /** The one place a response chunk passes (upstream → client): counted, observed, tapped, written. */
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ignored(controller)) return;
    const { ex } = this;
    ex.bytesOut += chunk.length;
    relayed(chunk.length);
    this.observers?.observe(chunk);
    ex.responseBodyTap?.(chunk);
    if (this.sink === this.writer.body) ex.bytesToClient += chunk.length;
    // The client's socket (or the shaper) is full: the upstream socket waits for its 'drain'.
    if (!this.sink!.write(chunk)) controller.pause();
  }

  onResponseEnd(controller: Dispatcher.DispatchController): void {
    if (this.ignored(controller)) return;
    this.stop();
    this.observers?.end();
    (this.sink ?? this.writer.body).end();
  }

}

export class Forwarder implements RelayHost {
  constructor(readonly ctx: ProxyContext) {}

  /** The route's pool, or the loop error when the route is the proxy itself. `to`: the exchange's own target, or a map rule's. */
  private dispatcherFor(ex: Exchange, to: Pick<UpstreamRoute, 'host' | 'port'> & { scheme: string } = ex): Dispatcher | LoopError {
    const { upstream } = this.ctx;
    const loop = upstream.loopCheck(upstream.route(to.host, to.port));
    if (loop) return loop;
    // WebSocket upgrades stay on HTTP/1.1 upstream too (no RFC 8441 extended CONNECT: docs/http2.md).
    return upstream.dispatcher(to.scheme === 'https' || to.scheme === 'wss', to.host, to.port, !ex.isWebSocket);
  }

  /** Sends an admitted HTTP exchange upstream. */
  web(ex: Exchange): void {
    const { writer } = ex;
    if (!writer || !ex.moveTo('forwarding')) return;
    // Out of any queue, on its way upstream: the health report's concurrency per API counts from here.
    this.ctx.events.emit('exchange-forward', ex);
    // Map rules (docs/toolkit.md): answered from disk or by the rule, or sent to another upstream.
    const mapped = mapExchange(this.ctx, ex);
    if (mapped === 'answered') return;
    const dispatcher = this.dispatcherFor(ex, mapped);
    if (dispatcher instanceof LoopError) { this.onError(ex, dispatcher); return; }
    dispatcher.dispatch({
      method: ex.method,
      path: mapped?.path ?? ex.path,
      headers: upstreamRequestHeaders(ex),
      body: uploadOf(ex),
    }, new ResponseRelay(this, ex, writer));
  }

  /** Sends an admitted WebSocket upgrade upstream (proxy/engine/websocket.ts). */
  ws(ex: Exchange, head: Buffer): void {
    if (!ex.moveTo('forwarding')) return;
    this.ctx.events.emit('exchange-forward', ex);
    const dispatcher = this.dispatcherFor(ex);
    if (dispatcher instanceof LoopError) { this.onError(ex, dispatcher); return; }
    forwardWebSocket(this, ex, dispatcher, head);
  }

  /** The upstream failed: 502 with `x-mgproxy-error` while nothing was sent, else the client's connection is cut. */
  onError(ex: Exchange, err: NodeJS.ErrnoException): void {
    if (ex.state === 'ended') return;
    const what = describeError(err);
    this.ctx.log.warn({ id: ex.id, url: ex.url, client: ex.client, error: { code: err.code, message: err.message }, cause: what.cause }, 'upstream error');
    if (ex.answerable) {
      ex.abortUpstream();
      ex.answer(upstreamErrorAnswer(ex.api, what.cause, what.reason, what.message), 'error');
    } else {
      ex.cut('error');
    }
  }
}
