/**
 * The reports a proxy was asked for (`--report`, `--junit`, `--har`; docs/rules.md), written once when
 * it stops: on SIGINT/SIGTERM of `mgproxy start`, at the end of `mgproxy run`. The HAR recorder
 * listens from the start, and only when `--har` is given, so a proxy without it pays nothing.
 */
import type { ProxyContext } from '../context.js';
import type { RuleId } from '../rules/types.js';
import { HarRecorder } from './har.js';
import { jsonReportChunks, type ReportExtras } from './json.js';
import { junitReportChunks } from './junit.js';
import { writeFileAtomic } from './write-atomic.js';
import type { HealthReport } from './health.js';
import { compareBaseline, readBaseline } from './health-baseline.js';
import { healthPage } from './health-html.js';

export interface ReportPaths {
  /** `--report FILE`: the JSON report. */
  report?: string;
  /** `--junit FILE`: JUnit XML. */
  junit?: string;
  /** `--har FILE`: HAR 1.2. */
  har?: string;
  /** `--health FILE`, `--health-html FILE`, `--health-baseline FILE` (docs/health.md). */
  health?: string;
  healthHtml?: string;
  healthBaseline?: string;
  /** `--har-redact`: names redacted besides the config's `har.redact` and the defaults (docs/har.md). */
  harRedact?: readonly string[];
  /** `--har-secrets`: wins over the config's `har.secrets`. */
  harSecrets?: 'redact' | 'keep';
}

/** The rule ids the registry can raise, in its order: the JUnit testcases. */
export function ruleIdsChecked(ctx: Pick<ProxyContext, 'rules'>): RuleId[] {
  return [...new Set(ctx.rules.flatMap((r) => r.ids))];
}

/** The report's sections beyond docs/rules.md's: clients by name, the network conditions (docs/network.md), sockets with their message counts. */
export function reportExtras(ctx: Pick<ProxyContext, 'clients' | 'socketMessages' | 'network' | 'config'>): ReportExtras {
  return { clients: ctx.clients.list(), network: ctx.network.summary(), sockets: ctx.socketMessages.tallies(), platforms: ctx.config.platforms };
}

export class Reports {
  readonly startedAt = new Date();
  private readonly har?: HarRecorder;
  private written = false;
  private stopWatching = () => undefined as void;
  private healthDone?: HealthReport;
  private readonly baseline?: HealthReport;

  /** Opens the HAR file (beside its target) at once: a path that cannot be written throws here, at start. */
  constructor(private readonly ctx: ProxyContext, private readonly paths: ReportPaths) {
    // The report counts each socket's messages (frame headers only, unless something observes them).
    if (paths.report !== undefined) ctx.socketMessages.countFrames = true;
    if (paths.har !== undefined) {
      const { har } = ctx.config;
      this.har = new HarRecorder(paths.har, {
        socketMessages: ctx.socketMessages, platforms: ctx.config.platformNames,
        secrets: paths.harSecrets ?? har.secrets, redact: [...har.redact, ...(paths.harRedact ?? [])],
      });
      this.har.attach(ctx.events);
      this.stopWatching = ctx.socketMessages.watch();
    }
    // After the HAR recorder: both tap response bodies (proxy/flow/taps.ts chains them).
    if (paths.health !== undefined || paths.healthHtml !== undefined || paths.healthBaseline !== undefined) ctx.health.start();
    if (paths.healthBaseline !== undefined) this.baseline = readBaseline(paths.healthBaseline);
  }

  /** The health report at the end of the run, with its baseline when one was given (computed once). */
  health(): HealthReport | undefined {
    if (!this.ctx.health.started) return undefined;
    if (this.healthDone) return this.healthDone;
    const report = this.ctx.health.start().report();
    if (this.baseline) report.baseline = compareBaseline(this.paths.healthBaseline!, this.baseline, report);
    return (this.healthDone = report);
  }

  /**
   * Writes every report asked for, each atomically, after the proxy has stopped, and returns
   * their paths. Tries them all; throws one error naming every file that could not be written.
   */
  async write(): Promise<string[]> {
    if (this.written) return [];
    this.written = true;
    const { ctx, paths } = this;
    // The proxy has stopped; the last socket messages may still be inflating.
    await ctx.socketMessages.settleAll();
    const jobs: [string, () => Promise<void>][] = [];
    if (paths.report !== undefined) jobs.push([paths.report, () => writeFileAtomic(paths.report!, jsonReportChunks(ctx.events, reportExtras(ctx)))]);
    if (paths.junit !== undefined) {
      const opts = { ruleIds: ruleIdsChecked(ctx), startedAt: this.startedAt, platforms: ctx.config.platformNames };
      jobs.push([paths.junit, () => writeFileAtomic(paths.junit!, junitReportChunks(ctx.events, opts))]);
    }
    if (this.har) jobs.push([paths.har!, async () => { await this.har!.finish(); this.stopWatching(); }]);
    const health = this.health();
    if (paths.health !== undefined && health) jobs.push([paths.health, () => writeFileAtomic(paths.health!, [`${JSON.stringify(health, null, 2)}\n`])]);
    if (paths.healthHtml !== undefined && health) {
      const drawing = ctx.health.start().drawing();
      jobs.push([paths.healthHtml, () => writeFileAtomic(paths.healthHtml!, [healthPage(health, drawing)])]);
    }
    const failed: string[] = [];
    const done: string[] = [];
    for (const [file, job] of jobs) {
      try {
        await job();
        done.push(file);
        ctx.log.info({ file }, 'report written');
      } catch (err) {
        failed.push((err as Error).message);
        ctx.log.error({ file, error: { message: (err as Error).message } }, 'report not written');
      }
    }
    if (failed.length > 0) throw new Error(failed.join('; '));
    return done;
  }

  /** Drops what was started (the HAR temp file) without writing anything. */
  abort(): void {
    this.har?.abort();
    this.stopWatching();
  }
}
