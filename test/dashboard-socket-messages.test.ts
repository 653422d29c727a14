/**
 * A socket's live message list in headless Chromium (docs/dashboard.md): the socket is opened before the
 * dashboard (its later messages must still show: the proxy joins it at the next message), listed
 * while open, and its messages stream into the open details. With 100,000 messages the page stays
 * responsive: the list is virtualised (a bounded number of rows in the DOM), a redraw takes well
 * under a second, and the newest message is reachable by scrolling to the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type WebSocket from 'ws';
import { type Browser, findChromium, openDashboard } from './helpers/browser.js';
import { openWs } from './helpers/clients.js';
import { startWorld, type World } from './helpers/fixture.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any;

const chromium = findChromium();
const skip = 'skip' in chromium ? chromium.skip : undefined;

/** Resolves once `ws` has had `n` more messages (or rejects after `ms`). */
function echoes(ws: WebSocket, n: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const limit = setTimeout(() => { ws.off('message', on); reject(new Error(`${got} of ${n} echoes in ${ms} ms`)); }, ms);
    const on = () => { if (++got === n) { clearTimeout(limit); ws.off('message', on); resolve(); } };
    ws.on('message', on);
  });
}

const msgState = (page: Page) => page.evaluate(() => {
  const scroll = document.getElementById('msg-scroll');
  return {
    rows: document.querySelectorAll('.msg-row').length, count: document.querySelector('.msg-count')?.textContent ?? '',
    drawMs: window.mgproxyMsgDrawMs as number, height: scroll.scrollHeight as number, top: scroll.scrollTop as number,
  };
});

describe('socket messages in the dashboard, in headless Chromium', { skip, timeout: 300_000 }, () => {
  let w: World;
  let browser: Browser;
  let page: Page;
  let ws: WebSocket;

  before(async () => {
    w = await startWorld();
    // The game opened its socket before anyone looked.
    ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/game');
    const first = echoes(ws, 1, 10_000);
    ws.send('before the dashboard');
    await first;
    ({ browser, page } = await openDashboard((chromium as { path: string }).path, w.proxy.adminUrl));
  });
  after(async () => {
    ws?.terminate();
    await browser?.close();
    await w?.close();
  });

  it('lists the open socket; its later messages stream into its details', async () => {
    const row = page.locator('.ex-row', { hasText: 'wss://ws.example.test/game' });
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.textContent() ?? '', /101.*open/);
    await row.click();
    await page.locator('#msg-scroll').waitFor({ timeout: 10_000 });
    const echoed = echoes(ws, 1, 10_000);
    ws.send('after the dashboard');
    await echoed;
    await page.locator('.msg-row.msg-send', { hasText: 'after the dashboard' }).waitFor({ timeout: 10_000 });
    await page.locator('.msg-row.msg-receive', { hasText: 'after the dashboard' }).waitFor({ timeout: 10_000 });
    // Before the dashboard, nobody observed: that message is not there.
    assert.equal(await page.locator('.msg-row', { hasText: 'before the dashboard' }).count(), 0);
    assert.match(await page.locator('.msg-row.msg-send').first().textContent() ?? '', /↑\s*\d\d:\d\d:\d\d\.\d{3}\s*text\s*19 B\s*after the dashboard/);
    // A click shows the whole message.
    await page.locator('.msg-row.msg-send').first().click();
    assert.match(await page.locator('#msg-full').textContent() ?? '', /sent at .*text, 19 B[\s\S]*after the dashboard/);
  });

  it('keeps up with 100,000 messages: a bounded number of rows drawn, the newest reachable at the end', async (t) => {
    const N = 55_000; // sent and echoed: 110,000 messages, past the page's 100,000
    const all = echoes(ws, N, 180_000);
    for (let i = 0; i < N; i++) ws.send(`flood ${i}`);
    await all;
    // Following the newest: the last echo shows without scrolling.
    await page.locator('.msg-row.msg-receive', { hasText: `flood ${N - 1}` }).waitFor({ timeout: 60_000 });
    let s = await msgState(page);
    t.diagnostic(`rows in the DOM ${s.rows}; ${s.count}; last redraw ${s.drawMs.toFixed(1)} ms`);
    assert.ok(s.rows <= 40, `${s.rows} rows in the DOM`);
    assert.ok(s.drawMs < 1000, `a redraw took ${s.drawMs} ms`);
    const m = /messages: ([\d,]+) shown(?: \(([\d,]+) older left the page)?/.exec(s.count);
    assert.ok(m, s.count);
    const shown = Number(m[1]!.replace(/,/g, '')), dropped = Number((m[2] ?? '0').replace(/,/g, ''));
    assert.equal(shown + dropped, 2 + 2 * N, 'every message reached the page');
    assert.ok(shown >= 100_000 && shown <= 105_000, `${shown} kept on the page`);
    // Scrolled up, the list stays put while messages arrive; the start of what is kept is there.
    await page.evaluate(() => { document.getElementById('msg-scroll').scrollTop = 0; });
    await page.waitForFunction(() => /flood \d+/.test(document.querySelector('.msg-row')?.textContent ?? ''), undefined, { timeout: 5000 });
    const more = echoes(ws, 1, 10_000);
    ws.send('while scrolled up');
    await more;
    // Both of its messages are on the page (shown + left the page counts them), drawn while scrolled up.
    await page.waitForFunction((total) => {
      const c = /messages: ([\d,]+) shown(?: \(([\d,]+) older)?/.exec(document.querySelector('.msg-count').textContent);
      return c !== null && Number(c[1].replace(/,/g, '')) + Number((c[2] ?? '0').replace(/,/g, '')) === total;
    }, 4 + 2 * N, { timeout: 10_000 });
    s = await msgState(page);
    assert.ok(s.top < 100, `still near the top (${s.top} px)`);
    // Scrolling to the end shows the newest message.
    const t0 = Date.now();
    await page.evaluate(() => { const e = document.getElementById('msg-scroll'); e.scrollTop = e.scrollHeight; });
    await page.locator('.msg-row.msg-receive', { hasText: 'while scrolled up' }).waitFor({ timeout: 10_000 });
    t.diagnostic(`scrolled to the end and drew the newest in ${Date.now() - t0} ms`);
    s = await msgState(page);
    assert.ok(s.rows <= 40, `${s.rows} rows in the DOM at the end`);
  });

  it('made no request to another origin, and logged no error', () => {
    assert.deepEqual(browser.requests.filter((u) => !u.startsWith(`${w.proxy.adminUrl}/`) && !u.startsWith('data:')), []);
    assert.deepEqual(browser.errors, []);
  });
});
