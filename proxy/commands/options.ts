/**
 * The common options of every command that runs a proxy (docs/commands.md), with their checks: a bad
 * value is a one-line error and exit code 2 (yargs' fail handler in cli.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Argv } from 'yargs';
import { defaultCaDir } from '../../certs/ca.js';
import { isValidHost, parsePort } from '../../config/net-address.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import type { ProxyOptions } from '../app.js';
import { type HarSecrets, isRedactName, type Mode } from '../../config/schema.js';
import { maskCredentials, parseUpstreamProxy } from '../../config/upstream-proxy.js';
import { isPlatformName, PLATFORM_NAMES, type PlatformName } from '../../config/platforms.js';
import { parseAllowClients } from '../phones/client-access.js';
import { parseClientName } from '../flow/clients.js';
import { isPresetName, PRESET_NAMES, type PresetName } from '../../config/network.js';
import type { Cidr } from '../../config/net-address.js';
import type { ReportPaths } from '../reports/index.js';
import { readBaseline } from '../reports/health-baseline.js';

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {}

const single = (name: string) => (v: unknown) => {
  if (Array.isArray(v)) throw new UsageError(`--${name} is given more than once`);
  return v;
};

export const portArg = (name: string) => (v: unknown): number => {
  single(name)(v);
  const text = String(v);
  const port = text === '0' ? 0 : parsePort(text);
  if (port === undefined) throw new UsageError(`--${name} must be a port number from 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
};

/** An address to listen on (`--host`, `--admin-host`); IPv6 may come in brackets. */
const hostArg = (name: string) => (v: unknown): string => {
  single(name)(v);
  const host = String(v).replace(/^\[(.*)\]$/, '$1');
  if (!isValidHost(host)) throw new UsageError(`--${name} must be an IP address or host name, got ${JSON.stringify(v)}`);
  return host;
};

/**
 * A report file (`--report`, `--junit`, `--har`): refused at once when it names a folder or lies
 * where nothing can be written, rather than after a whole run. Missing folders are created when
 * the report is written.
 */
export const reportFileArg = (name: string) => (v: unknown): string => {
  single(name)(v);
  const text = String(v);
  if (text.trim() === '') throw new UsageError(`--${name} needs a file name`);
  const file = path.resolve(text);
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--${name} ${text} is a folder; name a file`);
  let dir = path.dirname(file);
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`--${name} ${text}: ${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`--${name} ${text}: cannot write in ${dir}`);
  }
  return text;
};

