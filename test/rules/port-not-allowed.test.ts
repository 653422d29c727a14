/**
 * `port-not-allowed` (docs/platforms.md): the port rule of each platform on real requests. An explicit port
 * is the one the client wrote in the Host header (or the absolute-form URL), not the CONNECT's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readAll, tlsTunnel } from '../helpers/clients.js';
import { assertBlocked, assertEventFields, violationsOf } from '../helpers/assertions.js';
import { baseConfig, startWorld, type World } from '../helpers/fixture.js';

/** One request inside a tunnel to api.example.test:443 with exactly this Host header; the status the client gets. */
async function withHost(w: World, host: string): Promise<number> {
  const s = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
  s.write(`GET /bytes/3 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const reply = (await readAll(s)).toString('latin1');
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1]);
}

const worldOf = (extra: Record<string, unknown>) => startWorld({ config: (a, r) => baseConfig(a, r, extra) });

describe('port-not-allowed', () => {
  let tcsas: World;
  let wechat: World;
  before(async () => { [tcsas, wechat] = await Promise.all([worldOf({}), worldOf({ platform: 'wechat' })]); });
  after(async () => { await Promise.all([tcsas.close(), wechat.close()]); });

  it('tcsas (any port): https://api.example.test:8443/ passes', async () => {
    const r = await tcsas.fetch('https://api.example.test:8443/bytes/4');
    assert.equal(r.status, 200);
    assert.equal(await withHost(tcsas, 'api.example.test:443'), 200);
    await tcsas.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://api.example.test:8443/bytes/4');
    assert.equal(tcsas.proxy.violations().length, 0);
  });

  it('wechat (exact): a domain listed without a port refuses :8443 with 403 and the errMsg; the upstream never sees it', async () => {
    const seen = wechat.upstream.seen.length;
    const r = await wechat.fetch('https://api.example.test:8443/bytes/4');
    assertBlocked(r, 403, 'port-not-allowed', 'request:fail url not in domain list');
    assert.equal(wechat.upstream.seen.length, seen);
    const [line] = await violationsOf(wechat.proxy, 'port-not-allowed', { url: 'https://api.example.test:8443/bytes/4' });
    assertEventFields(line!, {
      severity: 'error', api: 'request', host: 'api.example.test', action: 'blocked', platform: 'wechat',
      message: 'WeChat takes the port exactly: domains.request lists api.example.test, not :8443',
    });
    assert.deepEqual(line!.platforms, ['wechat']);
  });

  it('wechat: not even :443 in the Host header; the same tunnel without a port passes', async () => {
    assert.equal(await withHost(wechat, 'api.example.test:443'), 403);
    assert.equal(await withHost(wechat, 'api.example.test'), 200);
    assert.equal((await wechat.fetch('https://api.example.test/bytes/2')).status, 200);
  });

  it('wechat: a WebSocket with a port gets the HTTP error instead of a 101', async () => {
    const s = await tlsTunnel(wechat.proxy.port, 'ws.example.test', 8443, wechat.proxy.caPem);
    s.write('GET /sock HTTP/1.1\r\nHost: ws.example.test:8443\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const reply = (await readAll(s)).toString('latin1');
    assert.match(reply, /^HTTP\/1\.1 403 /);
    assert.match(reply, /x-mgproxy-rule: port-not-allowed/);
    assert.match(reply, /"errMsg":"connectSocket:fail url not in domain list"/);
  });
});

describe('port-not-allowed: a domain listed with a port, and platforms with no port', () => {
  it('wechat: a domain listed with :8443 allows exactly that port, and refuses the URL without one', async () => {
    const w = await startWorld({ config: (a, r) => ({ ...baseConfig(a, r, { platform: 'wechat' }), domains: { request: ['https://api.example.test:8443'] } }) });
    try {
      assert.equal((await w.fetch('https://api.example.test:8443/bytes/1')).status, 200);
      assertBlocked(await w.fetch('https://api.example.test/bytes/1'), 403, 'port-not-allowed', 'request:fail url not in domain list');
      assertBlocked(await w.fetch('https://api.example.test:9443/bytes/1'), 403, 'port-not-allowed', 'request:fail url not in domain list');
      const lines = await violationsOf(w.proxy, 'port-not-allowed', { count: 2 });
      assert.equal(lines[0]!.message, 'WeChat takes the port exactly: domains.request lists api.example.test:8443, the URL has no port');
    } finally {
      await w.close();
    }
  });

  it('baidu (none): any explicit port is refused, none passes', async () => {
    const w = await worldOf({ platform: 'baidu' });
    try {
      assertBlocked(await w.fetch('https://api.example.test:8443/bytes/1'), 403, 'port-not-allowed', 'request:fail url not in domain list');
      assert.equal(await withHost(w, 'api.example.test:443'), 403);
      assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
      const [line] = await violationsOf(w.proxy, 'port-not-allowed');
      assert.equal(line!.message, 'Baidu allows no port in a URL (:8443)');
    } finally {
      await w.close();
    }
  });
});

describe('port-not-allowed with several platforms', () => {
  it('["tcsas", "wechat"]: breaking only WeChat\'s rule is forwarded with one platform:"wechat" event', async () => {
    const w = await worldOf({ platform: ['tcsas', 'wechat'] });
    try {
      const r = await w.fetch('https://api.example.test:8443/bytes/9');
      assert.equal(r.status, 200);
      assert.equal(w.upstream.seen.at(-1)?.url, '/bytes/9');
      await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://api.example.test:8443/bytes/9');
      const lines = w.proxy.violations();
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assertEventFields(lines[0]!, { rule: 'port-not-allowed', action: 'reported', platform: 'wechat' });
      assert.deepEqual(lines[0]!.platforms, ['wechat']);
    } finally {
      await w.close();
    }
  });

  it('["wechat", "baidu"]: a port both refuse is one blocked event naming both', async () => {
    const w = await worldOf({ platform: ['wechat', 'baidu'] });
    try {
      assertBlocked(await w.fetch('https://api.example.test:8443/bytes/9'), 403, 'port-not-allowed', 'request:fail url not in domain list');
      const lines = await violationsOf(w.proxy, 'port-not-allowed');
      assert.equal(lines.length, 1);
      assertEventFields(lines[0]!, { action: 'blocked', platform: 'wechat', message: 'WeChat takes the port exactly: domains.request lists api.example.test, not :8443; Baidu allows no port in a URL (:8443)' });
      assert.deepEqual(lines[0]!.platforms, ['wechat', 'baidu']);
    } finally {
      await w.close();
    }
  });
});
