/**
 * CORS on the proxy's own answers (docs/rules.md): a page's fetch
 * can read the 403, its errMsg and x-mgproxy-rule; a preflight the rules would block gets 204 and
 * records no event, so the page's real request goes out and gets the readable answer. Real sockets
 * (Node https through the proxy); Chromium reads the same answers in browser-proxy.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertBlocked } from './helpers/assertions.js';
import { startWorld, type World } from './helpers/fixture.js';

const ORIGIN = 'https://game.example.test';

describe('CORS on proxy answers', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it('a blocked request with Origin: the 403 names that origin, allows credentials, exposes the x-mgproxy headers, varies on Origin', async () => {
    const r = await w.fetch('https://evil.example.test/cors', { headers: { origin: ORIGIN } });
    assertBlocked(r, 403, 'domain-not-allowed', 'request:fail url not in domain list');
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-expose-headers'], 'x-mgproxy-rule, x-mgproxy-error, x-mgproxy-fault');
    assert.equal(r.headers.vary, 'origin');
  });

  it('without Origin: no CORS header', async () => {
    const r = await w.fetch('https://evil.example.test/plain');
    assert.equal(r.status, 403);
    for (const h of Object.keys(r.headers)) assert.ok(!h.startsWith('access-control-'), h);
  });

  it('a preflight the rules would block: 204 allowing the method and headers asked for, no event; the real request then gets its 403 and its event', async () => {
    const r = await w.fetch('https://evil.example.test/preflight', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, x-token' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-allow-methods'], 'PUT');
    assert.equal(r.headers['access-control-allow-headers'], 'content-type, x-token');
    assert.match(String(r.headers.vary), /^origin\b/);
    await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://evil.example.test/preflight' && l.method === 'OPTIONS');
    assert.deepEqual(w.proxy.violations().filter((v) => v.url === 'https://evil.example.test/preflight'), []);
    const real = await w.fetch('https://evil.example.test/preflight', { method: 'PUT', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body: '{}' });
    assertBlocked(real, 403, 'domain-not-allowed', 'request:fail url not in domain list');
    assert.equal(real.headers['access-control-allow-origin'], ORIGIN);
    await w.proxy.waitFor((l) => l.msg === 'violation' && l.url === 'https://evil.example.test/preflight' && l.method === 'PUT');
  });

  it('a preflight to an allowed host reaches the upstream, which answers it', async () => {
    const seen = w.upstream.seen.length;
    const r = await w.fetch('https://api.example.test/echo', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    assert.notEqual(r.headers['x-mgproxy-rule'], 'domain-not-allowed');
    assert.equal(w.upstream.seen.length, seen + 1);
  });
});
