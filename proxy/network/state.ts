/**
 * The `network` object in force (docs/network.md): from the config and `--network`, replaced at run time
 * by `POST /api/network`. Exchanges ask it for their condition once, at their head; open sockets
 * listen for 'change' (a socket-drop rule applies to sockets already open).
 */
import { EventEmitter } from 'node:events';
import { NETWORK_OFF, type NetworkConfig, type NetworkProblem, normalizeNetwork, validateNetwork } from '../../config/network.js';
import { type Condition, NetworkConditions } from './conditions.js';

/** The report's `summary.network`. */
export interface NetworkSummary { inForce: Readonly<NetworkConfig>; exchanges: Record<string, number> }

export class NetworkState extends EventEmitter {
  private compiled: NetworkConditions;
  /** Exchanges per condition name, for the report's `summary.network`. */
  readonly exchanges: Record<string, number> = {};

  constructor(initial: Readonly<NetworkConfig> = NETWORK_OFF) {
    super();
    this.setMaxListeners(0);
    this.compiled = new NetworkConditions(initial);
  }

  get config(): Readonly<NetworkConfig> {
    return this.compiled.config;
  }

  /** Nothing is set: no exchange gets a condition. */
  get none(): boolean {
    return this.compiled.off;
  }

  /** The condition of a new exchange (counted), or undefined when none applies. */
  conditionFor(client: string, host: string): Condition | undefined {
    const c = this.compiled.resolve(client, host);
    if (c) this.exchanges[c.name] = (this.exchanges[c.name] ?? 0) + 1;
    return c;
  }

  /** What applies now to an open exchange of `client` and `host`, uncounted. */
  current(client: string, host: string): Condition | undefined {
    return this.compiled.resolve(client, host);
  }

  /** Replaces the object when it is valid; returns its problems otherwise, the old one staying. */
  set(value: unknown): NetworkProblem[] {
    const problems = validateNetwork(value, 'network');
    if (problems.length > 0) return problems;
    this.compiled = new NetworkConditions(normalizeNetwork(value as Partial<NetworkConfig>));
    this.emit('change', this.compiled.config);
    return [];
  }

  /**
   * For the report: the object in force and how many exchanges ran under each condition; undefined
   * when conditions were never used, so a run without them has the report it always had.
   */
  summary(): NetworkSummary | undefined {
    if (this.none && Object.keys(this.exchanges).length === 0) return undefined;
    return { inForce: this.config, exchanges: { ...this.exchanges } };
  }
}
