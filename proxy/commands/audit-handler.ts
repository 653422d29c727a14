/** What `mgproxy audit` does once its arguments are parsed (commands/audit.ts): loaded only when it runs. */
import { analyse, errorsOf, gatherIssuers, shownHandshake } from '../../certs/audit/audit.js';
import { formatOutcome, formatSummary } from '../../certs/audit/format.js';
import { AUDIT_TIMEOUT_MS, probe, type ProbeTarget } from '../../certs/audit/probe.js';
import { TrustStore } from '../../certs/audit/trust.js';
import { findConfigFile, formatProblem, loadConfig, type RuntimeConfig } from '../../config/load.js';
import { DOMAIN_LISTS } from '../../config/schema.js';
import { isValidHost, splitHostPort } from '../../config/net-address.js';
import { Upstream } from '../engine/upstream/pools.js';

export interface AuditArgs { config?: string; json?: boolean; hosts?: string[]; 'upstream-proxy'?: string }

/** How many hosts are probed at once (each opens two connections). */
const PARALLEL = 8;

/** `HOST` or `HOST:PORT` (IPv6 in brackets) → host and port, 443 by default; undefined when malformed. */
export function parseAuditTarget(text: string): { host: string; port: number } | undefined {
  const hp = splitHostPort(text);
  if (!hp || !isValidHost(hp.host)) return undefined;
  return { host: hp.host, port: hp.port ?? 443 };
}

/** Every configured domain of every list (socket ones too), once, on port 443. */
function configuredTargets(config: RuntimeConfig): { host: string; port: number }[] {
  const hosts = new Set<string>();
  for (const list of DOMAIN_LISTS) for (const host of config.allowed[list]) hosts.add(host);
  return [...hosts].map((host) => ({ host, port: 443 }));
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function fail(message: string): void {
  process.stderr.write(`mgproxy: ${message}\n`);
  process.exitCode = 2;
}

export async function audit(argv: AuditArgs): Promise<void> {
  const given = (argv.hosts ?? []).map(String);
  const bad = given.find((h) => parseAuditTarget(h) === undefined);
  if (bad !== undefined) { fail(`${JSON.stringify(bad)} is not HOST or HOST:PORT`); return; }
  const file = findConfigFile(argv.config);
  const { config, problems } = loadConfig(file, { upstreamProxy: argv['upstream-proxy'] });
  if (!config) {
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    process.exitCode = 2;
    return;
  }
  const targets = given.length > 0 ? given.map((h) => parseAuditTarget(h)!) : configuredTargets(config);
  if (targets.length === 0) { fail(`no hosts to audit: name HOST[:PORT] or configure domains in ${file ?? 'a config file (--config)'}`); return; }

  const upstream = new Upstream(config);
  const trust = new TrustStore(config.extraCas);
  const probeTargets: ProbeTarget[] = targets.map(({ host, port }) => {
    const connect = upstream.connectOptions(host, port);
    return { host, port, connect, tunnel: upstream.tunnel(host, port), refused: upstream.loopCheck(connect) };
  });
  const deps = { trust, route: (host: string, port: number) => ({ ...upstream.connectOptions(host, port), tunnel: upstream.tunnel(host, port) }) };
  const probed = await mapLimited(probeTargets, PARALLEL, async (target) => ({ target, deadline: Date.now() + AUDIT_TIMEOUT_MS, result: await probe(target) }));
  // Every host's certificates first, so that a chain one server sent short can be completed by another's (docs/rules.md).
  for (const p of probed) { const shown = shownHandshake(p.result); if (shown) trust.remember(shown.sent, p.target.host); }
  await mapLimited(probed, PARALLEL, (p) => gatherIssuers(p.target, p.result, deps, p.deadline));
  const outcomes = probed.map((p) => analyse(p.target, p.result, trust));
  await upstream.close();

  if (argv.json) {
    process.stdout.write(`${JSON.stringify({ hosts: outcomes.map((o) => o.audit) }, null, 2)}\n`);
  } else {
    process.stdout.write(`${outcomes.map((o) => formatOutcome(o)).join('\n\n')}\n\n${formatSummary(outcomes)}\n`);
  }
  process.exitCode = outcomes.some((o) => errorsOf(o.audit).length > 0) ? 1 : 0;
}
