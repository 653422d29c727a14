/**
 * Exchanges in flight, per client IP (docs/device.md: request head received → last
 * response byte sent, or the socket closed). Read by the admin API, the dashboard, background
 * mode and the graceful shutdown; the concurrency rules keep their own slots.
 *
 * A call waiting for a concurrency slot (docs/device.md) stays in `all()` (background mode
 * interrupts it like a call in flight; shutdown waits for it) but is not counted in flight.
 */
import type { Api } from '../../config/vocabulary.js';
import type { Exchange } from './exchange.js';

/** One client's load: `http` is request + uploadFile + downloadFile together, as before per-API caps. */
export interface ClientLoad { http: number; socket: number; request: number; uploadFile: number; downloadFile: number }

const KEY_OF: Readonly<Record<Api, keyof ClientLoad>> = { request: 'request', uploadFile: 'uploadFile', downloadFile: 'downloadFile', connectSocket: 'socket' };

export class InFlight {
  private readonly exchanges = new Set<Exchange>();
  private readonly waiting = new Set<Exchange>();
  private readonly perClient = new Map<string, ClientLoad>();
  private idleWaiters: (() => void)[] = [];
  /** Told after each change of a client's counts (the dashboard's timeline points). */
  onChange?: (client: string) => void;

  add(ex: Exchange): void {
    this.exchanges.add(ex);
    this.count(ex, 1);
  }

  /** `ex` waits for a slot: still there, no longer counted in flight. */
  wait(ex: Exchange): void {
    if (!this.exchanges.has(ex) || this.waiting.has(ex)) return;
    this.waiting.add(ex);
    this.count(ex, -1);
  }

  /** `ex` left the queue: counted in flight again. */
  resume(ex: Exchange): void {
    if (!this.waiting.delete(ex)) return;
    this.count(ex, 1);
  }

  delete(ex: Exchange): void {
    if (!this.exchanges.delete(ex)) return;
    if (!this.waiting.delete(ex)) this.count(ex, -1);
    if (this.exchanges.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private count(ex: Exchange, by: 1 | -1): void {
    let load = this.perClient.get(ex.client);
    if (!load) this.perClient.set(ex.client, (load = { http: 0, socket: 0, request: 0, uploadFile: 0, downloadFile: 0 }));
    load[KEY_OF[ex.api]] += by;
    if (!ex.isWebSocket) load.http += by;
    if (load.http === 0 && load.socket === 0) this.perClient.delete(ex.client);
    this.onChange?.(ex.client);
  }

  /** Exchanges under way, the ones waiting for a slot included. */
  get size(): number {
    return this.exchanges.size;
  }

  all(): IterableIterator<Exchange> {
    return this.exchanges.values();
  }

  /** The live counts of `client` (read, never kept: they change), or undefined when it has none in flight. */
  countsOf(client: string): Readonly<ClientLoad> | undefined {
    return this.perClient.get(client);
  }

  /** `{"<client>": {"http": N, "socket": N, "request": N, "uploadFile": N, "downloadFile": N}}`, as `/api/stats` shows it. */
  snapshot(): Record<string, ClientLoad> {
    return Object.fromEntries([...this.perClient].map(([client, load]) => [client, { ...load }]));
  }

  /** Resolves when nothing is in flight or waiting (at once if nothing is). */
  idle(): Promise<void> {
    return this.exchanges.size === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
