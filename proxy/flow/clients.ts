/**
 * The clients seen, by source IP, with the names people give them (docs/dashboard.md: `--client-name
 * IP=NAME`, config `clients`, `POST /api/clients`). A lab shares one proxy between several phones;
 * the name is what the dashboard, the events (`clientName`), the reports and the HAR show.
 */
import { clientNameProblem } from '../../config/client-name.js';
import { normalizeIp } from '../../config/net-address.js';

export interface ClientSummary {
  client: string;
  name: string | null;
  requests: number;
  violations: number;
  sockets: number;
}

/** Past this many distinct addresses, new ones are still served but no longer counted here. */
export const MAX_TRACKED_CLIENTS = 10_000;

/** `192.168.1.23=iphone-13` → `["192.168.1.23", "iphone-13"]`, or a one-line reason. */
export function parseClientName(text: string): { ip: string; name: string } | { error: string } {
  const eq = text.indexOf('=');
  if (eq < 0) return { error: `--client-name takes IP=NAME (192.168.1.23=iphone-13), got ${JSON.stringify(text)}` };
  const ip = text.slice(0, eq).trim().replace(/^\[(.*)\]$/, '$1');
  const name = text.slice(eq + 1).trim();
  const problem = clientNameProblem(ip, name);
  return problem ? { error: `--client-name ${text}: ${problem}` } : { ip: normalizeIp(ip), name };
}

interface Counts { requests: number; violations: number; sockets: number }

export class Clients {
  private readonly names = new Map<string, string>();
  private readonly counts = new Map<string, Counts>();

  constructor(names: Iterable<readonly [string, string]> = []) {
    for (const [ip, name] of names) this.names.set(normalizeIp(ip), name);
  }

  nameOf(client: string): string | undefined {
    return this.names.get(client);
  }

  /** Names (or, with null, unnames) a client; the caller has checked it with clientNameProblem. */
  setName(client: string, name: string | null): void {
    const ip = normalizeIp(client);
    if (name === null) this.names.delete(ip);
    else this.names.set(ip, name);
  }

  private countsOf(client: string): Counts | undefined {
    let c = this.counts.get(client);
    if (!c && this.counts.size < MAX_TRACKED_CLIENTS) this.counts.set(client, (c = { requests: 0, violations: 0, sockets: 0 }));
    return c;
  }

  /** A request head or a socket handshake from `client`: `requests` counts both (as `/api/stats` does), `sockets` the handshakes. */
  countExchange(client: string, socket: boolean): void {
    const c = this.countsOf(client);
    if (!c) return;
    c.requests++;
    if (socket) c.sockets++;
  }

  countViolation(client: string): void {
    const c = this.countsOf(client);
    if (c) c.violations++;
  }

  /** `GET /api/clients`: every client seen, and every named one, by address. */
  list(): ClientSummary[] {
    const ips = new Set([...this.counts.keys(), ...this.names.keys()]);
    return [...ips].sort().map((client) => {
      const c = this.counts.get(client);
      return { client, name: this.names.get(client) ?? null, requests: c?.requests ?? 0, violations: c?.violations ?? 0, sockets: c?.sockets ?? 0 };
    });
  }
}
