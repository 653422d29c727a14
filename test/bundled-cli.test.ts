/**
 * The CLI as `npm run build` ships it: one bundled file (docs/startup.md). These hold for the
 * modules tsc writes too; they guard what bundling could break: yargs' translations found in the
 * installed yargs, stack traces mapped to the .ts files, and the command modules loaded on use.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLI, ROOT, runCli, tempDir } from './helpers/proxy.js';

describe('the bundled CLI', () => {
  it("reads yargs' translations from the installed yargs, in the user's locale", async () => {
    const de = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/yargs/locales/de.json'), 'utf8')) as Record<string, string>;
    const r = await runCli(['--help'], { env: { LC_ALL: '', LC_MESSAGES: '', LANG: 'de_DE.UTF-8', LANGUAGE: '' } });
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^${de['Options:']}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${de['Commands:']}$`, 'm'));
  });

  it('maps a stack trace to the .ts files under node --enable-source-maps', () => {
    // The CLI's read of mgproxy's own package.json fails (its first line): an uncaught error with its stack.
    const dir = tempDir();
    const preload = path.join(dir, 'fail-package-read.cjs');
    const own = JSON.stringify(path.join(ROOT, 'package.json'));
    fs.writeFileSync(preload, `const fs = require('fs'); const url = require('url'); const read = fs.readFileSync;
fs.readFileSync = function (file, ...rest) { if ((file instanceof URL ? url.fileURLToPath(file) : String(file)) === ${own}) throw new Error('planted read failure'); return read.call(this, file, ...rest); };\n`);
    const r = spawnSync(process.execPath, ['--enable-source-maps', '--require', preload, CLI, '--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /planted read failure/);
    assert.match(r.stderr, /at .*proxy[\\/]cli\.ts:\d+:\d+/, r.stderr);
  });

  it('runs a command whose code is loaded when it runs (check-config, audit)', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(config, JSON.stringify({ domains: { request: ['https://api.example.test'] } }));
    const check = await runCli(['check-config', '--config', config]);
    assert.equal(check.code, 0, check.stderr);
    const audit = await runCli(['audit', 'not a host']);
    assert.equal(audit.code, 2);
    assert.equal(audit.stderr, 'mgproxy: "not a host" is not HOST or HOST:PORT\n');
  });
});
