import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertFindingBeforeExchange, violationsOf } from '../helpers/assertions.js';
import { startWorld, type World } from '../helpers/fixture.js';
import { sha256 } from '../helpers/upstreams.js';

const BOM = 'efbbbf';
const JSON_BODY = '7b7d';

describe('response-multiple-bom', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });
  const raw = (hex: string, enc = '') => `https://api.example.test/raw?hex=${hex}&type=application%2Fjson${enc ? `&enc=${enc}` : ''}`;

  it('flags a body that starts with two BOMs and delivers it byte-exact', async () => {
    const url = raw(BOM + BOM + JSON_BODY);
    const r = await w.fetch(url);
    assert.equal(r.sha256, sha256(Buffer.from(BOM + BOM + JSON_BODY, 'hex')));
    const [line] = await violationsOf(w.proxy, 'response-multiple-bom', { url });
    assert.equal(line!.severity, 'warning');
    assert.match(String(line!.message), /2 UTF-8 BOMs/);
  });

  it('flags it behind gzip too', async () => {
    const url = raw(BOM + BOM + BOM + JSON_BODY, 'gzip');
    await w.fetch(url);
    assert.match(String((await violationsOf(w.proxy, 'response-multiple-bom', { url }))[0]!.message), /3 UTF-8 BOMs/);
  });

  it('logs the finding behind gzip before its exchange line, every time (the decoder\'s end is awaited)', async () => {
    for (let i = 0; i < 20; i++) {
      const url = `${raw(BOM + BOM + JSON_BODY, 'gzip')}&i=${i}`;
      await w.fetch(url);
      await assertFindingBeforeExchange(w.proxy, 'response-multiple-bom', url);
    }
  });

  it('accepts one BOM (the runtime strips it) and none', async () => {
    for (const hex of [BOM + JSON_BODY, JSON_BODY]) {
      const url = raw(hex);
      await w.fetch(url);
      assert.equal((await violationsOf(w.proxy, 'response-multiple-bom', { url, count: 0 })).length, 0);
    }
  });
});
