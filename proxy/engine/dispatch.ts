/**
 * What both dispatch handlers share (proxy/engine/forward.ts for HTTP, proxy/engine/websocket.ts for upgrades):
 * the request headers the upstream gets, and the exchange's handle on aborting the dispatch.
 */
import type { Exchange } from '../flow/exchange.js';
import type { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyContext } from '../context.js';
import { requestHeaders } from './headers.js';

/** The client's headers as the upstream gets them (proxy/engine/headers.ts), the Referer rewrite applied. */
export const upstreamRequestHeaders = (ex: Exchange): string[] =>
  requestHeaders(ex.protocol === 'h2' ? fromH2(ex.req.rawHeaders) : ex.req.rawHeaders, ex.upstreamHeaders);

/**
 * An h2 client's fields as an HTTP/1.1 request would carry them (docs/http2.md): pseudo-headers
 * dropped, `:authority` sent as `host` when the client sent no `host` (RFC 9113 §8.3.1), and split
 * `cookie` fields joined with "; " (RFC 9113 §8.2.3).
 */
function fromH2(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let hasHost = false;
  let cookies: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === ':authority') authority = raw[i + 1]!;
    if (lower.startsWith(':')) continue;
    if (lower === 'host') hasHost = true;
    if (lower === 'cookie') { (cookies ??= []).push(raw[i + 1]!); continue; }
    out.push(raw[i]!, raw[i + 1]!);
  }
  if (!hasHost && authority !== undefined) out.unshift('host', authority);
  if (cookies) out.push('cookie', cookies.join('; '));
  return out;
}

/**
 * What a relay needs of the proxy around it (the Forwarder is one): the services it reads (the
 * rules and mode for the pipeline, the socket observer, the network conditions) and where an
 * upstream failure goes.
 */
export interface RelayHost {
  readonly ctx: Pick<ProxyContext, 'config' | 'rules' | 'socketMessages' | 'network' | 'upstream'>;
  /** The upstream failed: the proxy's 502 while nothing was sent, else a cut. */
  onError(ex: Exchange, err: NodeJS.ErrnoException): void;
}

/**
 * What every dispatch handler shares (undici's controller API, types/dispatcher.d.ts
 * `DispatchHandler`): the exchange holds the dispatch's controller, whose `abort()` stops it.
 */
export abstract class DispatchRelay {
  /** Set once this dispatch has ended for the exchange (completed, failed, or handed a socket). */
  protected done = false;

  constructor(protected readonly host: RelayHost, protected readonly ex: Exchange) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.ex.upstream = controller;
    // Answered by a timer or ended while connecting: the dispatch has no one to go to.
    if (this.ex.state !== 'forwarding') this.ex.abortUpstream();
  }

  /**
   * True when undici's callbacks no longer concern the exchange: the dispatch ended, or the proxy
   * aborted it (Exchange.abortUpstream: a rule answered, the client left, a fault; undici hands
   * that abort back to onResponseError, which has nothing to do). `controller` is undefined when
   * the dispatch failed before it started (a connection refused while the request was queued):
   * undici then calls onResponseError alone (lib/handler/unwrap-handler.js).
   */
  protected ignored(controller: Dispatcher.DispatchController | undefined): boolean {
    return this.done || controller?.aborted === true;
  }

  /** Backpressure: the dispatch pauses while `sink` is full (the handlers' data callbacks) and resumes on its 'drain'. */
  protected followDrain(controller: Dispatcher.DispatchController, sink: Writable): void {
    const onDrain = () => controller.resume();
    sink.on('drain', onDrain);
    this.unfollow = () => sink.off('drain', onDrain);
  }

  onResponseError(controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.ignored(controller)) return;
    this.stop();
    this.host.onError(this.ex, err as NodeJS.ErrnoException);
  }

  /** Ends this dispatch for the exchange and stops listening for 'drain'. */
  protected stop(): void {
    this.done = true;
    this.unfollow?.();
  }

  private unfollow?: () => void;
}
