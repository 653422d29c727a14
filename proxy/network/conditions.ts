/**
 * The `network` object (SPEC §11): a default preset and rules that match a client (source IP), a
 * host (a name or `*.suffix`), both or neither; the last matching rule wins. Validated with paths,
 * as the config is, and compiled once into the lookup the exchanges ask.
 */
import { isIP } from 'node:net';
import { isHostName, normalizeHost, normalizeIp } from '../../config/net-address.js';
import { isPresetName, PRESET_NAMES, PRESETS, type PresetName, type Profile } from './presets.js';

export const FAULT_TYPES = ['hang', 'reset', 'error-status', 'socket-drop', 'dns-fail', 'outage'] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export type Fault =
  | { type: 'hang' }
  | { type: 'reset'; afterBytes?: number }
  | { type: 'error-status'; status?: number; percent?: number }
  | { type: 'socket-drop'; afterMs?: number }
  | { type: 'dns-fail' }
  | { type: 'outage'; everyMs: number; forMs: number };

export interface NetworkRule {
  client?: string;
  host?: string;
  preset?: PresetName;
  fault?: Fault;
  custom?: Profile;
}

export interface NetworkConfig {
  default: PresetName;
  rules: NetworkRule[];
}

export const NETWORK_OFF: Readonly<NetworkConfig> = Object.freeze({ default: 'none', rules: [] });

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

/** One problem with a path: `network.rules[1].fault.afterBytes`, `must be …`. */
export interface NetworkProblem { path: string; message: string }

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => typeName(v) === 'object';
const presetList = PRESET_NAMES.map((n) => JSON.stringify(n)).join(', ');

function unknownKeys(v: Record<string, unknown>, known: readonly string[], path: string, out: NetworkProblem[]): void {
  for (const k of Object.keys(v)) if (!known.includes(k)) out.push({ path: `${path}.${k}`, message: `unknown key (known: ${known.join(', ')})` });
}

function number(v: Record<string, unknown>, key: string, path: string, out: NetworkProblem[], opts: { min: number; max?: number; integer?: boolean; above?: boolean; required?: boolean }): void {
  const x = v[key];
  if (x === undefined) {
    if (opts.required) out.push({ path: `${path}.${key}`, message: 'is required' });
    return;
  }
  const tooLow = opts.above ? (x as number) <= opts.min : (x as number) < opts.min;
  if (typeof x !== 'number' || !Number.isFinite(x) || tooLow || (opts.max !== undefined && x > opts.max) || (opts.integer && !Number.isInteger(x))) {
    const range = `${opts.above ? `above ${opts.min}` : `at least ${opts.min}`}${opts.max !== undefined ? ` and at most ${opts.max}` : ''}`;
    out.push({ path: `${path}.${key}`, message: `must be ${opts.integer ? 'a whole number' : 'a number'} ${range}, got ${JSON.stringify(x)}` });
  }
}

function checkProfile(v: unknown, path: string, out: NetworkProblem[]): void {
  if (!isObject(v)) { out.push({ path, message: `must be an object, got ${typeName(v)}` }); return; }
  unknownKeys(v, ['downKbps', 'upKbps', 'latencyMs', 'jitterMs', 'lossPercent'], path, out);
  number(v, 'downKbps', path, out, { min: 0, above: true });
  number(v, 'upKbps', path, out, { min: 0, above: true });
  number(v, 'latencyMs', path, out, { min: 0, max: 600_000 });
  number(v, 'jitterMs', path, out, { min: 0, max: 600_000 });
  number(v, 'lossPercent', path, out, { min: 0, max: 100 });
}

const FAULT_PARAMS: Readonly<Record<FaultType, readonly string[]>> = {
  'hang': [], 'reset': ['afterBytes'], 'error-status': ['status', 'percent'], 'socket-drop': ['afterMs'], 'dns-fail': [], 'outage': ['everyMs', 'forMs'],
};

