import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertBlocked, violationsOf } from '../helpers/assertions.js';
import { admin, startWorld, type World } from '../helpers/fixture.js';

describe('background-call', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it('refuses a request started in background mode with 403 interrupted, and serves again after', async () => {
    assert.deepEqual((await admin(w.proxy, 'POST', '/api/background', { background: true })).json, { background: true });
    assert.equal((await admin(w.proxy, 'GET', '/api/stats')).json.background, true);
    const seen = w.upstream.seen.length;
    assertBlocked(await w.fetch('https://api.example.test/bytes/1'), 403, 'background-call', 'request:fail interrupted');
    assert.equal(w.upstream.seen.length, seen);
    assert.deepEqual((await admin(w.proxy, 'POST', '/api/background', { background: false })).json, { background: false });
    assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
    assert.equal((await violationsOf(w.proxy, 'background-call'))[0]!.action, 'blocked');
  });

  it('takes only {"background": bool}: anything else is 400', async () => {
    for (const body of ['', 'nope', '{"background": "yes"}', '{"background": true, "x": 1}', '[]']) {
      assert.equal((await admin(w.proxy, 'POST', '/api/background', body)).status, 400, body);
    }
    assert.equal((await admin(w.proxy, 'GET', '/api/stats')).json.background, false);
  });
});
