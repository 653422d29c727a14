/**
 * Which origins (`host:port`) accept HTTP/2, as their TLS handshakes answered an ALPN offer
 * (RFC 7301). The health report's `http2` row (docs/health.md) reads it. Two sources write it:
 * the proxy's forwarding connections when they offer h2 (proxy/engine/upstream/pools.ts
 * `learnAlpn`; not under `--http2 off`), and the TLS audit's own handshakes (certs/audit/probe.ts),
 * which always offer `h2` and `http/1.1`. Only an answer to an offer that included `h2` says
 * whether the origin accepts it, so this store wins over an exchange's `upstreamAlpn`, which reads
 * `http/1.1` when forwarding did not offer h2.
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
    this.noteOrigin(`${host}:${port}`, negotiated || 'http/1.1');
  }

  /** The origin `host:port` chose `protocol` when offered h2. */
  noteOrigin(key: string, protocol: string): void {
    if (!this.byOrigin.has(key) && this.byOrigin.size >= MAX_ORIGINS) this.byOrigin.delete(this.byOrigin.keys().next().value!);
    this.byOrigin.set(key, protocol);
  }

  /** The protocol the origin chose when offered h2 (`h2`, `http/1.1`), or undefined when it was never asked. */
  protocolOf(host: string, port: number): string | undefined {
    return this.byOrigin.get(`${host}:${port}`);
  }
}
