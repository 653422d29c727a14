/** The dashboard's network control (docs/network.md) in headless Chromium against a real proxy. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, findChromium, openDashboard } from './helpers/browser.js';
import { admin, startWorld, type World } from './helpers/fixture.js';

const chromium = findChromium();
const skip = 'skip' in chromium ? chromium.skip : undefined;

describe('dashboard network control in headless Chromium', { skip }, () => {
  let w: World;
  let browser: Browser;
  let page: Page;
  before(async () => {
    w = await startWorld();
    ({ browser, page } = await openDashboard((chromium as { path: string }).path, w.proxy.adminUrl));
  });
  after(async () => {
    await browser?.close();
    await w?.close();
  });

  it('puts one host on a fault for everyone, shows the conditions beside the in-flight counts, and removes the rule', async () => {
    await page.locator('#n-host').fill('api.example.test');
    await page.locator('#n-condition').selectOption('fault:error-status');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#n-rules tr', { hasText: 'host api.example.test' }).waitFor({ timeout: 5000 });
    assert.deepEqual((await admin(w.proxy, 'GET', '/api/network')).json, {
      default: 'none', rules: [{ host: 'api.example.test', fault: { type: 'error-status', status: 503, percent: 100 } }],
    });
    const r = await w.fetch('https://api.example.test/echo?dashboard=1');
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-mgproxy-fault'], 'error-status');

    // A preset for all clients and all hosts sets the default; a slow request shows it in its client's row.
    await page.locator('#n-host').fill('');
    await page.locator('#n-condition').selectOption('preset:3g');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#n-default', { hasText: 'default: 3g' }).waitFor({ timeout: 5000 });
    const slow = w.fetch('https://cdn.example.test/slow?ms=3000');
    await page.locator('#load-rows tr', { hasText: '3g + 1 host rule' }).waitFor({ timeout: 5000 });

    await page.locator('#n-rules tr', { hasText: 'host api.example.test' }).getByRole('button', { name: 'Remove' }).click();
    await page.locator('#n-default', { hasText: 'no rules' }).waitFor({ timeout: 5000 });
    assert.deepEqual((await admin(w.proxy, 'GET', '/api/network')).json, { default: '3g', rules: [] });
    assert.equal((await slow).status, 200);
    assert.deepEqual(browser.errors, []);
  });
});
