/**
 * Exchanges in flight, per client IP (SPEC §10 "Concurrency": request head received → last
 * response byte sent, or the socket closed). Read by the admin API, the dashboard and the
 * graceful shutdown; the concurrency rule keeps its own slots.
 */
import type { Exchange } from './exchange.js';

export interface ClientLoad { http: number; socket: number }

export class InFlight {
  private readonly exchanges = new Set<Exchange>();
  private readonly perClient = new Map<string, ClientLoad>();
  private idleWaiters: (() => void)[] = [];

  add(ex: Exchange): void {
    this.exchanges.add(ex);
    let load = this.perClient.get(ex.client);
    if (!load) this.perClient.set(ex.client, (load = { http: 0, socket: 0 }));
    load[ex.isWebSocket ? 'socket' : 'http']++;
  }

  delete(ex: Exchange): void {
    if (!this.exchanges.delete(ex)) return;
    const load = this.perClient.get(ex.client)!;
    load[ex.isWebSocket ? 'socket' : 'http']--;
    if (load.http === 0 && load.socket === 0) this.perClient.delete(ex.client);
    if (this.exchanges.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  get size(): number {
    return this.exchanges.size;
  }

  all(): IterableIterator<Exchange> {
    return this.exchanges.values();
  }

  /** One client's load now (a copy). */
  /** The live counts of `client` (read, never kept: they change), or undefined when it has none in flight. */
  countsOf(client: string): Readonly<ClientLoad> | undefined {
    return this.perClient.get(client);
  }

  /** `{"<client>": {"http": N, "socket": N}}`, as `/api/stats` shows it. */
  snapshot(): Record<string, ClientLoad> {
    return Object.fromEntries([...this.perClient].map(([client, load]) => [client, { ...load }]));
  }

  /** Resolves when nothing is in flight (at once if nothing is). */
  idle(): Promise<void> {
    return this.exchanges.size === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
