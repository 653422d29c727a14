/**
 * The dashboard (docs/dashboard.md: `GET /` on the admin port) in a
 * real browser: headless Chromium (Debian's, driven by playwright-core) against a real proxy, with
 * real requests blocked by the rules. Every request the page makes is recorded: none may leave
 * for another origin. Also, without a browser: the page's headers, `/api/config`, and bad input
 * to the admin port.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, findChromium, launchBrowser, openDashboard } from './helpers/browser.js';
import { readAll, tunnelAgent, viaProxy } from './helpers/clients.js';
import { startWorld, type World } from './helpers/fixture.js';
import { makeNetns, type Netns, PRIVATE_ADDRESS, SECOND_PRIVATE_ADDRESS } from './helpers/netns.js';
import { type ProxyProcess, startProxy, tempDir } from './helpers/proxy.js';
import { decodeImage, zbarimgMissing } from './helpers/qr-decode.js';

// Functions given to page.evaluate run in the browser; typed loosely here, as page code.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any;

const getJson = async <T>(url: string) => (await (await fetch(url)).json()) as T;

describe('dashboard and admin API, without a browser', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it('serves one self-contained page at GET / with a strict CSP', async () => {
    const r = await fetch(`${w.proxy.adminUrl}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    const csp = r.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|\*/);
    const html = await r.text();
    assert.doesNotMatch(html, /\ssrc=|https?:\/\//, 'no external script, image or link');
    assert.match(html, /<button[^>]*id="background"[^>]*>Background<\/button>/);
    assert.match(html, /<a href="\/ca\.pem"/);
  });

  it('summarises the config at /api/config', async () => {
    const c = await getJson<Record<string, unknown> & { domains: Record<string, string[]>; proxy: { port: number }; concurrency: Record<string, unknown> }>(`${w.proxy.adminUrl}/api/config`);
    assert.equal(c.appid, 'wx0123456789abcdef');
    assert.equal(c.version, '0');
    assert.equal(c.mode, 'enforce');
    assert.deepEqual(c.domains.request, ['https://api.example.test']);
    assert.deepEqual(c.domains.socket, ['wss://ws.example.test']);
    assert.equal(c.proxy.port, w.proxy.port);
    assert.deepEqual(c.concurrency, { request: 10, uploadFile: 10, downloadFile: 10, socket: 5, overflow: 'queue' });
    assert.deepEqual(c.phones, [], 'on loopback no phone can reach it');
    assert.equal(c.onboarding, `http://127.0.0.1:${w.proxy.port}/`);
  });

  it('returns the newest violations with ?limit=, and 400 for a bad limit', async () => {
    for (let i = 0; i < 3; i++) await w.fetch(`https://evil.example.test/limit-${i}`);
    const all = await getJson<{ violations: { url: string }[] }>(`${w.proxy.adminUrl}/api/violations`);
    const two = await getJson<{ violations: { url: string }[] }>(`${w.proxy.adminUrl}/api/violations?limit=2`);
    assert.deepEqual(two.violations, all.violations.slice(-2));
    assert.equal((await fetch(`${w.proxy.adminUrl}/api/violations?limit=-1`)).status, 400);
  });

  it('refuses a state change from another origin (a web page posting to 127.0.0.1)', async () => {
    const r = await fetch(`${w.proxy.adminUrl}/api/background`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' }, body: '{"background":true}' });
    assert.equal(r.status, 403);
    assert.equal((await getJson<{ background: boolean }>(`${w.proxy.adminUrl}/api/stats`)).background, false);
  });

  it('refuses requests by a host name other than localhost (DNS rebinding)', async () => {
    const raw = async (host: string) => {
      const s = net.connect(w.proxy.adminPort, '127.0.0.1');
      const all = readAll(s);
      s.write(`GET /api/stats HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      return (await all).toString('latin1');
    };
    assert.match(await raw(`rebind.example:${w.proxy.adminPort}`), /^HTTP\/1\.1 403 /);
    assert.match(await raw(`localhost:${w.proxy.adminPort}`), /^HTTP\/1\.1 200 /);
    assert.match(await raw(`127.0.0.1:${w.proxy.adminPort}`), /^HTTP\/1\.1 200 /);
    assert.match(await raw(`[::1]:${w.proxy.adminPort}`), /^HTTP\/1\.1 200 /);
  });

  it('answers malformed and oversized requests to the admin port with 400 and 431', async () => {
    const raw = async (text: string) => {
      const s = net.connect(w.proxy.adminPort, '127.0.0.1');
      const all = readAll(s);
      s.write(text);
      return (await all).toString('latin1');
    };
    assert.match(await raw('NOT HTTP\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    const big = await fetch(`${w.proxy.adminUrl}/api/background`, { method: 'POST', body: 'x'.repeat(100_000) });
    assert.equal(big.status, 413);
  });
});

const chromium = findChromium();
const skip = 'skip' in chromium ? chromium.skip : undefined;

describe('dashboard in headless Chromium', { skip }, () => {
  let w: World;
  let browser: Browser;
  let page: Page;
  const shots = tempDir('mgproxy-dashboard-');

  /** Rows of the violation list that mention `text`. */
  const rowsWith = (text: string) => page.locator('#rows tr', { hasText: text });

  before(async () => {
    w = await startWorld();
    ({ browser, page } = await openDashboard((chromium as { path: string }).path, w.proxy.adminUrl));
    // A mark that a reload would wipe: every "without reload" below checks it survived.
    await page.evaluate(() => { window.mark = 42; });
  });
  after(async () => {
    await browser?.close();
    await w?.close();
  });

  const notReloaded = async () => assert.equal(await page.evaluate(() => window.mark), 42, 'the page was not reloaded');

  it('loads with the config summary, the Background control, the CA link and no errors', async (t) => {
    t.diagnostic(`browser: ${browser.version}`);
    await page.locator('#config dd', { hasText: 'wx0123456789abcdef' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#mode').textContent(), 'enforce');
    assert.match(await page.locator('#config').textContent() ?? '', /https:\/\/api\.example\.test/);
    assert.equal(await page.getByRole('button', { name: 'Background', exact: true }).count(), 1);
    assert.equal(await page.locator('a[href="/ca.pem"]').count(), 1);
    assert.deepEqual(browser.errors, []);
  });

  it('shows a blocked request within 5 s, without a reload', async () => {
    const r = await w.fetch('https://evil.example.test/live-check');
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-mgproxy-rule'], 'domain-not-allowed');
    await rowsWith('https://evil.example.test/live-check').waitFor({ timeout: 5000 });
    const row = await rowsWith('https://evil.example.test/live-check').first().textContent();
    assert.match(row ?? '', /domain-not-allowed/);
    assert.match(row ?? '', /blocked/);
    await notReloaded();
  });

  it('counts by rule and filters by rule, severity and host', async () => {
    await w.fetch('https://other.example.test/filter-check');
    await rowsWith('other.example.test').waitFor({ timeout: 5000 });
    await page.locator('#count-rows tr', { hasText: 'domain-not-allowed' }).waitFor({ timeout: 5000 });
    await page.locator('#f-host').fill('other.example');
    await page.waitForFunction(() => [...document.querySelectorAll('#rows tr')].every((r: { textContent: string }) => r.textContent.includes('other.example.test')), undefined, { timeout: 5000 });
    assert.ok(await page.locator('#rows tr').count() >= 1);
    await page.locator('#f-host').fill('');
    await page.locator('#f-severity').selectOption('warning');
    await page.locator('#empty').waitFor({ state: 'visible', timeout: 5000 });
    await page.locator('#f-severity').selectOption('error');
    await page.locator('#f-rule').selectOption('domain-not-allowed');
    await rowsWith('evil.example.test').first().waitFor({ timeout: 5000 });
    await page.locator('#f-rule').selectOption('');
    await page.locator('#f-severity').selectOption('');
  });

  it('shows requests in flight per client against the cap', async () => {
    const slow = w.fetch('https://api.example.test/slow?ms=4000');
    await page.locator('#load-rows tr', { hasText: '127.0.0.1' }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#load-rows tr', { hasText: '127.0.0.1' }).textContent() ?? '', /1\/10/);
    assert.equal((await slow).status, 200);
    await page.locator('#no-load').waitFor({ state: 'visible', timeout: 5000 });
  });

  it('flips background mode with the Background control: 403 background-call, then 200 again', async () => {
    const button = page.getByRole('button', { name: 'Background', exact: true });
    await button.click();
    await page.locator('#background[aria-pressed="true"]').waitFor({ timeout: 5000 });
    assert.equal((await getJson<{ background: boolean }>(`${w.proxy.adminUrl}/api/stats`)).background, true);
    const blocked = await w.fetch('https://api.example.test/echo');
    assert.equal(blocked.status, 403);
    assert.equal(blocked.headers['x-mgproxy-rule'], 'background-call');
    assert.match(blocked.json<{ errMsg: string }>().errMsg, /^request:fail interrupted$/);
    await rowsWith('background-call').first().waitFor({ timeout: 5000 });
    await button.click();
    await page.locator('#background[aria-pressed="false"]').waitFor({ timeout: 5000 });
    assert.equal((await getJson<{ background: boolean }>(`${w.proxy.adminUrl}/api/stats`)).background, false);
    assert.equal((await w.fetch('https://api.example.test/echo')).status, 200);
    await notReloaded();
  });

  it('downloads the same certificate as ca.pem from the CA link', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.locator('a[href="/ca.pem"]').click()]);
    const file = await download.path();
    assert.equal(fs.readFileSync(file, 'utf8'), w.proxy.caPem);
    assert.equal(fs.readFileSync(file, 'utf8'), fs.readFileSync(w.proxy.caFile, 'utf8'));
  });

  it('reads well at phone and laptop widths (screenshots), with no sideways scrolling on a phone', async (t) => {
    for (const [name, viewport] of [['phone', { width: 390, height: 844 }], ['laptop', { width: 1366, height: 900 }]] as const) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(200);
      const file = path.join(shots, `dashboard-${name}.png`);
      await page.screenshot({ path: file, fullPage: name === 'phone' });
      t.diagnostic(`screenshot: ${file}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: ${overflow} px wider than the screen`);
    }
  });

  it('survives 10,000 violations: the list stays bounded and the page responsive', { timeout: 300_000 }, async () => {
    const before = await getJson<{ violations: number }>(`${w.proxy.adminUrl}/api/stats`);
    const N = 10_000;
    const LANES = 4;
    // Keep-alive tunnels, a few at a time: well under the concurrency cap of 10.
    await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
      const agent = tunnelAgent(w.proxy.url, w.proxy.caPem, true);
      try {
        for (let i = lane; i < N; i += LANES) {
          const r = await viaProxy(w.proxy.url, w.proxy.caPem, `https://flood.example.test/n/${i}`, { agent: agent as unknown as https.Agent });
          assert.equal(r.status, 403);
        }
      } finally {
        agent.destroy();
      }
    }));
    // The lanes finish in any order: one more request after them all is the newest for sure.
    assert.equal((await w.fetch('https://flood.example.test/last')).status, 403);
    await rowsWith('https://flood.example.test/last').waitFor({ timeout: 60_000 });
    const want = before.violations + N + 1;
    await page.waitForFunction((n) => document.getElementById('t-violations')!.textContent === n.toLocaleString(), want, { timeout: 60_000 });
    const state = await page.evaluate(() => ({ rows: document.querySelectorAll('#rows tr').length, page: document.getElementById('page')!.textContent }));
    assert.ok(state.rows <= 100, `${state.rows} rows drawn`);
    assert.match(state.page ?? '', /of 5,\d{3} shown/, 'the page keeps a bounded number of events');
    // Still responsive: a filter and the pager answer.
    await page.locator('#f-host').fill('flood.example.test');
    await page.locator('#older').click();
    await page.waitForFunction(() => /^101–200 of/.test(document.getElementById('page')!.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => 1 + 1), 2);
    await page.locator('#f-host').fill('');
    await notReloaded();
  });

  it('made no request to another origin, and logged no error', () => {
    const foreign = browser.requests.filter((u) => !u.startsWith(`${w.proxy.adminUrl}/`) && !u.startsWith('data:'));
    assert.deepEqual(foreign, []);
    assert.ok(browser.requests.includes(`${w.proxy.adminUrl}/api/events`));
    assert.deepEqual(browser.errors, []);
  });
});

