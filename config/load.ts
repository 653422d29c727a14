/**
 * Reads a config file, merges the defaults, resolves relative paths against the file's folder,
 * reads game.json and the extra CA files, and compiles everything the hot path looks up into
 * tables (docs/config.md, docs/platforms.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { APIS, DOMAIN_LISTS, type Api, type DomainList, type MgproxyConfig, type Mode, type Problem, validateShape } from './schema.js';
import { DEFAULTS } from './defaults.js';
import { entryTarget, lintConfig, maxTimeoutOf, parseDomainEntry, timeoutAboveMax, type WrittenCaps } from './lint.js';
import { type Cap, capFor, type PlatformName, type PlatformProfile, PLATFORMS, refererOf } from './platforms.js';
import { isHostName, isValidHost, normalizeHost, normalizeIp, splitHostPort } from './net-address.js';
import { normalizeNetwork, type PresetName } from './network.js';
import { compileNoProxy, type NoProxy, parseUpstreamProxy, type UpstreamProxy } from './upstream-proxy.js';
import { type MapEntry, validateMap } from './map.js';

/** Where an upstream connection really goes (`upstream.hosts`, like curl's `--resolve`). */
export interface UpstreamAddress { host: string; port?: number }

/** A config ready for the proxy: the merged file plus lookup tables built once at load. */
export interface RuntimeConfig extends MgproxyConfig {
  /** Absolute path of the config file, or undefined for the built-in defaults. */
  file?: string;
  /** Absolute path of the game.json that was read, if any. */
  gameJsonFile?: string;
  /** The platforms whose rules apply, in the config's order: the first decides (docs/platforms.md). */
  platforms: readonly PlatformProfile[];
  /** Their names, the same order. */
  platformNames: readonly PlatformName[];
  /** Each platform's in-flight caps for `device`, with the caps the config writes in their place. */
  caps: ReadonlyMap<PlatformName, readonly Cap[]>;
  /** Allowed hosts per domain list, normalised (listed with or without a port). */
  allowed: Record<DomainList, ReadonlySet<string>>;
  /** Per list and host, the ports it is listed with (undefined: listed without one), for *exact* port rules. */
  listedPorts: Record<DomainList, ReadonlyMap<string, ReadonlySet<number | undefined>>>;
  /** Effective timeout per API: config, else game.json, else the platform's default (60000); capped at the platform's maximum. */
  timeouts: Record<Api, number>;
  /** The first platform's Referer (TCSAS `https://appservice.wx.com/{appid}/{version}/page-frame.html`), built once; null when it is not known (TapTap). */
  refererValue: string | null;
  /** `upstream.hosts` keyed by `name` and `name:port`. */
  hostMap: ReadonlyMap<string, UpstreamAddress>;
  /** Exact passthrough hosts and `*.suffix` suffixes (with the dot). */
  passthroughExact: ReadonlySet<string>;
  passthroughSuffixes: readonly string[];
  /** Extra trusted roots for upstream checks, PEM, with the file each came from. */
  extraCas: readonly { file: string; pem: string }[];
  /** `upstream.proxy` or `--upstream-proxy`, parsed (its credentials only in `authorization`). */
  upstreamProxy?: UpstreamProxy;
  /** `upstream.noProxy`, compiled. */
  noProxy: NoProxy;
}

export interface LoadResult { config?: RuntimeConfig; problems: Problem[] }

export const DEFAULT_CONFIG_FILE = 'mgproxy.config.json';

/** `--config FILE`, else `./mgproxy.config.json` when present, else none (built-in defaults). */
export function findConfigFile(cliPath: string | undefined, cwd = process.cwd()): string | undefined {
  if (cliPath !== undefined) return path.resolve(cwd, cliPath);
  const local = path.resolve(cwd, DEFAULT_CONFIG_FILE);
  return fs.existsSync(local) ? local : undefined;
}

const problem = (id: string, p: string, message: string, severity: Problem['severity'] = 'error'): Problem => ({ id, severity, path: p, message });

