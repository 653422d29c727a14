/**
 * What both dispatch handlers share (proxy/engine/forward.ts for HTTP, proxy/engine/websocket.ts for upgrades):
 * the request headers the upstream gets, and the exchange's handle on aborting the dispatch.
 */
import type { Exchange } from '../flow/exchange.js';
import type { Dispatcher } from 'undici';
import type { Forwarder } from './forward.js';

/**
 * RFC 9110 §7.6.1: hop-by-hop fields are the proxy's to consume, never to forward. `expect` too:
 * Node's server has already answered `100 Continue` to the client, and undici sends the body as
 * it comes. `upgrade`/`connection` of a WebSocket are written by undici itself.
 */
export const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'proxy-authorization', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** The fields named by Connection (RFC 9110 §7.6.1), lowercased; undefined when there is none. */
export function connectionTokenSet(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      for (const t of raw[i + 1]!.split(',')) (named ??= new Set()).add(t.trim().toLowerCase());
    }
  }
  return named;
}

/** The client's headers as the upstream gets them: names and order kept, hop-by-hop dropped, overrides applied. */
export function upstreamRequestHeaders(ex: Exchange): string[] {
  const raw = ex.req.rawHeaders;
  const named = connectionTokenSet(raw);
  const overrides = ex.upstreamHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || lower in overrides) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  for (const name in overrides) out.push(name, overrides[name]!);
  return out;
}

/**
 * What every dispatch handler shares (undici's controller API, types/dispatcher.d.ts
 * `DispatchHandler`): the exchange holds the dispatch's controller, whose `abort()` stops it.
 */
export abstract class DispatchRelay {
  /** Set once this dispatch has ended for the exchange (completed, failed, or handed a socket). */
  protected done = false;

  constructor(protected readonly forwarder: Forwarder, protected readonly ex: Exchange) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.ex.upstream = controller;
    // Answered by a timer or ended while connecting: the dispatch has no one to go to.
    if (this.ex.state !== 'forwarding') this.ex.abortUpstream();
  }

  /**
   * True when undici's callbacks no longer concern the exchange: the dispatch ended, or the proxy
   * aborted it (Exchange.abortUpstream: a rule answered, the client left, a fault; undici hands
   * that abort back to onResponseError, which has nothing to do). `controller` is undefined when the dispatch failed before it started (a connection
   * refused while the request was queued): undici then calls onResponseError alone.
   */
  protected ignored(controller: Dispatcher.DispatchController | undefined): boolean {
    return this.done || controller?.aborted === true;
  }
}
