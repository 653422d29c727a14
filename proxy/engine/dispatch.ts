/**
 * What both dispatch handlers share (proxy/engine/forward.ts for HTTP, proxy/engine/websocket.ts for upgrades):
 * the request headers the upstream gets, and the exchange's handle on aborting the dispatch.
 */
import type { Exchange } from '../flow/exchange.js';
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

/**
 * The client's headers as the upstream gets them: names and order kept, hop-by-hop dropped,
 * overrides applied. From an h2 client (docs/http2.md): pseudo-headers dropped, `:authority` sent
 * as `host` when the client sent no `host` (RFC 9113 §8.3.1), and split `cookie` fields joined
 * with "; " as an HTTP/1.1 upstream expects them (RFC 9113 §8.2.3).
 */
export function upstreamRequestHeaders(ex: Exchange): string[] {
  const raw = ex.req.rawHeaders;
  const named = connectionTokenSet(raw);
  const overrides = ex.upstreamHeaders;
  const out: string[] = [];
  const h2 = ex.protocol === 'h2';
  let authority: string | undefined;
  let hasHost = false;
  let cookies: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (h2) {
      if (lower === ':authority') authority = raw[i + 1]!;
      if (lower.startsWith(':')) continue;
      if (lower === 'host') hasHost = true;
      if (lower === 'cookie' && !('cookie' in overrides)) { (cookies ??= []).push(raw[i + 1]!); continue; }
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || lower in overrides) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  if (h2 && !hasHost && authority !== undefined && !('host' in overrides)) out.unshift('host', authority);
  if (cookies) out.push('cookie', cookies.join('; '));
  for (const name in overrides) out.push(name, overrides[name]!);
  return out;
}

/** What every dispatch handler shares: the exchange can abort the dispatch, once, until it is done. */
export abstract class DispatchRelay {
  /** Set once the exchange no longer listens to this dispatch (aborted, blocked at the head, or ended). */
  protected done = false;

  constructor(protected readonly forwarder: Forwarder, protected readonly ex: Exchange) {}

  onConnect(abort: (err?: Error) => void): void {
    // Answered by a timer or ended while connecting: the dispatch has no one to go to.
    if (this.ex.state !== 'forwarding') { this.done = true; abort(); return; }
    this.ex.upstreamAbort = () => {
      if (this.done) return;
      this.done = true;
      abort();
    };
  }
}
