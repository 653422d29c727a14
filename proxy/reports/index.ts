/**
 * The reports a proxy was asked for (`--report`, `--junit`, `--har`; SPEC §6), written once when
 * it stops: on SIGINT/SIGTERM of `mgproxy start`, at the end of `mgproxy run`. The HAR recorder
 * listens from the start, and only when `--har` is given, so a proxy without it pays nothing.
 */
import type { ProxyContext } from '../context.js';
import type { RuleId } from '../rules/types.js';
import { HarRecorder } from './har.js';
import { jsonReportChunks } from './json.js';
import { junitReportChunks } from './junit.js';
import { writeFileAtomic } from './write-atomic.js';

export interface ReportPaths {
  /** `--report FILE`: the JSON report. */
  report?: string;
  /** `--junit FILE`: JUnit XML. */
  junit?: string;
  /** `--har FILE`: HAR 1.2. */
  har?: string;
}

/** The rule ids the registry can raise, in its order: the JUnit testcases. */
export function ruleIdsChecked(ctx: Pick<ProxyContext, 'rules'>): RuleId[] {
  return [...new Set(ctx.rules.flatMap((r) => r.ids))];
}

export class Reports {
  readonly startedAt = new Date();
  private readonly har?: HarRecorder;
  private written = false;

  /** Opens the HAR file (beside its target) at once: a path that cannot be written throws here, at start. */
  constructor(private readonly ctx: ProxyContext, private readonly paths: ReportPaths) {
    if (paths.har !== undefined) {
      this.har = new HarRecorder(paths.har);
      this.har.attach(ctx.events);
    }
  }

  /**
   * Writes every report asked for, each atomically, after the proxy has stopped, and returns
   * their paths. Tries them all; throws one error naming every file that could not be written.
   */
  async write(): Promise<string[]> {
    if (this.written) return [];
    this.written = true;
    const { ctx, paths } = this;
    const jobs: [string, () => Promise<void>][] = [];
    if (paths.report !== undefined) jobs.push([paths.report, () => writeFileAtomic(paths.report!, jsonReportChunks(ctx.events, { clients: ctx.clients.list(), network: ctx.network.summary() }))]);
    if (paths.junit !== undefined) {
      const opts = { ruleIds: ruleIdsChecked(ctx), startedAt: this.startedAt };
      jobs.push([paths.junit, () => writeFileAtomic(paths.junit!, junitReportChunks(ctx.events, opts))]);
    }
    if (this.har) jobs.push([paths.har!, () => this.har!.finish()]);
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
  }
}
