/**
 * The health report in a real browser (docs/health.md): the `--health-html` page opened from disk
 * in headless Chromium shows the score and the failed checks, logs no error and asks for nothing
 * (no other origin, not even its own folder); the dashboard's Health panel shows the same live.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { viaProxy } from './helpers/clients.js';
import { findChromium, launchBrowser, openDashboard } from './helpers/browser.js';
import { healthConfig, type HealthOrigins, startHealthOrigins } from './helpers/health-origins.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, startProxy } from './helpers/proxy.js';
import { exchangeLogged } from './helpers/assertions.js';
import type { HealthReport } from '../proxy/reports/health.js';

const chromium = findChromium();
const skip = 'skip' in chromium ? chromium.skip : undefined;

describe('the health report in Chromium', { skip }, () => {
  let pki: TestPki;
  let origins: HealthOrigins;
  let proxy: ProxyProcess;
  const urls = ['https://api.example.test/plain.json', 'https://old.example.test/ok', 'https://api.example.test/status/404', 'https://cdn.example.test/hit.png'];

  before(async () => {
    pki = new TestPki();
    origins = await startHealthOrigins(pki);
    proxy = await startProxy({ config: healthConfig(origins, pki.rootFile), args: ['--health-html', 'health.html', '--health', 'health.json'] });
    for (const url of urls) assert.ok((await viaProxy(proxy.url, proxy.caPem, url)).status > 0);
    for (const url of urls) await exchangeLogged(proxy, url);
  });
  after(async () => {
    if (proxy.child.exitCode === null) await proxy.stop();
    await origins.close();
    pki.cleanup();
  });

  it('the dashboard shows the score and the failing checks, live', async () => {
    const { browser, page } = await openDashboard((chromium as { path: string }).path, proxy.adminUrl);
    try {
      await page.locator('#health-score', { hasText: /^\d+\/100$/ }).waitFor({ timeout: 15_000 });
      const report = (await (await fetch(`${proxy.adminUrl}/api/health`)).json()) as HealthReport;
      assert.equal(await page.locator('#health-score').textContent(), `${report.score}/100`);
      const panel = page.locator('#health-checks');
      await panel.getByText('开启服务器压缩').waitFor({ timeout: 10_000 });
      await panel.getByText('使用HTTP/2').waitFor();
      assert.ok((await panel.textContent())!.includes('https://old.example.test/ok'));
      assert.deepEqual(browser.errors, []);
      assert.ok(browser.requests.every((u) => u.startsWith(proxy.adminUrl)), browser.requests.join('\n'));
    } finally {
      await browser.close();
    }
  });

  it('the page opened from disk shows the score and a failed check, with no error and no request', async () => {
    await proxy.stop();
    const file = path.join(proxy.dir, 'health.html');
    const report = JSON.parse(fs.readFileSync(path.join(proxy.dir, 'health.json'), 'utf8')) as HealthReport;
    const browser = await launchBrowser((chromium as { path: string }).path);
    try {
      const page = await browser.newPage();
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      assert.equal((await page.locator('#score').textContent())!.trim(), String(report.score));
      assert.ok(report.score < 100);
      const failed = page.locator('li.check.fail');
      assert.equal(await failed.count(), report.checks.filter((c) => !c.pass).length);
      const compression = failed.filter({ hasText: '开启服务器压缩' });
      assert.ok(await compression.isVisible());
      assert.ok((await compression.textContent())!.includes('https://api.example.test/plain.json'));
      assert.ok(await page.getByText('old.example.test', { exact: true }).first().isVisible());
      assert.equal(await page.locator('svg[aria-label^="waterfall"] g').count(), urls.length);
      assert.deepEqual(browser.errors, []);
      assert.deepEqual(browser.requests, [url]);
    } finally {
      await browser.close();
    }
  });
});