/** `--health-baseline FILE`: must exist and be readable now, not after a whole run. */
const baselineFileArg = (v: unknown): string => {
  single('health-baseline')(v);
  const text = String(v);
  try {
    fs.accessSync(text, fs.constants.R_OK);
  } catch {
    throw new UsageError(`--health-baseline ${text}: no such file or it cannot be read`);
  }
  if (fs.statSync(text).isDirectory()) throw new UsageError(`--health-baseline ${text} is a folder; name a health JSON file`);
  try {
    readBaseline(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return text;
};

export function withConfigOption<T>(y: Argv<T>) {
  return y.option('config', {
    type: 'string',
    describe: 'config file (default: ./mgproxy.config.json if present, else built-in defaults)',
    coerce: single('config'),
  });
}

export function withCaDirOption<T>(y: Argv<T>) {
  return y.option('ca-dir', { type: 'string', describe: 'folder of ca.pem and ca-key.pem', default: defaultCaDir(), defaultDescription: '~/.mgproxy', coerce: single('ca-dir') });
}

/** `--platform wechat,douyin-game` (docs/platforms.md): overrides the config's `platform`; the first decides. Given twice, the lists add up. */
export const platformArg = (v: unknown): PlatformName[] => {
  const names = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
  const bad = names.filter((n) => !isPlatformName(n));
  if (bad.length > 0 || names.length === 0) {
    throw new UsageError(`--platform takes ${PLATFORM_NAMES.join(', ')} separated by commas; bad: ${(bad.length > 0 ? bad : names).map((b) => JSON.stringify(b)).join(', ')}`);
  }
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`--platform names ${twice} twice`);
  return names as PlatformName[];
};

export function withPlatformOption<T>(y: Argv<T>) {
  return y.option('platform', {
    type: 'string', describe: `platform(s) whose rules apply: ${PLATFORM_NAMES.join(', ')}; NAME[,NAME…], the first decides (overrides the config)`,
    defaultDescription: 'the config\'s, else tcsas', coerce: platformArg,
  });
}

/** `--network PRESET` (docs/network.md): every client and host, in place of the config's `network.default`. */
export const networkArg = (v: unknown): PresetName => {
  single('network')(v);
  if (!isPresetName(v)) throw new UsageError(`--network takes one of ${PRESET_NAMES.join(', ')}; got ${JSON.stringify(v)}`);
  return v;
};

/** `--upstream-proxy http://[user:pass@]host:port` (docs/upstream-proxy.md); a bad value is quoted with its credentials masked. */
export const upstreamProxyArg = (v: unknown): string => {
  if (Array.isArray(v)) throw new UsageError(`--upstream-proxy is given more than once: ${v.map((x) => maskCredentials(String(x))).join(', ')}`);
  const parsed = parseUpstreamProxy(String(v));
  if ('error' in parsed) throw new UsageError(`--upstream-proxy ${parsed.error}`);
  return String(v);
};

export function withUpstreamProxyOption<T>(y: Argv<T>) {
  return y.option('upstream-proxy', {
    type: 'string', describe: 'send every upstream connection through this HTTP proxy with CONNECT: http://[user:pass@]host:port (overrides the config\'s upstream.proxy)',
    coerce: upstreamProxyArg,
  });
}

/** `--har-redact NAME[,NAME…]` (docs/har.md): more header and query parameter names redacted in the HAR; given twice, the lists add up. */
export const harRedactArg = (v: unknown): string[] => {
  const names = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
  const bad = names.filter((n) => !isRedactName(n));
  if (bad.length > 0) throw new UsageError(`--har-redact takes header or query parameter names separated by commas (x-api-key,token); bad: ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
  return names;
};

export const harSecretsArg = (v: unknown): HarSecrets => {
  single('har-secrets')(v);
  if (v !== 'keep' && v !== 'redact') throw new UsageError(`--har-secrets takes keep or redact; got ${JSON.stringify(v)}`);
  return v;
};

/** The options of docs/commands.md that every proxy-running command takes. */
export function withProxyOptions<T>(y: Argv<T>) {
  return withUpstreamProxyOption(withPlatformOption(withCaDirOption(withConfigOption(y))))
    .option('port', { type: 'string', describe: 'proxy port; 0 = any free port', default: '8899', coerce: portArg('port') })
    .option('host', { type: 'string', describe: 'address to listen on (0.0.0.0 for phones on the LAN)', default: '127.0.0.1', coerce: hostArg('host') })
    .option('admin-port', { type: 'string', describe: 'admin API and dashboard port; 0 = any free port', defaultDescription: 'port + 1', coerce: portArg('admin-port') })
    .option('admin-host', { type: 'string', describe: 'address the admin API and dashboard listen on (0.0.0.0 inside a container)', default: '127.0.0.1', coerce: hostArg('admin-host') })
    .option('client-name', {
      type: 'string', describe: 'name a client by its address, as IP=NAME (192.168.1.23=iphone-13); repeatable',
      coerce: (v: unknown): [string, string][] => (Array.isArray(v) ? v : [v]).map((text) => {
        const parsed = parseClientName(String(text));
        if ('error' in parsed) throw new UsageError(parsed.error);
        return [parsed.ip, parsed.name];
      }),
    })
    .option('allow-clients', {
      type: 'string', describe: 'CIDR[,CIDR…] of the clients that may use the proxy, besides loopback (replaces the private ranges)',
      defaultDescription: 'loopback and private ranges',
      coerce: (v: unknown): Cidr[] => {
        // Given twice, the lists add up.
        const { cidrs, bad } = parseAllowClients((Array.isArray(v) ? v : [v]).map(String).join(','));
        if (!cidrs) throw new UsageError(`--allow-clients takes CIDR blocks or addresses separated by commas (10.0.0.0/8,203.0.113.7); bad: ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
        return cidrs;
      },
    })
    .option('network', {
      type: 'string', describe: `network preset for every client and host: ${PRESET_NAMES.join(', ')} (the config's rules stay)`,
      defaultDescription: 'the config\'s network.default, else none', coerce: networkArg,
    })
    .option('http2', {
      type: 'string', choices: ['on', 'off'] as const,
      describe: 'offer HTTP/2 (ALPN h2) to clients whose origin speaks it (docs/http2.md); off: HTTP/1.1 to every client',
      defaultDescription: 'the config\'s http2, else on',
    })
    .option('mode', { choices: ['enforce', 'report'] as const, describe: 'overrides the config: enforce (answer violations) or report (forward and record)' })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'log level' })
    .option('pretty', { type: 'boolean', describe: 'human log lines instead of JSON', defaultDescription: 'on when stdout is a terminal' })
    .option('report', { type: 'string', describe: 'write the JSON report (summary, violations, tls) to FILE on exit', coerce: reportFileArg('report') })
    .option('junit', { type: 'string', describe: 'write a JUnit XML report (a testcase per rule, a failure per error) to FILE on exit', coerce: reportFileArg('junit') })
    .option('har', { type: 'string', describe: 'write a HAR 1.2 of every exchange (bodies up to 1 MiB) to FILE on exit', coerce: reportFileArg('har') })
    .option('health', { type: 'string', describe: 'write the network health report (JSON: score, checks, domains) to FILE on exit', coerce: reportFileArg('health') })
    .option('health-html', { type: 'string', describe: 'write the network health report as one self-contained HTML page to FILE on exit', coerce: reportFileArg('health-html') })
    .option('health-baseline', { type: 'string', describe: 'a health JSON of an earlier run: the report compares with it (baseline, regressed checks)', coerce: baselineFileArg })
    .option('har-redact', { type: 'string', describe: 'NAME[,NAME…]: headers and query parameters whose values the HAR shows as [redacted], besides Cookie, Set-Cookie, Authorization, Proxy-Authorization', coerce: harRedactArg })
    .option('har-secrets', { type: 'string', describe: 'keep: the HAR keeps cookies, tokens and the --har-redact values as they were', defaultDescription: 'redact', coerce: harSecretsArg })
    .check((argv) => {
      const given = (['report', 'junit', 'har', 'health', 'health-html'] as const).filter((k) => typeof argv[k] === 'string');
      const seen = new Map<string, string>();
      for (const k of given) {
        const file = path.resolve(argv[k] as string);
        if (seen.has(file)) throw new UsageError(`--${seen.get(file)} and --${k} name the same file`);
        seen.set(file, k);
      }
      return true;
    });
}

