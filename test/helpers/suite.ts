/**
 * `npm test`: runs the test files, and only them. Node 20's `--test` takes file paths (a folder
 * would run every .js in it, the helpers too), so this lists the built `*.test.js` files under
 * dist/test/ whose `*.test.ts` source still exists (a test deleted from test/ leaves its old build
 * in dist/), and hands them to `node --test`. Arguments filter by path: `npm test -- rules cors`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST_TEST = fileURLToPath(new URL('..', import.meta.url));
const ROOT = path.resolve(DIST_TEST, '..', '..');

/** The built test files, relative to the repository root, in a stable order. */
export function testFiles(): string[] {
  return (fs.readdirSync(DIST_TEST, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => fs.existsSync(path.join(ROOT, 'test', f.replace(/\.js$/, '.ts'))))
    .map((f) => path.relative(ROOT, path.join(DIST_TEST, f)))
    .sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const filters = process.argv.slice(2);
  const files = testFiles().filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)));
  if (files.length === 0) {
    process.stderr.write(`no test file matches ${filters.join(' ')}\n`);
    process.exit(2);
  }
  // Two files at a time, not Node's default of cores - 1 (one on a 2-core CI machine): most of a
  // test's wall time is spent waiting on sockets, timers, child processes and Chromium, so a second
  // file fills that time. On this project's 2-core machine the suite took 9 min 40 s one at a time
  // and 6 min 33 s two at a time, with the same 812 tests passing. More than 4 would make the
  // timing windows of the shaping and queue tests compete for CPU.
  const concurrency = Math.min(4, Math.max(2, os.availableParallelism()));
  const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { cwd: ROOT, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
}
