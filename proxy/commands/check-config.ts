/** `mgproxy check-config` (SPEC §10): every problem, one a line; exit 0 with only warnings, 2 on any error. */
import type { CommandModule } from 'yargs';
import { findConfigFile, formatProblem, loadConfig } from '../../config/load.js';
import { withConfigOption } from './options.js';

export const checkConfigCommand: CommandModule<object, { config?: string }> = {
  command: 'check-config',
  describe: 'validate the config and the game.json it names; print every problem',
  builder: (y) => withConfigOption(y) as never,
  handler: (argv) => {
    const file = findConfigFile(argv.config);
    const { problems } = loadConfig(file);
    for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
    const errors = problems.filter((p) => p.severity === 'error').length;
    process.stderr.write(`${file ?? 'built-in defaults'}: ${errors} error(s), ${problems.length - errors} warning(s)\n`);
    process.exitCode = errors > 0 ? 2 : 0;
  },
};