export interface ProxyArgs {
  config?: string;
  'ca-dir': string;
  port: number;
  host: string;
  'admin-port'?: number;
  'admin-host': string;
  'client-name'?: [string, string][];
  'allow-clients'?: Cidr[];
  mode?: Mode;
  platform?: PlatformName[];
  network?: PresetName;
  http2?: 'on' | 'off';
  'log-level': LogLevel;
  pretty?: boolean;
  report?: string;
  junit?: string;
  har?: string;
  health?: string;
  'health-html'?: string;
  'health-baseline'?: string;
  'har-redact'?: string[];
  'har-secrets'?: HarSecrets;
  'upstream-proxy'?: string;
}

export const reportPathsOf = (argv: ProxyArgs): ReportPaths => ({
  report: argv.report, junit: argv.junit, har: argv.har, harRedact: argv['har-redact'], harSecrets: argv['har-secrets'],
  health: argv.health, healthHtml: argv['health-html'], healthBaseline: argv['health-baseline'],
});

export function proxyOptionsFrom(argv: ProxyArgs, configFile: string | undefined): ProxyOptions {
  return {
    configFile,
    mode: argv.mode,
    platform: argv.platform,
    network: argv.network,
    upstreamProxy: argv['upstream-proxy'],
    http2: argv.http2 === undefined ? undefined : argv.http2 === 'on',
    host: argv.host,
    port: argv.port,
    adminPort: argv['admin-port'],
    adminHost: argv['admin-host'],
    clientNames: argv['client-name'],
    allowClients: argv['allow-clients'],
    caDir: argv['ca-dir'],
    logLevel: argv['log-level'],
    pretty: argv.pretty ?? Boolean(process.stdout.isTTY),
  };
}