function readJson(file: string): { value?: unknown; error?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  try {
    return { value: JSON.parse(text.replace(/^\uFEFF/, '')) };
  } catch (err) {
    return { error: `${file} is not valid JSON: ${(err as Error).message}` };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasProblemAt = (problems: Problem[], p: string) => problems.some((x) => x.path === p || x.path.startsWith(`${p}.`) || x.path.startsWith(`${p}[`));

/** Keeps each value of the file whose subtree has no schema problem, the default otherwise. */
function mergeDefaults(raw: Record<string, unknown>, problems: Problem[]): MgproxyConfig {
  const pick = <T>(p: string, value: unknown, fallback: T): T => (value === undefined || hasProblemAt(problems, p) ? fallback : (value as T));
  const sub = (key: string) => (isObject(raw[key]) ? (raw[key] as Record<string, unknown>) : {});
  const domains = sub('domains');
  const concurrency = sub('concurrency');
  const upstream = sub('upstream');
  const networkTimeout: Partial<Record<Api, number>> = {};
  for (const api of APIS) {
    const v = sub('networkTimeout')[api];
    if (v !== undefined && !hasProblemAt(problems, `networkTimeout.${api}`)) networkTimeout[api] = v as number;
  }
  return {
    platform: pick('platform', raw.platform, DEFAULTS.platform),
    device: pick('device', raw.device, DEFAULTS.device),
    appid: pick('appid', raw.appid, DEFAULTS.appid),
    version: pick('version', raw.version, DEFAULTS.version),
    domains: Object.fromEntries(DOMAIN_LISTS.map((l) => [l, pick(`domains.${l}`, domains[l], [] as string[])])) as Record<DomainList, string[]>,
    gameJson: pick<string | undefined>('gameJson', raw.gameJson, undefined),
    networkTimeout,
    mode: pick('mode', raw.mode, DEFAULTS.mode),
    skipVerification: pick('skipVerification', raw.skipVerification, DEFAULTS.skipVerification),
    allowLanIps: pick('allowLanIps', raw.allowLanIps, DEFAULTS.allowLanIps),
    // The caps are filled in from the platforms and the written keys by loadConfig (compileCaps).
    concurrency: { ...DEFAULTS.concurrency, overflow: pick('concurrency.overflow', concurrency.overflow, DEFAULTS.concurrency.overflow) },
    referer: pick('referer', raw.referer, DEFAULTS.referer),
    passthrough: pick('passthrough', raw.passthrough, [] as string[]),
    clients: pick('clients', raw.clients, {} as Record<string, string>),
    upstream: {
      hosts: pick('upstream.hosts', upstream.hosts, {} as Record<string, string>),
      extraCaFiles: pick('upstream.extraCaFiles', upstream.extraCaFiles, [] as string[]),
      proxy: pick<string | undefined>('upstream.proxy', upstream.proxy, undefined),
      noProxy: pick('upstream.noProxy', upstream.noProxy, [] as string[]),
    },
    har: {
      redact: pick('har.redact', sub('har').redact, [] as string[]),
      secrets: pick('har.secrets', sub('har').secrets, DEFAULTS.har.secrets),
    },
    network: normalizeNetwork(pick('network', raw.network, DEFAULTS.network)),
    http2: pick('http2', raw.http2, DEFAULTS.http2),
    map: pick('map', raw.map, [] as MapEntry[]),
  };
}

/** game.json's `networkTimeout`: read, checked, its problems reported under the path `gameJson`. */
function readGameJsonTimeouts(file: string, problems: Problem[], platforms: readonly PlatformProfile[]): Partial<Record<Api, number>> {
  const { value, error } = readJson(file);
  if (error !== undefined) { problems.push(problem('config-game-json', 'gameJson', error)); return {}; }
  if (!isObject(value)) { problems.push(problem('config-game-json', 'gameJson', `${file} must hold a JSON object`)); return {}; }
  const nt = value.networkTimeout;
  if (nt === undefined) return {};
  if (!isObject(nt)) { problems.push(problem('config-game-json', 'gameJson', `networkTimeout in ${file} must be an object`)); return {}; }
  const out: Partial<Record<Api, number>> = {};
  for (const api of APIS) {
    const v = nt[api];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      problems.push(problem('config-game-json', 'gameJson', `networkTimeout.${api} in ${file} must be a positive number of milliseconds, got ${JSON.stringify(v)}`));
      continue;
    }
    const p = timeoutAboveMax(`gameJson.networkTimeout.${api}`, v, platforms);
    if (p) problems.push(p);
    out[api] = v;
  }
  return out;
}

function compileHostMap(hosts: Record<string, string>, problems: Problem[]): Map<string, UpstreamAddress> {
  const map = new Map<string, UpstreamAddress>();
  for (const [key, value] of Object.entries(hosts)) {
    const p = `upstream.hosts.${key}`;
    const from = splitHostPort(key);
    const to = splitHostPort(value);
    if (!from || !isValidHost(from.host)) {
      problems.push(problem('config-schema', p, `key ${JSON.stringify(key)} must be "name" or "name:port"`));
      continue;
    }
    if (!to) {
      problems.push(problem('config-schema', p, `${JSON.stringify(value)} must be "address" or "address:port"`));
      continue;
    }
    map.set(from.port === undefined ? from.host : `${from.host}:${from.port}`, to);
  }
  return map;
}

function readExtraCas(files: string[], dir: string, problems: Problem[]): { file: string; pem: string }[] {
  const out: { file: string; pem: string }[] = [];
  files.forEach((f, i) => {
    const file = path.resolve(dir, f);
    const p = `upstream.extraCaFiles[${i}]`;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(problem('config-schema', p, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      return;
    }
    const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0) { problems.push(problem('config-schema', p, `${file} holds no PEM certificate`)); return; }
    for (const pem of pems) {
      try {
        new X509Certificate(pem);
        out.push({ file, pem });
      } catch (err) {
        problems.push(problem('config-schema', p, `${file} holds a certificate that cannot be parsed: ${(err as Error).message}`));
      }
    }
  });
  return out;
}

/** `clients` (checked by the schema): address keys normalised, so `::ffff:10.0.0.5` and `10.0.0.5` are one client. */
function compileClients(clients: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(clients).map(([ip, name]) => [normalizeIp(ip), name.trim()]));
}

