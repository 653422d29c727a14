/**
 * The `network` config key and admin object (docs/network.md): the presets with the published numbers
 * each comes from, the faults with their parameters, and a validator that names the path of every
 * problem (`network.rules[1].fault.type`). proxy/network/ compiles and applies it.
 */
import { isHostName, normalizeHost, normalizeIp, ipFamily } from './net-address.js';

// kbps are 1000 bits per second, as Chrome DevTools and the Network Link Conditioner count them.
/** A link's shape. A rate left out is not limited; latency, jitter and loss default to 0. */
export interface Profile {
  /** Bytes to the client, in kbps (1000 bits per second). */
  downKbps?: number;
  /** Bytes from the client, in kbps. */
  upKbps?: number;
  /** Added once per HTTP exchange before the response head, and to each WebSocket chunk. */
  latencyMs?: number;
  /** Each latency is drawn uniformly from latencyMs ± jitterMs (never below 0, order kept). */
  jitterMs?: number;
  /** Share of chunks delayed by one TCP retransmission timeout: max(200 ms, 2 × latency). */
  lossPercent?: number;
}

export const PRESETS = {
  // Chrome DevTools "Slow 3G" (front_end/core/sdk/NetworkManager.ts: 400 kbps each way, 2000 ms).
  'slow-3g': { downKbps: 400, upKbps: 400, latencyMs: 2000 },
  // Chrome DevTools "Slow 4G", formerly "Fast 3G" (NetworkManager.ts: 1.44 Mbps / 675 kbps, 562.5 ms).
  'slow-4g': { downKbps: 1440, upKbps: 675, latencyMs: 562.5 },
  // Chrome DevTools "Fast 4G" (NetworkManager.ts: 8.1 Mbps / 1.35 Mbps, 165 ms).
  'fast-4g': { downKbps: 8100, upKbps: 1350, latencyMs: 165 },
  // Apple Network Link Conditioner "3G" (Additional Tools for Xcode: 780 / 330 kbps, 100 ms).
  '3g': { downKbps: 780, upKbps: 330, latencyMs: 100 },
  // BrowserStack "edge-good" (docs: network simulation profiles: 250 / 150 kbps, 300 ms).
  'edge': { downKbps: 250, upKbps: 150, latencyMs: 300 },
  // BrowserStack "2g-gprs-lossy" (same table: 30 / 20 kbps, 650 ms, 2 % loss).
  '2g-lossy': { downKbps: 30, upKbps: 20, latencyMs: 650, lossPercent: 2 },
  // Apple Network Link Conditioner "Very Bad Network" (1 / 1 Mbps, 500 ms, 10 % loss).
  'very-bad': { downKbps: 1000, upKbps: 1000, latencyMs: 500, lossPercent: 10 },
} as const satisfies Record<string, Profile>;

export type ShapedPreset = keyof typeof PRESETS;
/** `offline`: new connections and requests fail; `none`: no condition. */
export type PresetName = ShapedPreset | 'offline' | 'none';
export const PRESET_NAMES: readonly PresetName[] = [...Object.keys(PRESETS) as ShapedPreset[], 'offline', 'none'];

export const isPresetName = (v: unknown): v is PresetName => typeof v === 'string' && (PRESET_NAMES as readonly string[]).includes(v);

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
  if (v.client !== undefined && (typeof v.client !== 'string' || ipFamily(normalizeIp(v.client)) === 0)) {
    out.push({ path: `${path}.client`, message: `must be a client's IP address, got ${JSON.stringify(v.client)}` });
  }
  if (v.host !== undefined) {
    const host = typeof v.host === 'string' ? normalizeHost(v.host) : '';
    const base = host.startsWith('*.') ? host.slice(2) : host;
    if (!isHostName(base) && ipFamily(base) === 0) out.push({ path: `${path}.host`, message: `must be a host name or "*.domain", got ${JSON.stringify(v.host)}` });
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

