/**
 * A real browser for the dashboard tests: Debian's chromium (installed by the test setup when it
 * can be), driven headless by playwright-core, which downloads no browser of its own. A fresh
 * profile per launch; every request, page error and console error the pages make is recorded.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ensureDebianTool, versionOf } from './debian.js';
import { tempDir } from './proxy.js';

/** Flags that keep Chromium from calling home or anywhere else while it is tested. */
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  version: string;
  /** Every URL any page asked for, in order. */
  requests: string[];
  /** Uncaught exceptions and console errors, as text. */
  errors: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Chromium's path, or why the browser tests are skipped. */
export function findChromium(): { path: string } | { skip: string } {
  return ensureDebianTool('chromium', 'chromium');
}

/**
 * `prefix`: a command Chromium runs under, such as `['ip', 'netns', 'exec', NAME]` (playwright talks to it over a pipe);
 * `args`: more Chromium flags (`--proxy-server=…`); `env`: its environment (a HOME whose NSS db trusts a CA).
 */
export async function launchBrowser(executablePath: string, opts: { prefix?: string[]; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Browser> {
  const profile = tempDir('mgproxy-chromium-');
  const downloads = path.join(profile, 'downloads');
  fs.mkdirSync(downloads);
  if (opts.prefix) {
    const wrapper = path.join(profile, 'chromium.sh');
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${[...opts.prefix, executablePath].map(quote).join(' ')} "$@"\n`, { mode: 0o755 });
    executablePath = wrapper;
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: [...ARGS, ...(opts.args ?? [])], env: opts.env, acceptDownloads: true, downloadsPath: downloads, timeout: 60_000,
    viewport: { width: 1366, height: 900 }, locale: 'en-US',
  });
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const watch = (page: Page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  };
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
  return {
    context, requests, errors, version: versionOf(executablePath),
    newPage: async (viewport) => {
      const page = context.pages().find((p) => p.url() === 'about:blank') ?? await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A browser with the dashboard at `adminUrl` open and its live event stream connected. */
export async function openDashboard(executablePath: string, adminUrl: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchBrowser(executablePath);
  const page = await browser.newPage();
  await page.goto(`${adminUrl}/`, { waitUntil: 'load' });
  await page.locator('#live.on').waitFor({ timeout: 15_000 });
  return { browser, page };
}

/** A HOME whose NSS db (the one Chromium on Linux reads) trusts `caFile` for TLS servers. */
export function homeTrusting(certutilPath: string, caFile: string): string {
  const home = tempDir('mgproxy-home-');
  const db = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(db, { recursive: true });
  for (const args of [['-N', '-d', `sql:${db}`, '--empty-password'], ['-A', '-t', 'C,,', '-n', 'mgproxy', '-i', caFile, '-d', `sql:${db}`]]) {
    const r = spawnSync(certutilPath, args, { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`certutil ${args.join(' ')}: ${r.stderr}`);
  }
  return home;
}