describe('dashboard and onboarding page of a LAN proxy, in Chromium (a network namespace made by the test)', () => {
  const made = makeNetns();
  const why = skip ?? ('skip' in made ? made.skip : undefined);
  const ns = made as Netns;
  let proxy: ProxyProcess;
  let browser: Browser;
  const shots = tempDir('mgproxy-lan-');

  before(async () => {
    if (why) return;
    proxy = await startProxy({ prefix: ns.prefix, args: ['--host', '0.0.0.0'] });
    // Chromium runs in the namespace too: the admin port is that namespace's 127.0.0.1.
    browser = await launchBrowser((chromium as { path: string }).path, { prefix: ns.prefix });
  });
  after(async () => {
    if (why) return;
    await browser.close();
    await proxy.stop();
    ns.remove();
  });

  it('shows a QR code per LAN address that opens its onboarding page', { skip: why ?? zbarimgMissing() }, async (t) => {
    const page = await browser.newPage({ width: 1366, height: 900 });
    await page.goto(`http://127.0.0.1:${proxy.adminPort}/`);
    await page.locator('#phones .qr svg').nth(1).waitFor({ timeout: 15_000 });
    const decoded: string[] = [];
    for (const [i, qr] of (await page.locator('#phones .qr').all()).entries()) {
      const file = path.join(shots, `dashboard-qr-${i}.png`);
      await qr.screenshot({ path: file });
      decoded.push(...decodeImage(file));
    }
    assert.deepEqual(decoded.sort(), [`http://${SECOND_PRIVATE_ADDRESS}:${proxy.port}/`, `http://${PRIVATE_ADDRESS}:${proxy.port}/`].sort());
    const file = path.join(shots, 'dashboard-lan-laptop.png');
    await page.screenshot({ path: file });
    t.diagnostic(`screenshot: ${file}`);
    assert.deepEqual(browser.errors, []);
  });

  it('opens the onboarding page at the LAN address with no error (CSP included), its QR code readable', { skip: why ?? zbarimgMissing() }, async (t) => {
    const page = await browser.newPage({ width: 390, height: 844 });
    const url = `http://${PRIVATE_ADDRESS}:${proxy.port}/`;
    await page.goto(url);
    assert.equal(await page.locator('#proxy-host').textContent(), PRIVATE_ADDRESS);
    assert.equal(await page.locator('#proxy-port').textContent(), String(proxy.port));
    const qr = path.join(shots, 'onboarding-qr.png');
    await page.locator('.qr').screenshot({ path: qr });
    assert.deepEqual(decodeImage(qr), [url]);
    const file = path.join(shots, 'onboarding-phone.png');
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot: ${file}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 0, 'no sideways scrolling');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.locator('#dl-crt').click()]);
    assert.deepEqual(fs.readFileSync(await download.path()), new X509Certificate(proxy.caPem).raw);
    assert.deepEqual(browser.errors, []);
    const foreign = browser.requests.filter((u) => !u.startsWith(`http://127.0.0.1:${proxy.adminPort}/`) && !u.startsWith(url) && !u.startsWith('data:'));
    assert.deepEqual(foreign, []);
  });
});
