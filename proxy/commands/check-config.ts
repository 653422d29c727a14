/** `mgproxy check-config` (docs/rules.md, docs/platforms.md): every problem, one a line, for the config's platforms or `--platform`'s; exit 0 with only warnings, 2 on any error. */
import type { CommandModule } from 'yargs';
import { findConfigFile, formatProblem, loadConfig } from '../../config/load.js';
import type { PlatformName } from '../../config/platforms.js';
import { withConfigOption, withPlatformOption } from './options.js';

export const checkConfigCommand: CommandModule<object, { config?: string; platform?: PlatformName[] }> = {
  command: 'check-config',
  describe: 'validate the config and the game.json it names; print every problem',
  builder: (y) => withPlatformOption(withConfigOption(y)) as never,
  handler: (argv) => {
    const file = findConfigFile(argv.config);
    const { problems } = loadConfig(file, { platform: argv.platform });
    for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
    const errors = problems.filter((p) => p.severity === 'error').length;
    process.stderr.write(`${file ?? 'built-in defaults'}: ${errors} error(s), ${problems.length - errors} warning(s)\n`);
    process.exitCode = errors > 0 ? 2 : 0;
  },
};