function compilePassthrough(patterns: string[], problems: Problem[]) {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  patterns.forEach((pattern, i) => {
    const host = normalizeHost(pattern);
    const wildcard = host.startsWith('*.');
    const base = wildcard ? host.slice(2) : host;
    if (!isHostName(base) && !splitHostPort(base)) {
      problems.push(problem('config-schema', `passthrough[${i}]`, `${JSON.stringify(pattern)} must be a host or "*.domain"`));
    } else if (wildcard) suffixes.push(`.${base}`);
    else exact.add(base);
  });
  return { exact, suffixes };
}

const CAP_KEYS = ['request', 'uploadFile', 'downloadFile', 'socket', 'http'] as const;
const API_OF_KEY = { request: 'request', uploadFile: 'uploadFile', downloadFile: 'downloadFile', socket: 'connectSocket' } as const;
const HTTP_APIS = ['request', 'uploadFile', 'downloadFile'] as const;

/**
 * Each platform's caps, with the written ones in their place (docs/platforms.md: a platform sets the
 * defaults; values written in the config win): `concurrency.request` and the others replace every cap of
 * their API; a written `http` is one cap shared by the HTTP APIs that have no key of their own.
 */
export function compileCaps(platforms: readonly PlatformProfile[], device: MgproxyConfig['device'], written: WrittenCaps): Map<PlatformName, readonly Cap[]> {
  const own: Cap[] = [];
  for (const key of ['request', 'uploadFile', 'downloadFile', 'socket'] as const) {
    const max = written[key];
    if (max !== undefined) own.push({ apis: [API_OF_KEY[key]], max });
  }
  const shared = written.http === undefined ? [] : HTTP_APIS.filter((api) => written[api] === undefined);
  if (shared.length > 0) own.unshift({ apis: shared, max: written.http! });
  const replaced = new Set(own.flatMap((c) => c.apis));
  return new Map(platforms.map((p) => {
    const kept = p.caps(device)
      .map((c) => ({ ...c, apis: c.apis.filter((api) => !replaced.has(api)) }))
      .filter((c) => c.apis.length > 0);
    return [p.name, [...own, ...kept]] as const;
  }));
}

/** The caps of one platform as one number per API (the largest that counts it): what the dashboard and `/api/timeline` show. */
export function capsPerApi(caps: readonly Cap[]): { request: number; uploadFile: number; downloadFile: number; socket: number } {
  return { request: capFor(caps, 'request'), uploadFile: capFor(caps, 'uploadFile'), downloadFile: capFor(caps, 'downloadFile'), socket: capFor(caps, 'connectSocket') };
}

/** `host` → the ports it is listed with, per list. */
function compileListed(domains: MgproxyConfig['domains']) {
  return Object.fromEntries(DOMAIN_LISTS.map((list) => {
    const ports = new Map<string, Set<number | undefined>>();
    for (const [i, raw] of domains[list].entries()) {
      const t = entryTarget(parseDomainEntry(list, i, raw));
      if (!t) continue;
      const set = ports.get(t.host) ?? new Set();
      set.add(t.port);
      ports.set(t.host, set);
    }
    return [list, ports];
  })) as Record<DomainList, Map<string, Set<number | undefined>>>;
}

/**
 * Loads `file` (or the built-in defaults when undefined), with `mode`, `platform` and `network` from the CLI
 * overriding the file. Returns every problem; `config` is set only when none of them is an error.
 */
