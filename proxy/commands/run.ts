/**
 * `mgproxy run [options] -- CMD [ARGS…]` (docs/ci.md, docs/rules.md "Exit codes"): the one line a CI job adds.
 * Starts the proxy on free ports, runs CMD with the proxy environment, stops the proxy, writes the
 * reports, prints the summary table and exits with the verdict:
 *   CMD's own status when non-zero (128 + n when a signal ended it, as shells report it);
 *   else 1 when a violation is at or above `--fail-on`; else 0.
 *   2 for bad usage (CMD is not run); 127 when CMD is not found, 126 when it cannot be executed.
 *
 * CMD owns stdout: the proxy's log lines go to stderr, at `warn` unless `--log-level` says
 * otherwise (violations of warning and error severity as they happen, and errors), and so do
 * the ready line and the summary table. They are human lines for a CI log (`--log-format human`,
 * proxy/reports/ci-lines.ts) or pino's JSON lines (`--log-format json`). On GitHub Actions the
 * errors and warnings are annotations too, and GITHUB_STEP_SUMMARY gets the table
 * (proxy/reports/github.ts).
 */
import type { CommandModule } from 'yargs';
import { LOG_FORMATS } from '../log.js';
import { FAIL_ON, type FailOn } from '../reports/summary.js';
import { type FailOnHealth, parseFailOnHealth } from '../reports/health-baseline.js';
import type { RunArgs } from './run-handler.js';
import { UsageError, withProxyOptions } from './options.js';

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run [cmd..]',
  describe: 'run CMD through the proxy on a free port; exit with the verdict (CI)',
  builder: (y) => withProxyOptions(y)
    // Everything after `--` is CMD's, taken as written (no number parsing: `-- echo 007`).
    .parserConfiguration({ 'populate--': true, 'parse-positional-numbers': false })
    .usage('$0 run [options] -- CMD [ARGS…]')
    .positional('cmd', { type: 'string', array: true, describe: 'the command to run (put it after --)' })
    .default('port', '0', 'any free port')
    .default('log-level', 'warn')
    .option('log-format', { choices: LOG_FORMATS, describe: 'human: a line per violation for people reading the CI log; json: pino JSON lines', defaultDescription: 'human' })
    .option('pretty', { type: 'boolean', describe: 'older spelling: --pretty is --log-format human, --no-pretty is --log-format json' })
    .option('fail-on', { choices: FAIL_ON, default: 'error' as FailOn, describe: 'exit 1 when a violation is at or above this severity (never: only CMD\'s status counts)' })
    .option('fail-on-health', {
      type: 'string', default: 'never', describe: 'exit 1 on the health report: regression (against --health-baseline), checks (any failed), SCORE (below 0-100), never',
      coerce: (v: unknown): FailOnHealth => {
        if (Array.isArray(v)) throw new UsageError('--fail-on-health is given more than once');
        const rule = parseFailOnHealth(String(v));
        if (!rule) throw new UsageError(`--fail-on-health takes regression, checks, a score from 0 to 100, or never; got ${JSON.stringify(String(v))}`);
        return rule;
      },
    })
    .check((argv) => {
      for (const name of ['log-format', 'fail-on'] as const) if (Array.isArray(argv[name])) throw new UsageError(`--${name} is given more than once`);
      if ((argv['fail-on-health'] as FailOnHealth).kind === 'regression' && argv['health-baseline'] === undefined) {
        throw new UsageError('--fail-on-health regression needs --health-baseline FILE (a health JSON of an earlier run)');
      }
      if ([...(argv.cmd ?? []), ...((argv['--'] as string[] | undefined) ?? [])].length === 0) throw new UsageError('name the command to run after --, e.g. mgproxy run -- npm test');
      return true;
    })
    .example('$0 run --junit junit.xml -- npm test', 'the tests through the proxy, a JUnit report') as never,
  // Reports, CI lines and the child's plumbing are loaded when the command runs, not by every other command's start.
  handler: async (argv) => { await (await import('./run-handler.js')).run(argv); },
};
