import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { violationsOf } from '../helpers/assertions.js';
import { startWorld, type World } from '../helpers/fixture.js';

describe('http-error-status', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it('forwards a 4xx/5xx unchanged and records an info event', async () => {
    for (const code of [404, 500]) {
      const r = await w.fetch(`https://api.example.test/status/${code}`);
      assert.equal(r.status, code);
      assert.equal(r.body.toString(), `status ${code}`);
    }
    const lines = [
      ...await violationsOf(w.proxy, 'http-error-status', { url: 'https://api.example.test/status/404' }),
      ...await violationsOf(w.proxy, 'http-error-status', { url: 'https://api.example.test/status/500' }),
    ];
    assert.deepEqual(lines.map((l) => [l.severity, l.action]), [['info', 'reported'], ['info', 'reported']]);
    assert.match(String(lines[0]!.message), /404.*statusCode/);
  });

  it('records nothing for 2xx and 3xx', async () => {
    for (const code of [200, 302, 399]) {
      const url = `https://api.example.test/status/${code}`;
      assert.equal((await w.fetch(url)).status, code);
      assert.deepEqual(await violationsOf(w.proxy, 'http-error-status', { url, count: 0 }), [], url);
    }
  });
});
