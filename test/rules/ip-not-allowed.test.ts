import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertBlocked, violationsOf } from '../helpers/assertions.js';
import { baseConfig, LAN_IP, PUBLIC_IP, startWorld, type World } from '../helpers/fixture.js';

describe('ip-not-allowed', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  for (const host of ['127.0.0.1', 'localhost', '[::1]', PUBLIC_IP]) {
    it(`blocks ${host} inside the tunnel (the leaf carries an IP SAN) without connecting`, async () => {
      const connections = w.upstream.connections;
      const r = await w.fetch(`https://${host}:${w.upstream.port}/bytes/1`);
      assertBlocked(r, 403, 'ip-not-allowed', 'request:fail url not in domain list');
      assert.equal(w.upstream.connections, connections);
    });
  }

  it(`allows a private LAN address (${LAN_IP}) when allowLanIps (the default)`, async () => {
    const r = await w.fetch(`https://${LAN_IP}/bytes/3`);
    assert.equal(r.status, 200);
    assert.equal((await violationsOf(w.proxy, 'ip-not-allowed', { url: `https://${LAN_IP}/bytes/3`, count: 0 })).length, 0);
  });

  it('records the violation with the IP as host', async () => {
    const lines = await violationsOf(w.proxy, 'ip-not-allowed', { count: 4 });
    assert.ok(lines.some((l) => l.host === '127.0.0.1' && l.action === 'blocked'));
    assert.ok(lines.some((l) => l.host === 'localhost'));
  });
});

describe('ip-not-allowed with allowLanIps false', () => {
  it('blocks a LAN address', async () => {
    const w = await startWorld({ config: (a, r) => baseConfig(a, r, { allowLanIps: false }) });
    try {
      assertBlocked(await w.fetch(`https://${LAN_IP}/bytes/3`), 403, 'ip-not-allowed', 'request:fail url not in domain list');
    } finally {
      await w.close();
    }
  });
});
