/**
 * Chromium through the proxy over HTTP/2 (docs/http2.md): Debian's chromium, headless, trusting
 * the mgproxy CA in its NSS db, in front of an origin that speaks h2 only. The page and a fetch()
 * from it go over h2 (the Resource Timing entries' `nextHopProtocol` is `h2`) and are byte-exact;
 * the proxy's own 403 reaches the page over h2 with its CORS headers; a WebSocket from the same page
 * goes over HTTP/1.1 and echoes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, findChromium, homeTrusting, launchBrowser } from './helpers/browser.js';
import { ensureDebianTool } from './helpers/debian.js';
import { baseConfig } from './helpers/fixture.js';
import { startH2Origin, type H2Origin } from './helpers/h2-origin.js';
import { TestPki } from './helpers/pki.js';
import { startProxy, type ProxyProcess } from './helpers/proxy.js';
import { patternSha256, startUpstream, type Upstream } from './helpers/upstreams.js';

const H2_HOST = 'h2.example.test';
const DL_HOST = 'dl.example.test';
const BYTES = 300_000;

const chromium = findChromium();
const certutil = ensureDebianTool('certutil', 'libnss3-tools');
const skip = 'skip' in chromium ? chromium.skip : 'skip' in certutil ? certutil.skip : undefined;

describe('Chromium through the proxy over HTTP/2', { skip }, () => {
  let pki: TestPki;
  let h1: Upstream;
  let h2: H2Origin;
  let proxy: ProxyProcess;
  let browser: Browser;
  let page: Page;
  let home: string;
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [H2_HOST, DL_HOST, 'ws.example.test', 'api.example.test'] });
    h1 = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem });
    h2 = await startH2Origin({ cert: pki.chain(leaf), key: leaf.keyPem });
    const config = baseConfig(h1.address, pki.rootFile) as ReturnType<typeof baseConfig> & { domains: Record<string, string[]> };
    config.domains.request.push(`https://${H2_HOST}`);
    config.domains.downloadFile.push(`https://${DL_HOST}`);
    Object.assign(config.upstream.hosts, { [H2_HOST]: h2.address, [DL_HOST]: h2.address });
    proxy = await startProxy({ config });
    home = homeTrusting((certutil as { path: string }).path, proxy.caFile);
    browser = await launchBrowser((chromium as { path: string }).path, {
      args: [`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>'],
      env: { ...process.env, HOME: home },
    });
    page = await browser.newPage();
    const r = await page.goto(`https://${H2_HOST}/game.html`, { timeout: 30_000 });
    assert.equal(r?.status(), 200);
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await h1?.close();
    await h2?.close();
    pki?.cleanup();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('loads the page over h2 (its navigation entry\'s nextHopProtocol), and the proxy logs it as h2', async () => {
    assert.equal(await page.title(), 'mini game H5 over h2');
    const protocol = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol);
    assert.equal(protocol, 'h2');
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.url === `https://${H2_HOST}/game.html`);
    assert.deepEqual([line.protocol, line.upstreamAlpn], ['h2', 'h2']);
  });

  it('fetch() over h2 gets the body byte-exact; its resource entry says h2', async () => {
    const got = await page.evaluate(async (n) => {
      const url = `/bytes/${n}`;
      const r = await fetch(url);
      const digest = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
      const entry = performance.getEntriesByType('resource').find((e) => e.name.endsWith(url)) as PerformanceResourceTiming | undefined;
      return { status: r.status, protocol: entry?.nextHopProtocol, sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') };
    }, BYTES);
    assert.deepEqual(got, { status: 200, protocol: 'h2', sha256: patternSha256(BYTES) });
  });

  it('the proxy\'s 403 reaches the page over h2, readable (CORS): a POST to a host listed only under downloadFile', async () => {
    const got = await page.evaluate(async (host) => {
      const r = await fetch(`https://${host}/submit`, { method: 'POST', body: 'score=1' });
      return { status: r.status, rule: r.headers.get('x-mgproxy-rule'), body: await r.json() as { errMsg: string } };
    }, DL_HOST);
    assert.deepEqual([got.status, got.rule, got.body.errMsg], [403, 'domain-not-allowed', 'request:fail url not in domain list']);
    const v = await proxy.waitFor((l) => l.msg === 'violation' && l.url === `https://${DL_HOST}/submit`);
    assert.equal(v.protocol, 'h2');
    assert.equal(h2.seen.filter((s) => s.url === '/submit').length, 0);
  });

  it('a WebSocket from the h2 page goes over HTTP/1.1 and echoes', async () => {
    const got = await page.evaluate(() => new Promise<string>((resolve, reject) => {
      const ws = new WebSocket('wss://ws.example.test/echo');
      const timer = setTimeout(() => reject(new Error('timed out')), 15_000);
      ws.onopen = () => ws.send('hello over h1');
      ws.onmessage = (m) => { clearTimeout(timer); ws.close(); resolve(String(m.data)); };
      ws.onerror = () => { clearTimeout(timer); reject(new Error('WebSocket error')); };
    }));
    assert.equal(got, 'hello over h1');
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.api === 'connectSocket');
    assert.equal(line.protocol, 'http/1.1');
  });
});
