/**
 * Chromium through the proxy, the way a WebView game sees it: Debian's chromium, headless,
 * `--proxy-server` at mgproxy, the mgproxy CA trusted in the NSS db of its HOME and no flag that
 * loosens certificate checks, so Chromium's own strict X.509 parser judges every leaf. From the page:
 * an HTTPS page loads, fetch() to an allowed cross-origin API is byte-exact, fetch() to a blocked
 * host reads the 403, its errMsg and x-mgproxy-rule (CORS, also through a preflight), and a
 * WebSocket to a wss echo host gets its frames back.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, findChromium, homeTrusting, launchBrowser } from './helpers/browser.js';
import { ensureDebianTool } from './helpers/debian.js';
import { baseConfig, HOSTS } from './helpers/fixture.js';
import { TestPki } from './helpers/pki.js';
import { startProxy, tempDir, type ProxyProcess } from './helpers/proxy.js';
import { patternSha256, startUpstream, type Upstream } from './helpers/upstreams.js';

const PAGE_HOST = 'cdn.example.test';
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>mini game H5</title></head><body>game</body></html>`;
const API_BYTES = 300_000;

const chromium = findChromium();
const certutil = ensureDebianTool('certutil', 'libnss3-tools');
const skip = 'skip' in chromium ? chromium.skip : 'skip' in certutil ? certutil.skip : undefined;

describe('Chromium through the proxy, trusting the mgproxy CA', { skip }, () => {
  let pki: TestPki;
  let upstream: Upstream;
  let proxy: ProxyProcess;
  let browser: Browser;
  let page: Page;
  let home: string;
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: HOSTS });
    upstream = await startUpstream({
      cert: pki.chain(leaf), key: leaf.keyPem,
      handle: (req, res) => {
        const origin = req.headers.origin;
        // The real API allows the game's origin, as a backend serving an H5 build does.
        if (origin) { res.setHeader('access-control-allow-origin', origin); res.setHeader('vary', 'origin'); }
        if (req.headers.host === PAGE_HOST && req.url === '/game.html') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(PAGE);
          return true;
        }
        return false;
      },
    });
    proxy = await startProxy({ config: baseConfig(upstream.address, pki.rootFile) });
    home = homeTrusting((certutil as { path: string }).path, proxy.caFile);
    browser = await launchBrowser((chromium as { path: string }).path, {
      args: [`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>'],
      env: { ...process.env, HOME: home },
    });
    page = await browser.newPage();
    const r = await page.goto(`https://${PAGE_HOST}/game.html`, { timeout: 30_000 });
    assert.equal(r?.status(), 200);
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await upstream?.close();
    pki?.cleanup();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('loads an HTTPS page: its leaf parsed and verified by Chromium, no certificate flag', async () => {
    assert.equal(await page.title(), 'mini game H5');
    assert.equal(page.url(), `https://${PAGE_HOST}/game.html`);
  });

  it('fetch() to an allowed cross-origin API gets the body byte-exact', async () => {
    const got = await page.evaluate(async (n) => {
      const r = await fetch(`https://api.example.test/bytes/${n}`);
      const digest = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
      return { status: r.status, sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') };
    }, API_BYTES);
    assert.deepEqual(got, { status: 200, sha256: patternSha256(API_BYTES) });
  });

  it('fetch() to a blocked host reads the 403, its errMsg and x-mgproxy-rule', async () => {
    const got = await page.evaluate(async () => {
      const r = await fetch('https://evil.example.test/steal');
      return { status: r.status, rule: r.headers.get('x-mgproxy-rule'), body: await r.json() as { errMsg: string } };
    });
    assert.deepEqual([got.status, got.rule, got.body.errMsg], [403, 'domain-not-allowed', 'request:fail url not in domain list']);
  });

  it('a fetch() that needs a preflight (PUT, JSON) to a blocked host reads its 403 too; the preflight records no event', async () => {
    const got = await page.evaluate(async () => {
      const r = await fetch('https://evil.example.test/put', { method: 'PUT', headers: { 'content-type': 'application/json', 'x-game': '1' }, body: '{}' });
      return { status: r.status, rule: r.headers.get('x-mgproxy-rule'), body: await r.json() as { errMsg: string } };
    });
    assert.deepEqual([got.status, got.rule, got.body.errMsg], [403, 'domain-not-allowed', 'request:fail url not in domain list']);
    // Both exchanges' own lines: the PUT's violation is logged before its exchange line, and log lines may leave late.
    for (const method of ['OPTIONS', 'PUT']) await proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://evil.example.test/put' && l.method === method);
    const events = proxy.violations().filter((v) => v.url === 'https://evil.example.test/put');
    assert.deepEqual(events.map((v) => v.method), ['PUT']);
  });

  it('a WebSocket to a wss echo host gets its frames back', async () => {
    const got = await page.evaluate(() => new Promise<string[]>((resolve, reject) => {
      const ws = new WebSocket('wss://ws.example.test/echo');
      ws.binaryType = 'arraybuffer';
      const back: string[] = [];
      const timer = setTimeout(() => reject(new Error(`timed out with ${JSON.stringify(back)}`)), 15_000);
      ws.onopen = () => { ws.send('hello from the game'); ws.send(new Uint8Array([1, 2, 3, 250])); };
      ws.onmessage = (m) => {
        back.push(typeof m.data === 'string' ? m.data : [...new Uint8Array(m.data as ArrayBuffer)].join(','));
        if (back.length === 2) { clearTimeout(timer); ws.close(); resolve(back); }
      };
      ws.onerror = () => { clearTimeout(timer); reject(new Error('WebSocket error')); };
    }));
    assert.deepEqual(got, ['hello from the game', '1,2,3,250']);
  });

  it('without the CA in its NSS db, Chromium refuses the same page (the trust is what makes it load)', async () => {
    const bare = await launchBrowser((chromium as { path: string }).path, {
      args: [`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>'],
      env: { ...process.env, HOME: tempDir('mgproxy-home-') },
    });
    try {
      const p = await bare.newPage();
      await assert.rejects(p.goto(`https://${PAGE_HOST}/game.html`, { timeout: 30_000 }), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await bare.close();
    }
  });
});
