/**
 * The config file's shape (docs/config.md), with a validator that reports every problem with its path.
 * docs/config.md's table is generated from the JSDoc here (`npm run docs`, test/helpers/config-doc.ts;
 * test/docs-config.test.ts fails when they differ): write each key's JSDoc for a reader of that page.
 */
import { DEVICES, PLATFORM_NAMES, type Device, type PlatformName } from './platforms.js';
import { type NetworkConfig, validateNetwork } from './network.js';
import { type MapEntry, validateMap } from './map.js';

import { clientNameProblem } from './client-name.js';
import { parseUpstreamProxy } from './upstream-proxy.js';
import type { Api, Severity } from './vocabulary.js';

// The config is written in the shared vocabulary; re-exported for the modules that read the config.
export { APIS, type Api, type Severity } from './vocabulary.js';

/** Keys of `domains`: the backend's names, where the socket list is called `socket`. */
export type DomainList = 'request' | 'uploadFile' | 'downloadFile' | 'socket';
export const DOMAIN_LISTS: readonly DomainList[] = ['request', 'uploadFile', 'downloadFile', 'socket'];
export const LIST_OF_API: Readonly<Record<Api, DomainList>> = {
  request: 'request', uploadFile: 'uploadFile', downloadFile: 'downloadFile', connectSocket: 'socket',
};

export type Mode = 'enforce' | 'report';
export type RefererMode = 'rewrite' | 'check' | 'off';
export type Overflow = 'reject' | 'queue';
export type HarSecrets = 'redact' | 'keep';