function checkFault(v: unknown, path: string, out: NetworkProblem[]): void {
  if (!isObject(v)) { out.push({ path, message: `must be an object with a "type", got ${typeName(v)}` }); return; }
  const type = v.type;
  if (typeof type !== 'string' || !(FAULT_TYPES as readonly string[]).includes(type)) {
    out.push({ path: `${path}.type`, message: `must be one of ${FAULT_TYPES.map((t) => JSON.stringify(t)).join(', ')}, got ${JSON.stringify(type)}` });
    return;
  }
  unknownKeys(v, ['type', ...FAULT_PARAMS[type as FaultType]], path, out);
  switch (type as FaultType) {
    case 'reset': number(v, 'afterBytes', path, out, { min: 0, integer: true }); break;
    case 'error-status':
      number(v, 'status', path, out, { min: 400, max: 599, integer: true });
      number(v, 'percent', path, out, { min: 0, max: 100 });
      break;
    case 'socket-drop': number(v, 'afterMs', path, out, { min: 0, integer: true }); break;
    case 'outage':
      number(v, 'everyMs', path, out, { min: 1, integer: true, required: true });
      number(v, 'forMs', path, out, { min: 1, integer: true, required: true });
      if (typeof v.everyMs === 'number' && typeof v.forMs === 'number' && v.forMs >= v.everyMs) out.push({ path: `${path}.forMs`, message: `must be less than everyMs (${v.everyMs})` });
      break;
    default: break;
  }
}

function checkRule(v: unknown, path: string, out: NetworkProblem[]): void {
  if (!isObject(v)) { out.push({ path, message: `must be an object, got ${typeName(v)}` }); return; }
  unknownKeys(v, ['client', 'host', 'preset', 'fault', 'custom'], path, out);
  if (v.client !== undefined && (typeof v.client !== 'string' || isIP(normalizeIp(v.client)) === 0)) {
    out.push({ path: `${path}.client`, message: `must be a client's IP address, got ${JSON.stringify(v.client)}` });
  }
  if (v.host !== undefined) {
    const host = typeof v.host === 'string' ? normalizeHost(v.host) : '';
    const base = host.startsWith('*.') ? host.slice(2) : host;
    if (!isHostName(base) && isIP(base) === 0) out.push({ path: `${path}.host`, message: `must be a host name or "*.domain", got ${JSON.stringify(v.host)}` });
  }
  const given = (['preset', 'fault', 'custom'] as const).filter((k) => v[k] !== undefined);
  if (given.length !== 1) {
    out.push({ path, message: given.length === 0 ? 'needs one of "preset", "fault" or "custom"' : `has ${given.map((g) => `"${g}"`).join(' and ')}: give one` });
  }
  if (v.preset !== undefined && !isPresetName(v.preset)) out.push({ path: `${path}.preset`, message: `must be one of ${presetList}, got ${JSON.stringify(v.preset)}` });
  if (v.fault !== undefined) checkFault(v.fault, `${path}.fault`, out);
  if (v.custom !== undefined) checkProfile(v.custom, `${path}.custom`, out);
}

/** Every problem of a `network` object, each with its path under `path` (`network` in the config). */
export function validateNetwork(v: unknown, path = 'network'): NetworkProblem[] {
  const out: NetworkProblem[] = [];
  if (!isObject(v)) return [{ path, message: `must be an object like {"default": "none", "rules": []}, got ${typeName(v)}` }];
  unknownKeys(v, ['default', 'rules'], path, out);
  if (v.default !== undefined && !isPresetName(v.default)) out.push({ path: `${path}.default`, message: `must be one of ${presetList}, got ${JSON.stringify(v.default)}` });
  if (v.rules !== undefined) {
    if (!Array.isArray(v.rules)) out.push({ path: `${path}.rules`, message: `must be an array, got ${typeName(v.rules)}` });
    else v.rules.forEach((r, i) => checkRule(r, `${path}.rules[${i}]`, out));
  }
  return out;
}

/** A valid object with its defaults filled in (`default: "none"`, `rules: []`). */
export function normalizeNetwork(v: { default?: PresetName; rules?: NetworkRule[] }): NetworkConfig {
  return { default: v.default ?? 'none', rules: v.rules ?? [] };
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
