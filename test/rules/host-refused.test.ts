/**
 * `host-refused` (docs/platforms.md): hosts a platform refuses even when listed (WeChat's api.weixin.qq.com,
 * QQ's api.q.qq.com, Baidu's openapi.baidu.com). The config still starts, with the warning
 * `config-refused-host`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertBlocked, assertEventFields, violationsOf } from '../helpers/assertions.js';
import { baseConfig, startWorld, type World } from '../helpers/fixture.js';

const REFUSED = ['https://api.weixin.qq.com', 'https://api.q.qq.com', 'https://openapi.baidu.com'];
const worldOf = (platform: unknown) => startWorld({
  config: (a, r) => {
    const base = baseConfig(a, r, { platform });
    return { ...base, domains: { ...base.domains, request: [...base.domains.request, ...REFUSED] } };
  },
});

describe('host-refused', () => {
  let wechat: World;
  let all: World;
  before(async () => { [wechat, all] = await Promise.all([worldOf('wechat'), worldOf(['tcsas', 'wechat', 'qq', 'baidu'])]); });
  after(async () => { await Promise.all([wechat.close(), all.close()]); });

  it('starts with a config-refused-host warning for the listed host', async () => {
    const line = await wechat.proxy.waitFor((l) => l.id === 'config-refused-host');
    assert.equal(line.path, 'domains.request[1]');
    assert.match(String(line.msg), /api\.weixin\.qq\.com is refused by WeChat even when listed/);
  });

  it('wechat: api.weixin.qq.com is refused with 403 and the errMsg though listed; no upstream connection', async () => {
    const connections = wechat.upstream.connections;
    const seen = wechat.upstream.seen.length;
    const r = await wechat.fetch('https://api.weixin.qq.com/cgi-bin/token');
    assertBlocked(r, 403, 'host-refused', 'request:fail url not in domain list');
    assert.equal(wechat.upstream.seen.length, seen);
    assert.equal(wechat.upstream.connections, connections, 'never contacted');
    const [line] = await violationsOf(wechat.proxy, 'host-refused');
    assertEventFields(line!, { severity: 'error', api: 'request', host: 'api.weixin.qq.com', action: 'blocked', platform: 'wechat', message: 'api.weixin.qq.com is refused by WeChat even when listed' });
    assert.deepEqual(line!.platforms, ['wechat']);
    // QQ's and Baidu's hosts are WeChat's to allow.
    assert.equal((await wechat.fetch('https://api.q.qq.com/x')).status, 404);
  });

  it('tcsas first: each platform\'s refused host is forwarded and reported, naming that platform', async () => {
    const expected = [['api.weixin.qq.com', 'wechat', 'WeChat'], ['api.q.qq.com', 'qq', 'QQ'], ['openapi.baidu.com', 'baidu', 'Baidu']] as const;
    for (const [host, platform, title] of expected) {
      const r = await all.fetch(`https://${host}/bytes/7`);
      assert.equal(r.status, 200, host);
      const [line] = await violationsOf(all.proxy, 'host-refused', { url: `https://${host}/bytes/7` });
      assertEventFields(line!, { action: 'reported', platform, message: `${host} is refused by ${title} even when listed` });
      assert.deepEqual(line!.platforms, [platform]);
    }
  });
});
