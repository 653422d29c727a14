/** Bad usage names the flag as it was typed (docs/commands.md): one line, exit 2, in every command. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './helpers/proxy.js';

const COMMANDS: string[][] = [['start'], ['run'], ['audit'], ['ca'], ['check-config']];

describe('unknown flags', () => {
  for (const command of COMMANDS) {
    it(`${command[0]}: --no-such-flag and --bogus=1 are named exactly as typed, one line, exit 2`, async () => {
      const tail = command[0] === 'run' ? ['--', 'true'] : [];
      const negated = await runCli([...command, '--no-such-flag', ...tail], { timeoutMs: 20_000 });
      assert.equal(negated.code, 2, negated.stderr);
      assert.equal(negated.stderr, 'mgproxy: Unknown argument: --no-such-flag\n');
      const two = await runCli([...command, '--bogus=1', '--no-such-flag', ...tail], { timeoutMs: 20_000 });
      assert.equal(two.code, 2, two.stderr);
      assert.equal(two.stderr, 'mgproxy: Unknown arguments: --bogus, --no-such-flag\n');
    });
  }
});