export function loadConfig(file: string | undefined, overrides: { mode?: Mode; platform?: PlatformName[]; network?: PresetName; http2?: boolean; upstreamProxy?: string } = {}): LoadResult {
  const problems: Problem[] = [];
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    const { value, error } = readJson(file);
    if (error !== undefined) return { problems: [problem('config-schema', '', error)] };
    problems.push(...validateShape(value));
    if (!isObject(value)) return { problems };
    raw = value;
  }
  const merged = mergeDefaults(raw, problems);
  if (overrides.mode) merged.mode = overrides.mode;
  if (overrides.platform) merged.platform = overrides.platform;
  // docs/network.md: `--network X` sets `default`; the config's rules stay.
  if (overrides.network) merged.network = { ...merged.network, default: overrides.network };
  if (overrides.http2 !== undefined) merged.http2 = overrides.http2;
  const platforms = (Array.isArray(merged.platform) ? merged.platform : [merged.platform]).map((name) => PLATFORMS[name]);
  const writtenConcurrency = isObject(raw.concurrency) ? raw.concurrency : {};
  const written: WrittenCaps = {};
  for (const key of CAP_KEYS) {
    if (writtenConcurrency[key] !== undefined && !hasProblemAt(problems, `concurrency.${key}`)) written[key] = writtenConcurrency[key] as number;
  }
  const caps = compileCaps(platforms, merged.device, written);
  merged.concurrency = { ...capsPerApi(caps.get(platforms[0]!.name)!), ...(written.http === undefined ? {} : { http: written.http }), overflow: merged.concurrency.overflow };
  problems.push(...lintConfig(merged, platforms, written));

  const dir = file ? path.dirname(file) : process.cwd();
  const gameJsonFile = merged.gameJson !== undefined ? path.resolve(dir, merged.gameJson) : undefined;
  const gameTimeouts = gameJsonFile ? readGameJsonTimeouts(gameJsonFile, problems, platforms) : {};
  const maxTimeout = maxTimeoutOf(platforms);
  const timeouts = Object.fromEntries(APIS.map((api) => [
    api, Math.min(merged.networkTimeout[api] ?? gameTimeouts[api] ?? platforms[0]!.timeoutDefaultMs, maxTimeout),
  ])) as Record<Api, number>;

  const hostMap = compileHostMap(merged.upstream.hosts, problems);
  const extraCas = readExtraCas(merged.upstream.extraCaFiles, dir, problems);
  // `--upstream-proxy` was checked by the CLI; the file's by the schema.
  if (overrides.upstreamProxy !== undefined) merged.upstream.proxy = overrides.upstreamProxy;
  const upstreamProxy = merged.upstream.proxy === undefined ? undefined : parseUpstreamProxy(merged.upstream.proxy);
  const noProxyProblems: [number, string][] = [];
  const noProxy = compileNoProxy(merged.upstream.noProxy, noProxyProblems);
  for (const [i, why] of noProxyProblems) problems.push(problem('config-schema', `upstream.noProxy[${i}]`, why));
  // `respond.bodyFile` must be there at load (a `local` file may come later: 404 until it does).
  for (const p of validateMap(merged.map, dir)) problems.push(problem('config-schema', p.path, p.message));
  const passthrough = compilePassthrough(merged.passthrough, problems);
  merged.clients = compileClients(merged.clients);
  const listedPorts = compileListed(merged.domains);
  const allowed = Object.fromEntries(DOMAIN_LISTS.map((list) => [list, new Set(listedPorts[list].keys())])) as Record<DomainList, Set<string>>;
  const first = platforms[0]!;

  if (problems.some((p) => p.severity === 'error')) return { problems };
  return {
    problems,
    config: {
      ...merged,
      file, gameJsonFile, platforms, platformNames: platforms.map((p) => p.name), caps, allowed, listedPorts, timeouts, hostMap, extraCas,
      refererValue: refererOf(first, merged.appid, merged.version),
      passthroughExact: passthrough.exact,
      passthroughSuffixes: passthrough.suffixes,
      // The URL with its credentials stays here, in the parsed proxy's `authorization`; what the
      // rest of the proxy may read or show of `upstream.proxy` has none.
      upstream: { ...merged.upstream, proxy: upstreamProxy && !('error' in upstreamProxy) ? upstreamProxy.url : undefined },
      upstreamProxy: upstreamProxy && !('error' in upstreamProxy) ? upstreamProxy : undefined,
      noProxy,
    },
  };
}

/** One problem a line, as `check-config` prints it (docs/config.md): `error|warning <id> <path> <message>`. */
export function formatProblem(p: Problem): string {
  return `${p.severity} ${p.id} ${p.path || '(file)'} ${p.message}`;
}