export interface MgproxyConfig {
  /**
   * The super app(s) whose rules apply (docs/platforms.md): `"tcsas"` (default), `"wechat"`, `"qq"`,
   * `"douyin-game"`, `"douyin-app"`, `"baidu"`, `"taptap"`, or a list of them. With a list, the first
   * decides what `enforce` blocks and which Referer `rewrite` sends; every one's rules are checked.
   */
  platform: PlatformName | PlatformName[];
  /** The phone OS, for the values a platform has per OS (Baidu: 5 requests per host on Android, 6 on iOS). */
  device: Device;
  /** The mini game's appid; part of the fixed Referer (TCSAS: `https://appservice.wx.com/{appid}/{version}/page-frame.html`). */
  appid: string;
  /** `"0"` (development, preview, approval), `"devtools"`, or a positive integer string (an official release). */
  version: string;
  /** Server domains per API, as the backend takes them: `https://host` (request, uploadFile, downloadFile), `wss://host` (socket), or a bare `host`. */
  domains: Record<DomainList, string[]>;
  /** Path of the game's game.json, relative to this file; its `networkTimeout` is used where this file sets none. */
  gameJson?: string;
  /**
   * Timeout in milliseconds per API. Default and maximum: the platform's (60000 on every platform); values above the maximum are capped.
   * @default game.json's, else the platform's (60000)
   */
  networkTimeout: Partial<Record<Api, number>>;
  /** `enforce`: the proxy answers a request that breaks an error rule itself; `report`: forward it and record the violation. */
  mode: Mode;
  /** Like the developer tools' option: the domain, IP, scheme and `tls-*` rules are not applied. */
  skipVerification: boolean;
  /** Allow private LAN IP addresses as request targets (the platform allows non-local IPs of the same LAN). */
  allowLanIps: boolean;
  // In-flight caps per client IP, one per API as on a device (docs/device.md), and what a call over
  // its cap does. Unset caps are the first platform's; a cap written here replaces every platform's.
  concurrency: {
    /**
     * `wx.request` calls in flight per client IP (Douyin mini game: 15; Baidu: 5 per host on
     * Android, 6 on iOS). Over it, `overflow` decides.
     * @default the platform's (TCSAS 10)
     */
    request: number;
    /**
     * `wx.uploadFile` calls in flight per client IP (Douyin mini game: 5).
     * @default the platform's (TCSAS 10)
     */
    uploadFile: number;
    /**
     * `wx.downloadFile` calls in flight per client IP (Douyin mini game: 5).
     * @default the platform's (TCSAS 10)
     */
    downloadFile: number;
    /**
     * Open sockets (`wx.connectSocket`) per client IP. The next one is refused (429,
     * `concurrency-exceeded`) whatever `overflow` says: a device never queues a socket.
     * @default the platform's (5)
     */
    socket: number;
    /**
     * One cap shared by request + uploadFile + downloadFile (how mgproxy counted before caps per
     * API), only when written; an API with its own key beside it keeps that cap and does not count here.
     */
    http?: number;
    /**
     * `queue` (what a device does): a call over its API's cap waits for a place, first come first
     * served, its timeout starting when it leaves the queue (`concurrency-queued`, info). `reject`
     * (what the developer tools' simulator does): 429 `<api>:fail exceed max task count`
     * (`concurrency-exceeded`, error).
     */
    overflow: Overflow;
  };
  /** `rewrite`: the upstream always gets the fixed Referer; `check`: forward the client's, only report; `off`: neither. */
  referer: RefererMode;
  /** Host patterns (`host` or `*.suffix`) tunnelled as raw bytes: no interception, no rules, no counting. */
  passthrough: string[];
  /** Names of clients by source IP (`{"192.168.1.23": "iphone-13"}`), shown in events (`clientName`), reports, the HAR and the dashboard; a name is 1–64 characters, no control characters. */
  clients: Record<string, string>;
  upstream: {
    /** Like curl's `--resolve`: `"name"` or `"name:port"` → `"address"` or `"address:port"`. SNI, Host and certificate checks keep the name; `name:port` wins over `name`. */
    hosts: Record<string, string>;
    /** Extra PEM files of roots trusted for upstream certificate checks (test servers); relative to this file. */
    extraCaFiles: string[];
    /**
     * An HTTP proxy every upstream connection goes through with CONNECT, `http://[user:pass@]host:port`
     * (a corporate or QA lab gateway); Basic credentials from the URL, never printed. TLS, SNI and
     * verification are unchanged. `--upstream-proxy` wins over it. See docs/upstream-proxy.md.
     */
    proxy?: string;
    /** Hosts that go direct instead of through `proxy`: `host`, `*.domain` (its subdomains), an IP literal, or `*`. `hosts` mappings always go direct. */
    noProxy: string[];
  };
  /**
   * The HAR written by `--har` (docs/har.md): the values of Cookie, Set-Cookie, Authorization and
   * Proxy-Authorization are replaced with `[redacted]`, in headers, cookies, the query string and
   * the URL alike. `redact`: more header and query parameter names (any case), added to
   * `--har-redact`'s; `secrets`: `"redact"` or `"keep"` (every value as it was, `--har-secrets keep`).
   */
  har: {
    /** More header and query parameter names whose values are redacted (any case), added to `--har-redact`'s. */
    redact: string[];
    /** `redact` (the default) or `keep`: write every value as it was (`--har-secrets keep`). */
    secrets: HarSecrets;
  };
  /**
   * Weak networks and faults (docs/network.md): `default` a preset for everyone (`none`, `slow-3g`,
   * `slow-4g`, `fast-4g`, `3g`, `edge`, `2g-lossy`, `very-bad`, `offline`) and `rules`, each matching
   * a `client` IP, a `host` (name or `*.suffix`), both or neither, with one `preset`, `fault` or
   * `custom` profile; the last matching rule wins. `--network PRESET` replaces `default`.
   */
  network: NetworkConfig;
  /**
   * HTTP/2 to the client (docs/http2.md): `true` (default) offers ALPN `h2` on an intercepted
   * connection whose origin accepts h2; `false` offers `http/1.1` only. The proxy reaches an origin
   * over h2 whenever it offers it, either way. `--http2 on|off` overrides it.
   */
  http2: boolean;
  /**
   * Map rules (docs/toolkit.md), tried in order on the game's URL once the rules have let it
   * through; the first match wins. Each has `url` (a pattern, `*` = any run of characters, query
   * string included) and one of: `local` (a file, or a folder ending in `/` to which what the last
   * `*` matched is appended; relative to this file), `remote` (a base URL replacing what the pattern
   * matched before its last `*`; verified as any upstream) or `respond` (`status`, `headers`, and
   * `body` or `bodyFile`). Replaced at run time by `POST /api/map`. Fields: config/map.ts `MapEntry`.
   */
  map: MapEntry[];
}

/** `concurrency` (docs/device.md): the caps per client IP and what a call over its cap does. */
export type ConcurrencyConfig = MgproxyConfig['concurrency'];

/** A name for `har.redact` / `--har-redact`: a header or query parameter name, no separators the lists use. */
export const isRedactName = (name: string): boolean => /^[^\s,\x00-\x1f\x7f]+$/.test(name);

/** One config problem: lint id, severity, where in the file, and what to do about it. */
export interface Problem {
  id: string;
  severity: Exclude<Severity, 'info'>;
  path: string;
  message: string;
}

const schemaError = (path: string, message: string): Problem => ({ id: 'config-schema', severity: 'error', path, message });

