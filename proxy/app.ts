/**
 * Assembles and starts a proxy: config, CA, logger, context, the proxy and admin servers. Shared
 * by `mgproxy start` and `mgproxy run`; the commands only add printing, signals and exit codes.
 */
import fs from 'node:fs';
import type http from 'node:http';
import type { Logger } from 'pino';
import { loadConfig, type RuntimeConfig } from '../config/load.js';
import type { Mode, Problem } from '../config/schema.js';
import type { PlatformName } from '../config/platforms.js';
import { type Ca, CA_RENEW_WARNING_DAYS, caDaysLeft, loadOrCreateCa } from '../certs/ca.js';
import { CertStore } from '../certs/store.js';
import { createAdminServer } from './admin/server.js';
import { type ProxyContext, RuntimeState } from './context.js';
import { EventHub } from './flow/events.js';
import { InFlight } from './flow/inflight.js';
import { createLogger, type LogFormat, type LogLevel } from './log.js';
import { ClientAccess } from './phones/client-access.js';
import { Clients } from './flow/clients.js';
import { SocketMessages } from './sockets/messages.js';
import { ExchangeLog } from './admin/exchange-store.js';
import { type Cidr, formatHost, isLoopbackIp } from '../config/net-address.js';
import { createOnboarding } from './phones/onboarding.js';
import { createRules } from './rules/index.js';
import { ProxyServer } from './engine/server.js';
import { Upstream } from './engine/upstream/pools.js';
import { NetworkState } from './network/state.js';
import { HealthMonitor } from './reports/health.js';
import { MapRules } from './engine/map/state.js';
import type { PresetName } from '../config/network.js';

export interface ProxyOptions {
  configFile?: string;
  mode?: Mode;
  /** `--platform`: overrides the config's `platform`. */
  platform?: PlatformName[];
  /** `--network`: replaces the config's `network.default`. */
  network?: PresetName;
  /** `--upstream-proxy`: replaces the config's `upstream.proxy`. */
  upstreamProxy?: string;
  /** `--http2 on|off`: replaces the config's `http2` (docs/http2.md). */
  http2?: boolean;
  host: string;
  port: number;
  /** Undefined: port + 1 (any free port when `port` is 0). */
  adminPort?: number;
  /** `--allow-clients`: who besides loopback may use the proxy; undefined = the private ranges (docs/dashboard.md). */
  allowClients?: readonly Cidr[];
  /** `--client-name IP=NAME`, in order; they win over the config's `clients`. */
  clientNames?: readonly (readonly [string, string])[];
  /** `--admin-host`: where the admin API and dashboard listen (default 127.0.0.1). */
  adminHost?: string;
  caDir: string;
  logLevel: LogLevel;
  pretty: boolean;
  /** Where log lines go: 1 (stdout, the default) or 2 (stderr). */
  logFd?: 1 | 2;
  /** `mgproxy run --log-format`: wins over `pretty`. */
  logFormat?: LogFormat;
}

export interface RunningProxy {
  ctx: ProxyContext;
  /**
   * Mints the leaves of the configured domains in the background, so their first CONNECT does not
   * pay for it; called after the ready line, which never waits for it.
   */
  mintConfiguredLeaves(): void;
  host: string;
  port: number;
  adminPort: number;
  /** `http://HOST:PORT` */
  url: string;
  adminUrl: string;
  caCreated: boolean;
  /** Problems that did not stop the start (warnings). */
  warnings: Problem[];
  /** Stops accepting, lets in-flight exchanges finish within `graceMs`, closes everything. */
  close(graceMs?: number): Promise<void>;
  flushLog(): void;
}

/** A config with errors: the caller prints them and exits 2. */
export class ConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`the config has ${problems.filter((p) => p.severity === 'error').length} error(s)`);
  }
}

/** A port that cannot be bound: one line, exit 1. */
export class ListenError extends Error {}

export const SHUTDOWN_GRACE_MS = 5000;

/**
 * Inside a container (the Docker image binds the admin API to 0.0.0.0 and `docker run` publishes
 * it on the host's loopback), a non-loopback admin host is the normal case, not a warning.
 * MGPROXY_CONTAINER=1 is set by our Dockerfile (0 says "not a container"); otherwise Docker's and
 * Podman's own marker files tell.
 */
function inContainer(): boolean {
  const said = process.env.MGPROXY_CONTAINER;
  if (said === '1' || said === '0') return said === '1';
  return fs.existsSync('/.dockerenv') || fs.existsSync('/run/.containerenv');
}

/** The admin URL to print: a wildcard address is opened as loopback (docs/rules.md's ready line). */
function adminUrlHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

