#!/usr/bin/env node
/** The `mgproxy` command (yargs). Registers finished commands only. */
import fs from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { auditCommand } from './commands/audit.js';
import { caCommand } from './commands/ca.js';
import { checkConfigCommand } from './commands/check-config.js';
import { runCommand } from './commands/run.js';
import { startCommand } from './commands/start.js';
import { packageFile } from './package-files.js';

const pkg = JSON.parse(fs.readFileSync(packageFile('package.json'), 'utf8')) as { version: string };

/**
 * yargs names an unknown flag as it parsed it: `--no-such-flag` becomes `such-flag, suchFlag` (a
 * negation, then its camel-case alias). The user is told each flag exactly as typed.
 */
function unknownAsTyped(msg: string, argv: readonly string[]): string {
  const m = /^Unknown arguments?: (.*)$/s.exec(msg);
  if (!m) return msg;
  const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const names = new Set(m[1]!.split(',').map((n) => kebab(n.trim())));
  const end = argv.indexOf('--');
  const typed = (end < 0 ? argv : argv.slice(0, end)).filter((arg) => {
    const name = /^--?(?:no-)?([^=]+)/.exec(arg)?.[1];
    const plain = /^--?([^=]+)/.exec(arg)?.[1];
    return name !== undefined && (names.has(kebab(name)) || (plain !== undefined && names.has(kebab(plain))));
  });
  if (typed.length === 0) return msg;
  const flags = [...new Set(typed.map((arg) => arg.split('=')[0]!))];
  return `Unknown argument${flags.length > 1 ? 's' : ''}: ${flags.join(', ')}`;
}

/** The registry of commands, in the order `--help` lists them. */
const COMMANDS = [startCommand, runCommand, caCommand, checkConfigCommand, auditCommand];

const cli = yargs(hideBin(process.argv))
  .scriptName('mgproxy')
  .usage('$0 <command> [options]\n\nEnforces the mini-game network rules on real HTTPS and WSS traffic.')
  .demandCommand(1, 'name a command; see mgproxy --help')
  .recommendCommands()
  .strict()
  .version(pkg.version)
  .help()
  .alias('h', 'help')
  .wrap(Math.min(110, process.stdout.columns || 110))
  // Bad usage: one line on stderr, no stack, exit 2 (docs/commands.md).
  .fail((msg, err) => {
    // yargs words some errors over several lines ("Invalid values:\n  Argument: …"): joined into one.
    const text = unknownAsTyped((msg || err?.message || 'bad usage').split('\n').map((l) => l.trim()).filter(Boolean).join(' '), hideBin(process.argv));
    process.stderr.write(`mgproxy: ${text}\n`);
    process.exit(2);
  });
for (const command of COMMANDS) cli.command(command as never);
await cli.parseAsync();
