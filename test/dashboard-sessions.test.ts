/**
 * The dashboard's per-client views in headless Chromium (docs/dashboard.md): named clients by name, the
 * exchange list (virtualised) and an exchange's details with its socket messages, the in-flight
 * timeline with a `concurrency-queued` marker listing the 10 exchanges in flight when the 11th
 * came and had to wait, and a page that keeps up with 10,000 exchanges. Screenshots at phone and laptop widths.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, findChromium, openDashboard } from './helpers/browser.js';
import { openWs, tunnelAgent, viaProxy } from './helpers/clients.js';
import { startWorld, type World } from './helpers/fixture.js';
import { tempDir } from './helpers/proxy.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any;

const chromium = findChromium();
const skip = 'skip' in chromium ? chromium.skip : undefined;

describe('dashboard per client, in headless Chromium', { skip, timeout: 300_000 }, () => {
  let w: World;
  let browser: Browser;
  let page: Page;
  const shots = tempDir('mgproxy-sessions-');

  before(async () => {
    w = await startWorld({ proxy: { args: ['--client-name', '127.0.0.1=laptop'] } });
    ({ browser, page } = await openDashboard((chromium as { path: string }).path, w.proxy.adminUrl));
  });
  after(async () => {
    await browser?.close();
    await w?.close();
  });

  it('shows a named client by its name, in the client filter and the violations', async () => {
    assert.equal((await w.fetch('https://evil.example.test/named')).status, 403);
    await page.locator('#rows tr', { hasText: '/named' }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#rows tr', { hasText: '/named' }).textContent() ?? '', /laptop \(127\.0\.0\.1\)/);
    await page.locator('#f-client option', { hasText: 'laptop (127.0.0.1)' }).waitFor({ state: 'attached', timeout: 5000 });
    await page.locator('#f-client').selectOption('127.0.0.1');
    await page.locator('#tl-client', { hasText: 'laptop (127.0.0.1)' }).waitFor({ timeout: 5000 });
  });

  it('marks a call that waited for a place (concurrency-queued) on the timeline; the marker lists the 10 in flight', async () => {
    const slow = Array.from({ length: 10 }, (_, i) => w.fetch(`https://api.example.test/slow?ms=3000&n=${i}`));
    // The 11th, once the 10 are in flight: it waits for a place (the default overflow "queue"), then passes.
    await page.locator('#load-rows tr', { hasText: '10/10' }).waitFor({ timeout: 10_000 });
    const eleventh = await w.fetch('https://api.example.test/echo?eleventh');
    assert.equal(eleventh.status, 200);
    await page.locator('.tl-marker.tl-queued').first().waitFor({ timeout: 10_000 });
    await page.locator('.tl-marker.tl-queued').first().dispatchEvent('click');
    await page.locator('#tl-detail li').first().waitFor({ timeout: 5000 });
    const items = await page.locator('#tl-detail li').allTextContents();
    assert.equal(items.length, 10);
    for (let i = 0; i < 10; i++) assert.ok(items.some((t) => t.includes(`/slow?ms=3000&n=${i}`)), `n=${i} listed`);
    assert.ok(items.every((t) => /\(since \d\d:\d\d:\d\d\)$/.test(t)), `each holder with its start, the one whose end freed the place too: ${items.join(' | ')}`);
    assert.match(await page.locator('#tl-detail h3').textContent() ?? '', /concurrency-queued .*request .*eleventh waited \d+ ms/);
    // Each API is drawn against its own cap: one dashed line for the three HTTP APIs' 10, one for the sockets' 5.
    assert.deepEqual((await page.locator('#tl-svg text', { hasText: 'cap ' }).allTextContents()).sort(), ['cap 10: request, uploadFile, downloadFile', 'cap 5: socket']);
    for (const r of await Promise.all(slow)) assert.equal(r.status, 200);
    // The waterfall draws a bar pair per exchange.
    await page.waitForFunction(() => document.querySelectorAll('#wf-svg rect').length >= 22, undefined, { timeout: 10_000 });
  });

  it('lists exchanges; opening a socket shows its messages', async () => {
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/chat');
    const echoed = new Promise((r) => ws.once('message', r));
    ws.send('hello from the game');
    await echoed;
    const closed = new Promise((r) => ws.once('close', r));
    ws.close(1000, 'done');
    await closed;
    const row = page.locator('.ex-row', { hasText: 'wss://ws.example.test/chat' });
    await row.waitFor({ timeout: 10_000 });
    await row.click();
    await page.locator('#ex-detail .msg-send', { hasText: 'hello from the game' }).waitFor({ timeout: 5000 });
    await page.locator('#ex-detail .msg-receive', { hasText: 'hello from the game' }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#ex-detail').textContent() ?? '', /request headers[\s\S]*upgrade: websocket/i);
  });

  it('keeps up with 10,000 exchanges: few rows drawn, a redraw well under a second', async (t) => {
    const N = 10_000, LANES = 4;
    await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
      const agent = tunnelAgent(w.proxy.url, w.proxy.caPem, true);
      try {
        for (let i = lane; i < N; i += LANES) {
          const r = await viaProxy(w.proxy.url, w.proxy.caPem, `https://api.example.test/echo?flood=${i}`, { agent: agent as unknown as https.Agent });
          assert.equal(r.status, 200);
        }
      } finally {
        agent.destroy();
      }
    }));
    assert.equal((await w.fetch('https://api.example.test/echo?last')).status, 200);
    await page.locator('.ex-row', { hasText: 'echo?last' }).waitFor({ timeout: 60_000 });
    const state = await page.evaluate(() => ({ rows: document.querySelectorAll('.ex-row').length, count: document.getElementById('ex-count').textContent, drawMs: window.mgproxyDrawMs }));
    t.diagnostic(`drawn rows ${state.rows}, ${state.count}, last redraw ${state.drawMs.toFixed(1)} ms`);
    assert.ok(state.rows <= 40, `${state.rows} rows drawn`);
    assert.match(state.count ?? '', /^10,\d{3} exchanges/);
    assert.ok(state.drawMs < 1000, `a redraw took ${state.drawMs} ms`);
    // Still responsive: the filter answers.
    await page.locator('#f-exchange').fill('flood=9999');
    await page.waitForFunction(() => /^1 exchanges/.test(document.getElementById('ex-count').textContent), undefined, { timeout: 10_000 });
    await page.locator('#f-exchange').fill('');
  });

  it('reads well at phone and laptop widths (screenshots)', async (t) => {
    for (const [name, viewport] of [['phone', { width: 390, height: 844 }], ['laptop', { width: 1366, height: 900 }]] as const) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(300);
      const file = path.join(shots, `sessions-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e: any) => e.getBoundingClientRect().right > window.innerWidth + 0.5).slice(-5).map((e: any) => `${e.tagName}#${e.id}.${e.className}`));
      assert.ok(overflow <= 0, `${name}: ${overflow} px wider than the screen: ${wide.join(', ')}`);
    }
  });

  it('made no request to another origin, and logged no error', () => {
    assert.deepEqual(browser.requests.filter((u) => !u.startsWith(`${w.proxy.adminUrl}/`) && !u.startsWith('data:')), []);
    assert.deepEqual(browser.errors, []);
  });
});
