/** What every part of a running proxy shares, built once at start. */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { TunnelInfo } from './engine/tunnel-info.js';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/load.js';
import type { Ca } from '../certs/ca.js';
import type { CertStore } from '../certs/store.js';
import type { Clients } from './flow/clients.js';
import type { EventHub } from './flow/events.js';
import type { ExchangeLog } from './admin/exchange-store.js';
import type { InFlight } from './flow/inflight.js';
import type { NetworkState } from './network/state.js';
import type { SocketMessages } from './sockets/messages.js';
import type { Rule } from './rules/types.js';
import type { Upstream } from './engine/upstream/pools.js';
import type { HealthMonitor } from './reports/health.js';
import type { MapRules } from './engine/map/state.js';

/** Switched by `POST /api/background` and the dashboard (docs/dashboard.md); the background rules listen. */
export class RuntimeState extends EventEmitter {
  background = false;
  /** Where the proxy listens, once it does (the dashboard's config summary and phone QR). */
  listening?: { host: string; port: number };
  /** Feeds a connection to the proxy as a tunnel (replay, docs/toolkit.md); set by the proxy server. */
  openTunnel?: (socket: Duplex, info: TunnelInfo) => void;

  setBackground(on: boolean): void {
    if (on === this.background) return;
    this.background = on;
    this.emit('background', on);
  }
}

export interface ProxyContext {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  readonly ca: Ca;
  readonly certs: CertStore;
  readonly events: EventHub;
  readonly inFlight: InFlight;
  /** Clients seen and their names (docs/dashboard.md). */
  readonly clients: Clients;
  /** Recent exchanges and each client's in-flight timeline, for the dashboard (docs/dashboard.md). */
  readonly exchanges: ExchangeLog;
  /** WebSocket messages observed per socket, bounded (docs/dashboard.md). */
  readonly socketMessages: SocketMessages;
  readonly state: RuntimeState;
  /** The network conditions in force (docs/network.md), switched by `POST /api/network`. */
  readonly network: NetworkState;
  readonly upstream: Upstream;
  /** The network health report (docs/health.md), recording once something asks for it. */
  readonly health: HealthMonitor;
  /** The map rules in force (docs/toolkit.md), replaced by `POST /api/map`. */
  readonly map: MapRules;
  /** The ordered registry (rules/index.ts). */
  readonly rules: readonly Rule[];
}
