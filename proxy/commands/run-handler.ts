/** What `mgproxy run` does once its arguments are parsed (commands/run.ts): loaded only when it runs. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { RunningProxy } from '../app.js';
import { formatHost } from '../../config/net-address.js';
import type { LogFormat } from '../log.js';
import { appendStepSummary, GithubAnnotations, stepSummaryMarkdown } from '../reports/github.js';
import { formatSummary, type FailOn, ViolationTally } from '../reports/summary.js';
import { type ProxyArgs, reportPathsOf } from './options.js';
import { keepServingOnBugs, openReportsOrExit, readyLine, startOrExit } from './start.js';
import { type FailOnHealth, healthLines, healthMarkdown, healthVerdict } from '../reports/health-baseline.js';

export interface RunArgs extends ProxyArgs {
  'fail-on': FailOn;
  'fail-on-health': FailOnHealth;
  'log-format'?: LogFormat;
  cmd?: string[];
  '--'?: string[];
}

/** Where the system keeps its roots, per distribution; the first that exists joins the bundle. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const readIfFile = (file: string | undefined) => {
  try {
    return file ? fs.readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
};

/**
 * For clients that take one CA file instead of adding to their roots (curl, OpenSSL, Python
 * requests): Node's roots, the system's bundle (roots an administrator added), the bundle the
 * caller already pointed SSL_CERT_FILE at, and the mgproxy CA.
 */
function writeCaBundle(dir: string, caPem: string): string {
  const parts = [tls.rootCertificates.join('\n')];
  const system = SYSTEM_BUNDLES.find((f) => fs.existsSync(f));
  for (const file of new Set([system, process.env.SSL_CERT_FILE])) {
    const pem = readIfFile(file);
    if (pem) parts.push(pem);
  }
  parts.push(caPem);
  const file = path.join(dir, 'ca-bundle.pem');
  fs.writeFileSync(file, `${parts.map((p) => p.trim()).join('\n')}\n`);
  return file;
}

/** docs/ci.md: the environment CMD runs with. */
export function proxyEnvironment(base: NodeJS.ProcessEnv, proxy: RunningProxy, bundleFile: string): NodeJS.ProcessEnv {
  // A proxy listening on every address is reached on loopback.
  const host = proxy.host === '0.0.0.0' ? '127.0.0.1' : proxy.host === '::' ? '::1' : proxy.host;
  const url = `http://${formatHost(host)}:${proxy.port}`;
  return {
    ...base,
    HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url,
    // Emptied, not removed: nothing bypasses the proxy, as nothing bypasses the rules on a device.
    NO_PROXY: '', no_proxy: '',
    NODE_EXTRA_CA_CERTS: proxy.ctx.ca.certFile,
    SSL_CERT_FILE: bundleFile, CURL_CA_BUNDLE: bundleFile, REQUESTS_CA_BUNDLE: bundleFile,
    MGPROXY_ADMIN: proxy.adminUrl,
  };
}

const signalStatus = (signal: NodeJS.Signals) => 128 + (os.constants.signals[signal] ?? 0);

/** Runs CMD to its end with stdio passed through and SIGINT/SIGTERM/SIGHUP forwarded; resolves with its exit status. */
function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, early: NodeJS.Signals | undefined): Promise<number> {
  if (early) return Promise.resolve(signalStatus(early));
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    // Like npm: CMD shares our process group (so it keeps the terminal), and signals sent to
    // mgproxy alone (a CI runner's SIGTERM, kill PID) are passed on.
    const forward = (signal: NodeJS.Signals) => { if (child.exitCode === null && child.signalCode === null) child.kill(signal); };
    for (const s of SIGNALS) process.on(s, forward);
    const done = (status: number) => {
      for (const s of SIGNALS) process.off(s, forward);
      resolve(status);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // running: 'exit' tells the rest
      const [status, why] = err.code === 'ENOENT' ? [127, 'command not found'] : err.code === 'EACCES' ? [126, 'permission denied'] : [126, err.message];
      process.stderr.write(`mgproxy: ${why}: ${cmd}\n`);
      done(status);
    });
    child.on('exit', (code, signal) => done(signal ? signalStatus(signal) : code ?? 1));
  });
}