function listen(server: http.Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use'
        : err.code === 'EACCES' ? 'needs privileges'
        : err.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : `cannot be bound (${err.message})`;
      reject(new ListenError(`${what} ${formatHost(host)}:${port} ${why}${err.code === 'EADDRINUSE' ? `; choose another with --${what === 'admin port' ? 'admin-port' : 'port'}` : ''}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', () => undefined);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export function buildContext(config: RuntimeConfig, ca: Ca, log: Logger, clientNames: readonly (readonly [string, string])[] = []): ProxyContext {
  const events = new EventHub(log);
  const inFlight = new InFlight();
  const socketMessages = new SocketMessages();
  const base = {
    config, log, ca, events, inFlight, socketMessages,
    clients: new Clients([...Object.entries(config.clients), ...clientNames]),
    exchanges: new ExchangeLog(events, inFlight, socketMessages),
    // One debug line per leaf minted: what a new host's first handshake paid for its certificate.
    certs: new CertStore(ca, undefined, (mint) => log.debug({ host: mint.host, key: mint.key, ms: Math.round(mint.ms * 100) / 100 }, 'minted a leaf')),
    state: new RuntimeState(),
    network: new NetworkState(config.network),
    upstream: new Upstream(config),
    map: new MapRules(config.map, config.file),
  };
  const health = new HealthMonitor(() => ({ events, config, origins: base.upstream.origins, inFlight: inFlight.all() }));
  return { ...base, health, rules: createRules({ ...base, health }) };
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const { config, problems } = loadConfig(opts.configFile, { mode: opts.mode, platform: opts.platform, network: opts.network, http2: opts.http2, upstreamProxy: opts.upstreamProxy });
  if (!config) throw new ConfigError(problems);
  const { log, flush } = createLogger({ level: opts.logLevel, pretty: opts.pretty, fd: opts.logFd, format: opts.logFormat });
  for (const p of problems) log.warn({ id: p.id, path: p.path }, `config: ${p.message}`);
  const { ca, created } = loadOrCreateCa(opts.caDir);
  if (ca.notice) log.warn({ ca: ca.certFile }, ca.notice);
  const daysLeft = caDaysLeft(ca);
  if (daysLeft < CA_RENEW_WARNING_DAYS) {
    log.warn({ ca: ca.certFile, validTo: new Date(ca.x509.validTo).toISOString() }, `the CA expires in ${Math.max(0, Math.floor(daysLeft))} days: run \`mgproxy ca --renew --ca-dir ${opts.caDir}\` and install the new ${ca.certFile} on your test devices`);
  }
  const ctx = buildContext(config, ca, log, opts.clientNames);
  const proxy = new ProxyServer(ctx, { serveLocal: createOnboarding(ctx), clients: new ClientAccess(opts.allowClients) });
  const admin = createAdminServer(ctx);
  const port = await listen(proxy.outer, opts.port, opts.host, 'port');
  const adminHost = opts.adminHost ?? '127.0.0.1';
  if (!isLoopbackIp(adminHost) && adminHost !== 'localhost' && !inContainer()) {
    log.warn({ adminHost }, `the admin API listens on ${formatHost(adminHost)}: anyone who can reach it can read the traffic and switch background mode`);
  }
  const wantAdmin = opts.adminPort ?? (opts.port === 0 || port >= 65535 ? 0 : port + 1);
  let adminPort: number;
  try {
    adminPort = await listen(admin, wantAdmin, adminHost, 'admin port');
  } catch (err) {
    proxy.outer.close();
    throw err;
  }
  ctx.upstream.ownPorts.add(port);
  ctx.upstream.ownPorts.add(adminPort);
  // Started only now that the ports listen: on one core, either would delay them.
  ctx.certs.warm();
  ctx.upstream.warm();
  ctx.state.listening = { host: opts.host, port };
  return {
    ctx, host: opts.host, port, adminPort, caCreated: created, warnings: problems,
    url: `http://${formatHost(opts.host)}:${port}`,
    adminUrl: `http://${formatHost(adminUrlHost(adminHost))}:${adminPort}`,
    flushLog: flush,
    mintConfiguredLeaves: () => {
      const hosts = [...new Set(Object.values(ctx.config.allowed).flatMap((set) => [...set]))];
      if (hosts.length === 0) return;
      const t0 = performance.now();
      let i = 0;
      // One host at a time, each when the event loop is free: a mint is a CA signature and a
      // context (~1.2 ms), and a CONNECT that comes meanwhile must not wait behind all of them.
      // The P-256 leaf: the one phones and browsers get (docs/certificates.md); a client that
      // offers only RSA mints the RSA twin on its first handshake. A host a CONNECT reached first
      // was minted by it.
      const next = (): void => {
        while (i < hosts.length && ctx.certs.has(hosts[i]!, 'ec')) i++;
        if (i >= hosts.length) {
          log.debug({ hosts: hosts.length, ms: Math.round(performance.now() - t0) }, 'minted the leaves of the configured domains');
          return;
        }
        ctx.certs.context(hosts[i++]!, 'ec').then(() => setImmediate(next), () => setImmediate(next));
      };
      setImmediate(next);
    },
    close: async (graceMs = SHUTDOWN_GRACE_MS) => {
      admin.close();
      admin.closeAllConnections();
      await proxy.close(graceMs);
    },
  };
}
