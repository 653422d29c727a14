/**
 * Each platform profile on real sockets (docs/platforms.md): the Referer the upstream receives, the port
 * rule, the refused hosts, the background errMsg, the caps (Douyin mini game 15 + 5 + 5, WeChat 10,
 * Baidu 5 per host), Douyin mini program's plain http in test builds, and several platforms at once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { curl, type Reply } from './helpers/clients.js';
import { assertBlocked, assertEventFields, exchangeLogged, violationsOf } from './helpers/assertions.js';
import { admin, baseConfig, holdAtUpstream, startWorld } from './helpers/fixture.js';
import type { PlatformName } from '../config/platforms.js';

const APPID = 'wx0123456789abcdef';
const REFUSED: Record<string, PlatformName> = { 'api.weixin.qq.com': 'wechat', 'api.q.qq.com': 'qq', 'openapi.baidu.com': 'baidu' };

/**
 * The requests that fill a cap stay at the upstream this long. holdAtUpstream resolves once the last
 * of them arrived, and the first must still be in flight when the one over the cap comes: opening
 * 15 tunnels at once took over 2 s on a loaded 2-core machine (load average 20), hence 4 s.
 */
const SLOW = 'https://api.example.test/slow?ms=4000';

/** Per profile: what the upstream gets as Referer, what :8443 gets, the background errMsg, and the cap to fill (its message). */
const PROFILES: { name: PlatformName; referer: string | null; port: 'pass' | 'refused'; background: string; http: boolean; cap: { n: number; url: string; message: string } }[] = [
  { name: 'tcsas', referer: `https://appservice.wx.com/${APPID}/0/page-frame.html`, port: 'pass', background: 'interrupted', http: false, cap: { n: 10, url: SLOW, message: '127.0.0.1 already has 10 request in flight (max 10)' } },
  { name: 'wechat', referer: `https://servicewechat.com/${APPID}/0/page-frame.html`, port: 'refused', background: 'interrupted', http: false, cap: { n: 10, url: SLOW, message: 'WeChat: 127.0.0.1 already has 10 request in flight (max 10)' } },
  { name: 'qq', referer: `https://appservice.qq.com/${APPID}/0/page-frame.html`, port: 'refused', background: 'interrupted', http: false, cap: { n: 10, url: SLOW, message: 'QQ: 127.0.0.1 already has 10 request in flight (max 10)' } },
  { name: 'douyin-game', referer: `https://tmaservice.developer.toutiao.com?appid=${APPID}&version=0`, port: 'pass', background: 'interrupted', http: false, cap: { n: 15, url: SLOW, message: 'Douyin mini game: 127.0.0.1 already has 15 request in flight (max 15)' } },
  { name: 'douyin-app', referer: `https://tmaservice.developer.toutiao.com/?appid=${APPID}&version=0`, port: 'refused', background: 'app in background', http: true, cap: { n: 10, url: SLOW, message: 'Douyin mini program: 127.0.0.1 already has 10 request in flight (max 10)' } },
  { name: 'baidu', referer: `https://smartapps.cn/${APPID}/0/page-frame.html`, port: 'refused', background: 'interrupted', http: false, cap: { n: 5, url: SLOW, message: 'Baidu on Android: 127.0.0.1 already has 5 request in flight to api.example.test (max 5 per host)' } },
  { name: 'taptap', referer: null, port: 'pass', background: 'interrupted', http: false, cap: { n: 10, url: SLOW, message: 'TapTap mini game: 127.0.0.1 already has 10 request in flight (max 10)' } },
];

/** The test world, plus a plain-HTTP upstream for http://api.example.test (port 80 mapped to it). */
const worldOf = (extra: Record<string, unknown>, request: string[] = [], plainPort?: number) => startWorld({
  config: (a, r) => {
    const base = baseConfig(a, r, extra);
    if (plainPort !== undefined) (base.upstream.hosts as Record<string, string>)['api.example.test:80'] = `127.0.0.1:${plainPort}`;
    return { ...base, domains: { ...base.domains, request: [...base.domains.request, ...request] } };
  },
});

const times = (n: number, url: string) => Array.from({ length: n }, () => url);