type Check = (value: unknown, path: string, out: Problem[]) => void;

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const isString: Check = (v, path, out) => {
  if (typeof v !== 'string') out.push(schemaError(path, `must be a string, got ${typeName(v)}`));
};
const isBoolean: Check = (v, path, out) => {
  if (typeof v !== 'boolean') out.push(schemaError(path, `must be true or false, got ${typeName(v)}`));
};
const oneOf = (...allowed: string[]): Check => (v, path, out) => {
  if (typeof v !== 'string' || !allowed.includes(v)) {
    out.push(schemaError(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`));
  }
};
const positiveInt: Check = (v, path, out) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    out.push(schemaError(path, `must be a positive integer, got ${JSON.stringify(v)}`));
  }
};
const stringArray: Check = (v, path, out) => {
  if (!Array.isArray(v)) { out.push(schemaError(path, `must be an array of strings, got ${typeName(v)}`)); return; }
  v.forEach((item, i) => isString(item, `${path}[${i}]`, out));
};
const stringMap: Check = (v, path, out) => {
  if (typeName(v) !== 'object') { out.push(schemaError(path, `must be an object, got ${typeName(v)}`)); return; }
  for (const [k, item] of Object.entries(v as object)) isString(item, `${path}.${k}`, out);
};
const object = (fields: Record<string, Check>): Check => (v, path, out) => {
  if (typeName(v) !== 'object') { out.push(schemaError(path, `must be an object, got ${typeName(v)}`)); return; }
  for (const [k, item] of Object.entries(v as object)) {
    const sub = path ? `${path}.${k}` : k;
    const check = fields[k];
    if (!check) out.push(schemaError(sub, `unknown key (known: ${Object.keys(fields).join(', ')})`));
    else check(item, sub, out);
  }
};

const version: Check = (v, path, out) => {
  if (typeof v !== 'string' || !/^(0|devtools|[1-9][0-9]*)$/.test(v)) {
    out.push(schemaError(path, `must be "0", "devtools" or a positive integer string, got ${JSON.stringify(v)}`));
  }
};

/** `"wechat"` or `["wechat", "douyin-game"]`: known names, at least one, none twice. */
const platform: Check = (v, path, out) => {
  const names = Array.isArray(v) ? v : [v];
  if (Array.isArray(v) && v.length === 0) { out.push(schemaError(path, `must name at least one platform (${PLATFORM_NAMES.join(', ')})`)); return; }
  names.forEach((name, i) => {
    const at = Array.isArray(v) ? `${path}[${i}]` : path;
    if (typeof name !== 'string' || !(PLATFORM_NAMES as readonly string[]).includes(name)) {
      out.push(schemaError(at, `must be one of ${PLATFORM_NAMES.map((a) => JSON.stringify(a)).join(', ')}${Array.isArray(v) ? '' : ' or a list of them'}, got ${JSON.stringify(name)}`));
    } else if (names.indexOf(name) !== i) out.push(schemaError(at, `${JSON.stringify(name)} is listed twice`));
  });
};

const configShape = object({
  platform,
  device: oneOf(...DEVICES),
  appid: (v, path, out) => {
    isString(v, path, out);
    if (v === '') out.push(schemaError(path, 'must not be empty'));
  },
  version,
  domains: object({ request: stringArray, uploadFile: stringArray, downloadFile: stringArray, socket: stringArray }),
  gameJson: isString,
  networkTimeout: object({ request: positiveInt, uploadFile: positiveInt, downloadFile: positiveInt, connectSocket: positiveInt }),
  mode: oneOf('enforce', 'report'),
  skipVerification: isBoolean,
  allowLanIps: isBoolean,
  concurrency: object({
    request: positiveInt, uploadFile: positiveInt, downloadFile: positiveInt, socket: positiveInt, http: positiveInt, overflow: oneOf('queue', 'reject'),
  }),
  referer: oneOf('rewrite', 'check', 'off'),
  passthrough: stringArray,
  clients: (v, path, out) => {
    stringMap(v, path, out);
    if (typeName(v) !== 'object') return;
    for (const [ip, name] of Object.entries(v as object)) {
      const why = typeof name === 'string' ? clientNameProblem(ip, name) : undefined;
      if (why) out.push(schemaError(`${path}.${ip}`, why));
    }
  },
  upstream: object({
    hosts: stringMap, extraCaFiles: stringArray, noProxy: stringArray,
    proxy: (v, path, out) => {
      if (typeof v !== 'string') { out.push(schemaError(path, `must be a string, got ${typeName(v)}`)); return; }
      const parsed = parseUpstreamProxy(v);
      if ('error' in parsed) out.push(schemaError(path, parsed.error));
    },
  }),
  har: object({
    redact: (v, path, out) => {
      stringArray(v, path, out);
      if (Array.isArray(v)) v.forEach((name, i) => { if (typeof name === 'string' && !isRedactName(name)) out.push(schemaError(`${path}[${i}]`, `${JSON.stringify(name)} must be a header or query parameter name (no spaces, commas or control characters)`)); });
    },
    secrets: oneOf('redact', 'keep'),
  }),
  network: (v, path, out) => { for (const p of validateNetwork(v, path)) out.push(schemaError(p.path, p.message)); },
  http2: isBoolean,
  // The shape here; load.ts checks `bodyFile` against the config file's folder.
  map: (v, path, out) => { for (const p of validateMap(v, undefined, path)) out.push(schemaError(p.path, p.message)); },
});

/** Schema problems of a parsed config file: unknown keys, wrong types, bad enums, bad `version`. */
export function validateShape(raw: unknown): Problem[] {
  const out: Problem[] = [];
  if (typeName(raw) !== 'object') return [schemaError('', `the config must be a JSON object, got ${typeName(raw)}`)];
  configShape(raw, '', out);
  return out;
}
