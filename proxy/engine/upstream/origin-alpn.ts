/**
 * Which origins (`host:port`) accept HTTP/2, as their TLS handshakes answered an ALPN offer
 * (RFC 7301). The health report's `http2` row (docs/health.md) reads it. Two sources write it:
 * the proxy's forwarding connections (proxy/engine/upstream/pools.ts), and the TLS audit's own
 * handshakes (certs/audit/probe.ts), which offer `h2` and `http/1.1`. Only an answer to an offer
 * that included `h2` says whether the origin accepts it: forwarding offers `http/1.1` alone as long
 * as undici forwards HTTP/1.1, so today the audit's answer decides. Once forwarding offers `h2`, its
 * answer (also on each Exchange as `upstreamAlpn`) replaces this store as the source.
 */
export const ALPN_OFFER: readonly string[] = ['h2', 'http/1.1'];

/** Origins remembered at most; past it the oldest answer is forgotten (asked again on its next handshake). */
const MAX_ORIGINS = 4096;

export class OriginAlpn {
  private readonly byOrigin = new Map<string, string>();

  /**
   * The origin answered `negotiated` (false or null: no ALPN, which is HTTP/1.1) to an offer of
   * `offered`. An offer without `h2` tells nothing about h2 and is not kept.
   */
  note(host: string, port: number, offered: readonly string[] | undefined, negotiated: string | false | null | undefined): void {
    if (!offered?.includes('h2')) return;
    const key = `${host}:${port}`;
    if (!this.byOrigin.has(key) && this.byOrigin.size >= MAX_ORIGINS) this.byOrigin.delete(this.byOrigin.keys().next().value!);
    this.byOrigin.set(key, negotiated || 'http/1.1');
  }

  /** The protocol the origin chose when offered h2 (`h2`, `http/1.1`), or undefined when it was never asked. */
  protocolOf(host: string, port: number): string | undefined {
    return this.byOrigin.get(`${host}:${port}`);
  }
}
