/**
 * Test tools from Debian's packages (chromium for the dashboard, zbar-tools to read QR codes back):
 * used when installed, installed by the test setup when it runs as root with apt-get (bounded in
 * time, one attempt per package per test process), else the tests that need them are skipped with
 * the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

const INSTALL_TIMEOUT_MS = 10 * 60_000;
const tried = new Map<string, string | undefined>();
let updated = false;

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const file = `${dir}/${binary}`;
    if (dir && fs.existsSync(file)) return file;
  }
  return undefined;
}

/** The path of `binary`, installing Debian's `pkg` if needed; or `{ skip }` with why not. */
export function ensureDebianTool(binary: string, pkg: string): { path: string } | { skip: string } {
  const found = onPath(binary);
  if (found) return { path: found };
  if (!tried.has(pkg)) tried.set(pkg, install(pkg));
  const again = onPath(binary);
  return again ? { path: again } : { skip: `${binary} is not installed and Debian's ${pkg} could not be: ${tried.get(pkg) ?? 'unknown reason'}` };
}

function install(pkg: string): string | undefined {
  if (process.getuid?.() !== 0) return 'installing needs root';
  if (!onPath('apt-get')) return 'no apt-get on this machine';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    const u = spawnSync('apt-get', ['update', '-qq'], { env, timeout: INSTALL_TIMEOUT_MS, stdio: 'ignore' });
    updated = u.status === 0;
  }
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, timeout: INSTALL_TIMEOUT_MS, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return r.error ? r.error.message : `apt-get install ${pkg} exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').at(-1)}`;
}

/** The version line of a tool, for test names and skip reasons. */
export function versionOf(path: string): string {
  try {
    return execFileSync(path, ['--version'], { timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown version';
  }
}
