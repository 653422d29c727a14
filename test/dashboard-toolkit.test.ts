/**
 * The dashboard's toolkit parts (docs/toolkit.md) in headless Chromium against a real proxy: the
 * Map panel lists the rules, adds, edits and removes them (each change answered by the proxy at
 * once), and shows a refused list's error with its path, the list unchanged; the exchange view's
 * "Replay" sends the exchange again (the upstream counts it twice) and "Copy as cURL" shows its
 * command line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, findChromium, openDashboard } from './helpers/browser.js';
import { admin, baseConfig, startWorld, type World } from './helpers/fixture.js';
import { tempDir } from './helpers/proxy.js';

const chromium = findChromium();
const skip = 'skip' in chromium ? chromium.skip : undefined;

describe('dashboard Map panel and exchange actions in headless Chromium', { skip }, () => {
  let w: World;
  let browser: Browser;
  let page: Page;
  const files = tempDir('mgproxy-dash-map-');

  const mapRows = (text: string) => page.locator('#map-rows tr', { hasText: text });
  const mapList = async () => (await admin(w.proxy, 'GET', '/api/map')).json as { url: string }[];

  before(async () => {
    fs.writeFileSync(path.join(files, 'hello.txt'), 'from disk');
    w = await startWorld({ config: (a, root) => baseConfig(a, root, { map: [{ url: 'https://cdn.example.test/disk/*', local: `${files}/` }] }) });
    ({ browser, page } = await openDashboard((chromium as { path: string }).path, w.proxy.adminUrl));
  });
  after(async () => {
    await browser?.close();
    await w?.close();
    fs.rmSync(files, { recursive: true, force: true });
  });

  it('lists the map rules in force', async () => {
    await mapRows('https://cdn.example.test/disk/*').waitFor({ timeout: 10_000 });
    assert.match(await mapRows('https://cdn.example.test/disk/*').textContent() ?? '', /local → /);
    assert.equal((await w.fetch('https://cdn.example.test/disk/hello.txt')).body.toString(), 'from disk');
    // The exchange view says where the answer came from.
    const row = page.locator('.ex-row', { hasText: 'disk/hello.txt' });
    await row.first().waitFor({ timeout: 10_000 });
    await row.first().click();
    await page.locator('#ex-detail dd', { hasText: `local → ${path.join(files, 'hello.txt')}` }).waitFor({ timeout: 5000 });
  });

  it('adds a respond rule that the proxy answers with at once', async () => {
    await page.locator('#m-url').fill('https://api.example.test/mock');
    await page.locator('#m-type').selectOption('respond');
    await page.locator('#m-status').fill('201');
    await page.locator('#m-headers').fill('X-Mock: "yes"');
    await page.locator('#m-body').fill('{"mocked":true}');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await mapRows('https://api.example.test/mock').waitFor({ timeout: 5000 });
    const r = await w.fetch('https://api.example.test/mock');
    assert.equal(r.status, 201);
    assert.equal(r.headers['x-mock'], '"yes"');
    assert.equal(r.body.toString(), '{"mocked":true}');
  });

  it('shows a refused entry\'s error with its path, and keeps the list', async () => {
    await page.locator('#m-url').fill('https://api.example.test/staging/*');
    await page.locator('#m-type').selectOption('remote');
    await page.locator('#m-target').fill('ftp://staging.example.test/');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#map-error', { hasText: 'map[2].remote:' }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#map-error').textContent() ?? '', /^map\[2\]\.remote: must be an http:\/\/ or https:\/\/ base URL/);
    assert.equal(await page.locator('#map-rows tr').count(), 2);
    assert.equal((await mapList()).length, 2);
  });

  it('edits and removes entries', async () => {
    await mapRows('https://api.example.test/mock').getByRole('button', { name: 'Edit' }).click();
    assert.equal(await page.locator('#m-body').inputValue(), '{"mocked":true}');
    await page.locator('#m-body').fill('changed');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await mapRows('respond 201').waitFor({ timeout: 5000 });
    await page.locator('#map-error:empty').waitFor({ state: 'attached', timeout: 5000 });
    assert.equal((await w.fetch('https://api.example.test/mock')).body.toString(), 'changed');
    await mapRows('https://cdn.example.test/disk/*').getByRole('button', { name: 'Remove' }).click();
    await mapRows('https://cdn.example.test/disk/*').waitFor({ state: 'detached', timeout: 5000 });
    assert.deepEqual((await mapList()).map((e) => e.url), ['https://api.example.test/mock']);
    assert.notEqual((await w.fetch('https://cdn.example.test/disk/hello.txt')).body.toString(), 'from disk');
  });

  it('replays an exchange from its view, and shows it as cURL', async () => {
    const r = await w.fetch('https://api.example.test/echo?dash=replay', { headers: { 'x-quote': `it's "here"` } });
    assert.equal(r.status, 200);
    const row = page.locator('.ex-row', { hasText: 'echo?dash=replay' });
    await row.first().waitFor({ timeout: 10_000 });
    await row.first().click();
    await page.locator('#ex-replay').waitFor({ timeout: 5000 });
    await page.locator('#ex-replay').click();
    await page.locator('#ex-action', { hasText: /replayed as #\d+/ }).waitFor({ timeout: 10_000 });
    const newId = Number(/#(\d+)/.exec(await page.locator('#ex-action').textContent() ?? '')![1]);
    const line = await w.proxy.waitFor((l) => l.msg === 'exchange' && l.id === newId);
    assert.equal(line.client, 'replay');
    assert.equal(w.upstream.seen.filter((s) => s.url === '/echo?dash=replay').length, 2);
    // The replay is listed like any exchange.
    await page.locator('.ex-row', { hasText: 'echo?dash=replay' }).nth(1).waitFor({ timeout: 10_000 });
    await page.locator('#ex-copy-curl').click();
    await page.locator('#ex-curl:not([hidden])').waitFor({ timeout: 5000 });
    const command = await page.locator('#ex-curl').textContent() ?? '';
    assert.match(command, /^curl -x 'http:\/\/127\.0\.0\.1:\d+' --cacert '/);
    assert.ok(command.includes(`-H 'x-quote: it'\\''s "here"'`), command);
    assert.ok(command.trimEnd().endsWith(`'https://api.example.test/echo?dash=replay'`), command);
    // Chromium logs the refused POST /api/map above (400) as a console error: the only one allowed.
    assert.deepEqual(browser.errors.filter((e) => !/status of 400 \(Bad Request\)/.test(e)), []);
    assert.equal(browser.errors.length, 1);
  });
});
