/**
 * The `network` object compiled into the lookup the exchanges ask (docs/network.md): a default preset and
 * rules that match a client (source IP), a host (a name or `*.suffix`), both or neither; the last
 * matching rule wins.
 */
import { normalizeHost, normalizeIp } from '../../config/net-address.js';
import { type Fault, type NetworkConfig, type PresetName, PRESETS, type Profile } from '../../config/network.js';

/** What applies to one exchange: its name is what events and reports carry. */
export interface Condition {
  /** The preset name, `custom`, or the fault type. */
  readonly name: string;
  readonly profile?: Readonly<Profile>;
  readonly fault?: Readonly<Fault>;
  readonly offline?: true;
  /** performance.now() when the rule took effect (outage phases and socket-drop count from it). */
  readonly since: number;
}

interface CompiledRule {
  client?: string;
  /** An exact host, or a suffix with its dot (`.example.com`) for `*.example.com`. */
  host?: string;
  suffix?: boolean;
  condition?: Condition;
}

function conditionOf(r: { preset?: PresetName; fault?: Fault; custom?: Profile }, since: number): Condition | undefined {
  if (r.fault) return { name: r.fault.type, fault: r.fault, since };
  if (r.custom) return { name: 'custom', profile: r.custom, since };
  if (r.preset === 'offline') return { name: 'offline', offline: true, since };
  if (r.preset && r.preset !== 'none') return { name: r.preset, profile: PRESETS[r.preset], since };
  return undefined;
}

/** The compiled lookup: `resolve(client, host)` is one loop over the rules, none when nothing is set. */
export class NetworkConditions {
  private readonly rules: CompiledRule[];
  private readonly fallback?: Condition;
  /** Nothing set: every exchange runs unconditioned, and `resolve` returns at once. */
  readonly off: boolean;

  constructor(readonly config: Readonly<NetworkConfig>, since = performance.now()) {
    this.fallback = conditionOf({ preset: config.default }, since);
    this.rules = config.rules.map((r) => {
      const host = r.host === undefined ? undefined : normalizeHost(r.host);
      const suffix = host?.startsWith('*.') ?? false;
      return { client: r.client === undefined ? undefined : normalizeIp(r.client), host: suffix ? host!.slice(1) : host, suffix, condition: conditionOf(r, since) };
    });
    this.off = !this.fallback && this.rules.every((r) => !r.condition);
  }

  /** The condition for `client` talking to `host`: the last matching rule's, else the default's. */
  resolve(client: string, host: string): Condition | undefined {
    if (this.off) return undefined;
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i]!;
      if (r.client !== undefined && r.client !== client) continue;
      if (r.host !== undefined && !(r.suffix ? host.endsWith(r.host) : host === r.host)) continue;
      return r.condition;
    }
    return this.fallback;
  }
}

/** A condition as reports show it: its name and what it is (`profile`, `fault`, or `offline`). */
export function describeCondition(c: Condition): { name: string; profile?: Profile; fault?: Fault; offline?: true } {
  const out: { name: string; profile?: Profile; fault?: Fault; offline?: true } = { name: c.name };
  if (c.profile) out.profile = { ...c.profile };
  if (c.fault) out.fault = { ...c.fault };
  if (c.offline) out.offline = true;
  return out;
}
