import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertFindingBeforeExchange, violationsOf } from '../helpers/assertions.js';
import { startWorld, type World } from '../helpers/fixture.js';
import { sha256 } from '../helpers/upstreams.js';

/** "中文" in GBK. */
const GBK = 'd6d0cec4';
const INVALID = '7b2261223a22ff227d'; // {"a":"\xff"}
const VALID = Buffer.from('{"a":"中文 ✓"}').toString('hex');

describe('response-not-utf8', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  const raw = (hex: string, type: string, enc = '') => `https://api.example.test/raw?hex=${hex}&type=${encodeURIComponent(type)}${enc ? `&enc=${enc}` : ''}`;

  it('flags a declared non-UTF-8 charset and delivers the bytes unchanged', async () => {
    const url = raw(GBK, 'text/plain; charset=GBK');
    const r = await w.fetch(url);
    assert.equal(r.status, 200);
    assert.equal(r.sha256, sha256(Buffer.from(GBK, 'hex')));
    const [line] = await violationsOf(w.proxy, 'response-not-utf8', { url });
    assert.equal(line!.severity, 'warning');
    assert.equal(line!.action, 'reported');
  });

  it('flags invalid UTF-8 bytes in a textual body that declares none, byte-exact', async () => {
    const url = raw(INVALID, 'application/json');
    const r = await w.fetch(url);
    assert.equal(r.sha256, sha256(Buffer.from(INVALID, 'hex')));
    assert.equal((await violationsOf(w.proxy, 'response-not-utf8', { url })).length, 1);
  });

  it('logs invalid bytes at the very end of a gzip body before its exchange line, every time', async () => {
    const body = Buffer.concat([Buffer.from(`{"a":"${'x'.repeat(200)}"}`), Buffer.from([0xff])]).toString('hex');
    for (let i = 0; i < 20; i++) {
      const url = `${raw(body, 'application/json', 'gzip')}&i=${i}`;
      await w.fetch(url);
      await assertFindingBeforeExchange(w.proxy, 'response-not-utf8', url);
    }
  });

  it('checks the decoded body of a gzip response', async () => {
    const bad = raw(INVALID, 'text/plain', 'gzip');
    const good = raw(VALID, 'text/plain', 'gzip');
    await w.fetch(bad);
    await w.fetch(good);
    assert.equal((await violationsOf(w.proxy, 'response-not-utf8', { url: bad })).length, 1);
    assert.equal((await violationsOf(w.proxy, 'response-not-utf8', { url: good, count: 0 })).length, 0);
  });

  it('leaves valid UTF-8, binary types and downloads alone', async () => {
    const urls = [raw(VALID, 'application/json; charset=utf-8'), raw(INVALID, 'application/octet-stream'), raw(INVALID, 'image/png')];
    for (const url of urls) assert.equal((await w.fetch(url)).status, 200);
    for (const url of urls) assert.equal((await violationsOf(w.proxy, 'response-not-utf8', { url, count: 0 })).length, 0);
  });

  it('checks a large streamed body with multi-byte characters split across chunks', async () => {
    const big = 'https://api.example.test/echo?big';
    const body = '中文✓'.repeat(200_000);
    const r = await w.fetch(big, { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.equal((await violationsOf(w.proxy, 'response-not-utf8', { url: big, count: 0 })).length, 0);
  });
});
