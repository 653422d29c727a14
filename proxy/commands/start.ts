/**
 * `mgproxy start`: run the proxy in the foreground until SIGINT/SIGTERM (docs/commands.md, docs/rules.md "Ready
 * line", "Exit codes"): 0 after a signal, 2 for bad usage or config, 1 for a runtime failure.
 */
import type { CommandModule } from 'yargs';
import { findConfigFile } from '../../config/load.js';
import { CaError } from '../../certs/ca.js';
import { ConfigError, ListenError, type ProxyOptions, type RunningProxy, startProxy } from '../app.js';
import { formatProblem } from '../../config/load.js';
import { INTERNAL_ERROR } from '../log.js';
import { isLoopbackIp } from '../../config/net-address.js';
import { formatPhoneBlock, phoneSetups } from '../phones/phones.js';
import type { ReportPaths, Reports } from '../reports/index.js';
import { type ProxyArgs, proxyOptionsFrom, reportPathsOf, withProxyOptions } from './options.js';

/** Starts a proxy or exits with the code docs/rules.md gives the failure. */
export async function startOrExit(argv: ProxyArgs, extra: Partial<ProxyOptions> = {}): Promise<RunningProxy> {
  try {
    return await startProxy({ ...proxyOptionsFrom(argv, findConfigFile(argv.config)), ...extra });
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
      process.exit(2);
    }
    if (err instanceof ListenError || err instanceof CaError) {
      process.stderr.write(`mgproxy: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Starts recording the reports asked for; a HAR file that cannot be opened stops the proxy (exit 1). */
export async function openReportsOrExit(proxy: RunningProxy, paths: ReportPaths): Promise<Reports> {
  // Loaded here, not at start: the writers (HAR, JUnit, health page) are code a plain start never runs.
  const { Reports } = await import('../reports/index.js');
  try {
    return new Reports(proxy.ctx, paths);
  } catch (err) {
    process.stderr.write(`mgproxy: ${(err as Error).message}\n`);
    await proxy.close(0);
    process.exit(1);
  }
}

/** The options that name a report file; `--har-redact` and `--har-secrets` only shape the HAR. */
const REPORT_FILES = ['report', 'junit', 'har', 'health', 'healthHtml', 'healthBaseline'] as const satisfies readonly (keyof ReportPaths)[];

/** The ready line, exactly as docs/rules.md words it. */
export const readyLine = (proxy: RunningProxy) => `mgproxy listening on ${proxy.url} (admin ${proxy.adminUrl})`;

/**
 * A last line of defence for a long-running proxy: a bug in one connection's handling is logged
 * with its stack instead of ending every user's session.
 */
export function keepServingOnBugs(proxy: RunningProxy): void {
  process.on('uncaughtException', (err) => proxy.ctx.log.error({ error: { message: err.message, stack: err.stack } }, INTERNAL_ERROR));
}

/**
 * On the first SIGINT/SIGTERM: a graceful close, then `before` (the reports), then exit 0, or 1
 * when `before` failed (a report not written is a runtime failure). A second signal exits at once.
 */
export function exitOnSignals(proxy: RunningProxy, before: () => Promise<void> | void = () => undefined): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) { proxy.flushLog(); process.exit(0); }
    stopping = true;
    let code = 0;
    proxy.ctx.log.info({ signal }, 'stopping');
    proxy.close()
      .then(() => before())
      .catch((err: Error) => {
        code = 1;
        proxy.ctx.log.error({ error: { message: err.message } }, 'error while stopping');
        process.stderr.write(`mgproxy: ${err.message}\n`);
      })
      .finally(() => {
        proxy.flushLog();
        process.exit(code);
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * Beyond loopback (docs/commands.md, docs/rules.md "`--host 0.0.0.0`"): the LAN addresses with their proxy setting,
 * PAC and onboarding URLs, and a QR code per address. Human output gets the block on stdout after
 * the ready line; JSON output keeps stdout to JSON lines (one `"msg":"phones"` line with the same
 * data) and draws the block on stderr, for the person watching the terminal.
 */
function printPhoneSetup(proxy: RunningProxy, pretty: boolean): void {
  if (isLoopbackIp(proxy.host) || proxy.host === 'localhost') return;
  const setups = phoneSetups(proxy.host, proxy.port);
  if (!pretty) proxy.ctx.log.info({ phones: setups }, 'phones');
  const out = pretty ? process.stdout : process.stderr;
  out.write(formatPhoneBlock(setups, { adminUrl: proxy.adminUrl, ansi: Boolean(out.isTTY) }));
}

export const startCommand: CommandModule<object, ProxyArgs> = {
  command: 'start',
  describe: 'run the proxy in the foreground until Ctrl-C',
  builder: (y) => withProxyOptions(y) as never,
  handler: async (argv) => {
    const proxy = await startOrExit(argv);
    const paths = reportPathsOf(argv);
    // Without a report file there is nothing to record or write (docs/rules.md): the writers are not loaded.
    const reports = REPORT_FILES.some((k) => paths[k] !== undefined) ? await openReportsOrExit(proxy, paths) : undefined;
    keepServingOnBugs(proxy);
    exitOnSignals(proxy, async () => { await reports?.write(); });
    const { log } = proxy.ctx;
    if (proxy.caCreated) log.info({ ca: proxy.ctx.ca.certFile }, 'created a new CA: install and trust it on your test devices');
    // The upstream proxy by its URL without credentials (docs/upstream-proxy.md).
    const via = proxy.ctx.config.upstreamProxy;
    log.info({ config: proxy.ctx.config.file ?? 'built-in defaults', mode: proxy.ctx.config.mode, ...(via ? { upstreamProxy: via.url } : {}) }, readyLine(proxy));
    proxy.mintConfiguredLeaves();
    printPhoneSetup(proxy, argv.pretty ?? Boolean(process.stdout.isTTY));
  },
};
