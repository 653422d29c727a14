/** WebSockets through the proxy: byte-exact both ways, close codes passed on. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openWs, sha256 } from './helpers/clients.js';
import { startWorld, type World } from './helpers/fixture.js';

describe('WebSocket', () => {
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it('echoes text and binary frames byte-exact, in order', async () => {
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock');
    const big = crypto.randomBytes(1024 * 1024);
    const got: { data: Buffer; binary: boolean }[] = [];
    const done = new Promise<void>((resolve) => ws.on('message', (data, binary) => {
      got.push({ data: data as Buffer, binary });
      if (got.length === 102) resolve();
    }));
    ws.send('héllo ✓');
    for (let i = 0; i < 100; i++) ws.send(`m${i}`);
    ws.send(big, { binary: true });
    await done;
    assert.equal(got[0]!.data.toString(), 'héllo ✓');
    assert.deepEqual(got.slice(1, 101).map((m) => m.data.toString()), Array.from({ length: 100 }, (_, i) => `m${i}`));
    assert.equal(got[101]!.binary, true);
    assert.equal(sha256(got[101]!.data), sha256(big));
    ws.close();
  });

  it('passes the upstream\'s close code and reason to the client', async () => {
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/sock');
    const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));
    ws.send('close:4001:game over');
    assert.deepEqual(await closed, [4001, 'game over']);
  });

  it('logs the socket as one exchange: connectSocket, 101, bytes both ways', async () => {
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/logged');
    ws.send('x');
    await new Promise((r) => ws.once('message', r));
    ws.close(1000);
    const line = await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'wss://ws.example.test/logged');
    assert.equal(line.api, 'connectSocket');
    assert.equal(line.status, 101);
    assert.ok(Number(line.bytesIn) > 0 && Number(line.bytesOut) > 0);
  });
});