async function plainUpstream(): Promise<{ port: number; close(): void }> {
  const plain = http.createServer((_req, res) => res.end('plain ok'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  return { port: (plain.address() as { port: number }).port, close: () => plain.close() };
}

describe('each platform profile', { concurrency: 2 }, () => {
  let plain: Awaited<ReturnType<typeof plainUpstream>>;
  before(async () => { plain = await plainUpstream(); });
  after(() => plain.close());

  for (const p of PROFILES) {
    it(`${p.name}: Referer, port rule, refused hosts, plain http, background errMsg, cap`, async () => {
      const w = await worldOf({ platform: p.name }, Object.keys(REFUSED).map((h) => `https://${h}`), plain.port);
      try {
        await w.fetch('https://api.example.test/echo', { headers: { referer: 'https://evil.example/page' } });
        assert.equal(w.upstream.seen.at(-1)!.headers.referer, p.referer ?? 'https://evil.example/page', 'the Referer the upstream got');
        if (p.referer === null) {
          await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://api.example.test/echo');
          assert.equal(w.proxy.violations().filter((l) => l.rule === 'referer-mismatch').length, 0, 'not checked');
        } else {
          const [line] = await violationsOf(w.proxy, 'referer-mismatch');
          assertEventFields(line!, { action: 'rewritten', platform: p.name });
        }

        const ported = await w.fetch('https://api.example.test:8443/bytes/2');
        if (p.port === 'pass') assert.equal(ported.status, 200);
        else assertBlocked(ported, 403, 'port-not-allowed', 'request:fail url not in domain list');

        for (const [host, by] of Object.entries(REFUSED)) {
          const r = await w.fetch(`https://${host}/bytes/2`);
          if (by === p.name) assertBlocked(r, 403, 'host-refused', 'request:fail url not in domain list');
          else assert.equal(r.status, 200, host);
        }

        // version "0" is a test build: only Douyin's mini program lets plain http through.
        const text = (await curl(['-x', w.proxy.url, '-D', '-', 'http://api.example.test/x'])).stdout.toString();
        if (p.http) assert.match(text, /^HTTP\/1\.1 200[\s\S]*plain ok$/);
        else assert.match(text, /^HTTP\/1\.1 403[\s\S]*x-mgproxy-rule: insecure-scheme/);

        await admin(w.proxy, 'POST', '/api/background', { background: true });
        assertBlocked(await w.fetch('https://api.example.test/bytes/1'), 403, 'background-call', `request:fail ${p.background}`);
        await admin(w.proxy, 'POST', '/api/background', { background: false });

        // One over the platform's request cap waits for a place (the default overflow "queue"), then passes.
        const held = await holdAtUpstream(w, times(p.cap.n, p.cap.url));
        assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
        const [line] = await violationsOf(w.proxy, 'concurrency-queued', { url: 'https://api.example.test/bytes/1' });
        assertEventFields(line!, { action: 'queued', platform: p.name });
        assert.ok((line!.message as string).startsWith(`${p.cap.message}: waited `), line!.message as string);
        for (const r of await Promise.all(held)) assert.equal((r as Reply).status, 200);
      } finally {
        await w.close();
      }
    });
  }
});

describe('caps per platform', () => {
  it('douyin-game: uploadFile and downloadFile have caps of their own (5) beside request\'s 15; the 6th download waits', async () => {
    const w = await worldOf({ platform: 'douyin-game' });
    try {
      const held = await holdAtUpstream(w, [...times(15, SLOW), ...times(5, 'https://cdn.example.test/slow?ms=4000')]);
      assert.equal((await w.fetch('https://cdn.example.test/bytes/1')).status, 200, 'the 6th download waits, then passes');
      const [line] = await violationsOf(w.proxy, 'concurrency-queued', { url: 'https://cdn.example.test/bytes/1' });
      assert.match(line!.message as string, /^Douyin mini game: 127\.0\.0\.1 already has 5 downloadFile in flight \(max 5\): waited /);
      await Promise.all(held);
    } finally {
      await w.close();
    }
  });

  it('baidu: the cap is per host, 6 on iOS (the 7th to one host waits, another host passes)', async () => {
    const w = await worldOf({ platform: 'baidu', device: 'ios' }, ['https://evil.example.test']);
    try {
      const held = await holdAtUpstream(w, times(6, SLOW));
      assert.equal((await w.fetch('https://evil.example.test/bytes/1')).status, 200, 'another host passes');
      await exchangeLogged(w.proxy, 'https://evil.example.test/bytes/1');
      assert.equal(w.proxy.violations().filter((l) => String(l.rule).startsWith('concurrency-')).length, 0, 'another host has places of its own');
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200, 'the 7th to one host waits, then passes');
      const [line] = await violationsOf(w.proxy, 'concurrency-queued');
      assert.match(line!.message as string, /^Baidu on iOS: 127\.0\.0\.1 already has 6 request in flight to api\.example\.test \(max 6 per host\): waited /);
      await Promise.all(held);
    } finally {
      await w.close();
    }
  });

  it('["douyin-game", "wechat"]: the 11th request passes at once (Douyin allows 15) and WeChat\'s wait is reported', async () => {
    const w = await worldOf({ platform: ['douyin-game', 'wechat'] });
    try {
      const held = await holdAtUpstream(w, times(10, SLOW));
      const t0 = Date.now();
      assert.equal((await w.fetch('https://api.example.test/bytes/11')).status, 200);
      assert.ok(Date.now() - t0 < 3000, 'it did not wait for the 4 s requests');
      const [line] = await violationsOf(w.proxy, 'concurrency-queued');
      assertEventFields(line!, { action: 'reported', platform: 'wechat', queuedMs: 0, message: 'WeChat: 127.0.0.1 already has 10 request in flight (max 10): a device holds the call until a place frees' });
      assert.deepEqual(line!.platforms, ['wechat']);
      await Promise.all(held);
    } finally {
      await w.close();
    }
  });
});

describe('douyin-app: plain http only in test builds', () => {
  it('a release build (version "3") refuses http://; with ["douyin-app", "wechat"] a test build forwards it, reported for WeChat', async () => {
    const plain = await plainUpstream();
    try {
      const release = await worldOf({ platform: 'douyin-app', version: '3' }, [], plain.port);
      try {
        const text = (await curl(['-x', release.proxy.url, '-D', '-', 'http://api.example.test/x'])).stdout.toString();
        assert.match(text, /^HTTP\/1\.1 403[\s\S]*x-mgproxy-rule: insecure-scheme/);
      } finally {
        await release.close();
      }
      const both = await worldOf({ platform: ['douyin-app', 'wechat'] }, [], plain.port);
      try {
        const text = (await curl(['-x', both.proxy.url, '-D', '-', 'http://api.example.test/x'])).stdout.toString();
        assert.match(text, /^HTTP\/1\.1 200[\s\S]*plain ok$/);
        const [line] = await violationsOf(both.proxy, 'insecure-scheme');
        assertEventFields(line!, { action: 'reported', platform: 'wechat' });
        assert.deepEqual(line!.platforms, ['wechat']);
      } finally {
        await both.close();
      }
    } finally {
      plain.close();
    }
  });
});