export async function run(argv: RunArgs): Promise<void> {
  const [cmd, ...args] = [...(argv.cmd ?? []), ...(argv['--'] ?? [])].map(String);
  // Until CMD runs, a signal only stops us from starting it; the reports are still written.
  let early: NodeJS.Signals | undefined;
  const onEarly = (s: NodeJS.Signals) => { early ??= s; };
  for (const s of SIGNALS) process.on(s, onEarly);
  const logFormat: LogFormat = argv['log-format'] ?? (argv.pretty === false ? 'json' : 'human');
  const proxy = await startOrExit({ ...argv, pretty: false }, { logFd: 2, logFormat });
  const reports = await openReportsOrExit(proxy, reportPathsOf(argv));
  const failOnHealth = argv['fail-on-health'];
  if (failOnHealth.kind !== 'never') proxy.ctx.health.start();
  const tally = new ViolationTally(proxy.ctx.config.platformNames).attach(proxy.ctx.events);
  const github = process.env.GITHUB_ACTIONS === 'true' ? new GithubAnnotations((line) => process.stderr.write(line)).attach(proxy.ctx.events) : undefined;
  keepServingOnBugs(proxy);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-run-'));
  let status: number;
  try {
    const env = proxyEnvironment(process.env, proxy, writeCaBundle(tmp, proxy.ctx.ca.certPem));
    proxy.flushLog(); // the start's warnings first, in either format
    process.stderr.write(`${readyLine(proxy)}; running ${[cmd, ...args].join(' ').slice(0, 200)}\n`);
    for (const s of SIGNALS) process.off(s, onEarly);
    status = await runChild(cmd!, args, env, early);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // From here on a signal means "stop now": exit at once with it.
  for (const s of SIGNALS) {
    process.on(s, (signal) => {
      reports.abort();
      proxy.flushLog();
      process.exit(signalStatus(signal));
    });
  }
  await proxy.close();
  let reportError: string | undefined;
  const written = await reports.write().catch((err: Error) => { reportError = err.message; return []; });
  const failOn = argv['fail-on'];
  const over = tally.atOrAbove(failOn);
  const health = reports.health();
  const unhealthy = health ? healthVerdict(failOnHealth, health, health.baseline as Parameters<typeof healthVerdict>[2]) : undefined;
  const code = status !== 0 ? status : over > 0 || reportError || unhealthy ? 1 : 0;
  const why = status !== 0 ? `${cmd} exited with ${status}`
    : over > 0 ? `${over} violation${over === 1 ? '' : 's'} at or above --fail-on ${failOn}${unhealthy ? `; ${unhealthy}` : ''}`
    : unhealthy ? unhealthy
    : reportError ? `a report could not be written: ${reportError}`
    : failOn === 'never' ? 'violations do not fail the run (--fail-on never)' : `no violation at or above --fail-on ${failOn}`;
  proxy.flushLog();
  github?.finish();
  const requests = proxy.ctx.events.requests;
  const wrote = written.length > 0 ? `mgproxy: wrote ${written.join(', ')}\n` : '';
  const healthText = health ? `${healthLines(health).join('\n')}\n` : '';
  process.stderr.write(`${formatSummary(tally, requests)}${healthText}${wrote}mgproxy: exit ${code}: ${why}\n`);
  // Whatever GITHUB_ACTIONS says (docs/ci.md): other runners and local tools read the same file.
  const summaryFile = process.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) appendStepSummary(summaryFile, stepSummaryMarkdown({ tally, requests, code, why, written }) + (health ? healthMarkdown(health) : ''));
  process.exit(code);
}
