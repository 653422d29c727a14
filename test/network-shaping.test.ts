/**
 * Shaping and data-path faults on real traffic (docs/network.md): downKbps and upKbps end to end, latency
 * on each WebSocket chunk, socket-drop (1006), reset (afterBytes), outage. Wide bounds only; the
 * exact figures are `npm run bench -- --only network`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { curl, openWs, viaProxy } from './helpers/clients.js';
import { admin, baseConfig, startWorld, type World } from './helpers/fixture.js';
import { patternChunks, patternSha256 } from './helpers/upstreams.js';

describe('network shaping on real traffic', () => {
  let w: World;
  before(async () => { w = await startWorld({ config: (a, r) => baseConfig(a, r) }); });
  after(async () => { await w.close(); });
  const setNetwork = async (value: unknown) => {
    const r = await admin(w.proxy, 'POST', '/api/network', value);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  };

  it('paces a 256 KiB download at downKbps (1000 kbps: about 2.1 s), bytes unchanged', async () => {
    await setNetwork({ rules: [{ host: 'cdn.example.test', custom: { downKbps: 1000 } }] });
    const n = 256 * 1024;
    const t0 = performance.now();
    const r = await w.fetch(`https://cdn.example.test/bytes/${n}`, { keepBody: false, timeoutMs: 20_000 });
    const ms = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.equal(r.sha256, patternSha256(n));
    const expected = (n * 8) / 1000;
    // The lower bound proves the pacing; the upper one only that it ends (a loaded machine is slower, never faster).
    assert.ok(ms > expected * 0.85 && ms < expected * 2.5, `took ${ms.toFixed(0)} ms, expected about ${expected.toFixed(0)} ms`);
    await setNetwork({ default: 'none', rules: [] });
  });

  it('reads a 256 KiB upload no faster than upKbps (1000 kbps: about 2.1 s)', async () => {
    await setNetwork({ rules: [{ client: '127.0.0.1', custom: { upKbps: 1000 } }] });
    const n = 256 * 1024;
    const t0 = performance.now();
    const r = await w.fetch('https://api.example.test/sha256', { method: 'POST', body: patternChunks(n), headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 20_000 });
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(r.json(), { sha256: patternSha256(n), bytes: n });
    const expected = (n * 8) / 1000;
    // The lower bound proves the pacing; the upper one only that it ends (a loaded machine is slower, never faster).
    assert.ok(ms > expected * 0.85 && ms < expected * 2.5, `took ${ms.toFixed(0)} ms, expected about ${expected.toFixed(0)} ms`);
    await setNetwork({ default: 'none', rules: [] });
  });

  it('adds the latency to each WebSocket chunk in each direction (100 ms: a round trip 200 ms longer)', async () => {
    const roundTrip = async () => {
      const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/echo');
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const echoed = await new Promise<string>((r) => { ws.once('message', (d) => r(d.toString())); ws.send(`ping ${i}`); });
        assert.equal(echoed, `ping ${i}`);
        times.push(performance.now() - t0);
      }
      ws.close();
      return Math.min(...times);
    };
    const base = await roundTrip();
    await setNetwork({ rules: [{ host: 'ws.example.test', custom: { latencyMs: 100 } }] });
    const slow = await roundTrip();
    const added = slow - base;
    // 100 ms each way on the socket: a round trip gains 200; at least 160 (timer slack), under 500 so
    // latencies added per frame twice would fail, with room for a loaded machine.
    assert.ok(added >= 160 && added <= 500, `a round trip took ${added.toFixed(0)} ms longer (base ${base.toFixed(0)} ms)`);
    await setNetwork({ default: 'none', rules: [] });
  });

  it('a condition set while a WebSocket is open shapes its next messages, in order, and lifting it restores full speed', async () => {
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/echo-open');
    const echo = async (text: string) => {
      const t0 = performance.now();
      const echoed = await new Promise<string>((r) => { ws.once('message', (d) => r(d.toString())); ws.send(text); });
      assert.equal(echoed, text);
      return performance.now() - t0;
    };
    const base = Math.min(await echo('a'), await echo('b'), await echo('c'));
    // The socket is open and unshaped; now the phone is put on 100 ms of latency.
    await setNetwork({ rules: [{ client: '127.0.0.1', custom: { latencyMs: 100 } }] });
    const slow = Math.min(await echo('d'), await echo('e'), await echo('f'));
    // As above: 200 ms more per round trip, the bound wider as the change lands on an open socket.
    assert.ok(slow - base >= 160 && slow - base <= 600, `an open socket's round trip took ${(slow - base).toFixed(0)} ms longer (base ${base.toFixed(0)} ms)`);
    // Several in flight at once come back in order.
    const got: string[] = [];
    const all = new Promise<void>((r) => { const on = (d: Buffer) => { got.push(d.toString()); if (got.length === 20) { ws.off('message', on); r(); } }; ws.on('message', on); });
    for (let i = 0; i < 20; i++) ws.send(`m${i}`);
    await all;
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `m${i}`));
    await setNetwork({ default: 'none', rules: [] });
    const again = Math.min(await echo('g'), await echo('h'), await echo('i'));
    // Lifted: back within 80 ms of the unshaped round trip, well under the 200 ms the condition adds.
    assert.ok(again < base + 80, `lifted: a round trip takes ${again.toFixed(0)} ms (base ${base.toFixed(0)} ms)`);
    ws.close();
  });

  it('socket-drop closes an open WebSocket with 1006 (no close frame), also when set while it is open', async () => {
    await setNetwork({ rules: [{ host: 'ws.example.test', fault: { type: 'socket-drop', afterMs: 300 } }] });
    const t0 = performance.now();
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/drop');
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    assert.equal(code, 1006);
    // afterMs is 300, counted from the socket's open (after t0): 280 leaves 20 ms of timer slack.
    assert.ok(performance.now() - t0 >= 280, 'not before afterMs');
    await setNetwork({ default: 'none', rules: [] });
    const open = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/drop-later');
    const closed = new Promise<number>((r) => open.once('close', (c) => r(c)));
    await setNetwork({ rules: [{ fault: { type: 'socket-drop', afterMs: 0 } }] });
    assert.equal(await closed, 1006);
    await setNetwork({ default: 'none', rules: [] });
  });

  it('reset cuts the response after afterBytes body bytes', async () => {
    await setNetwork({ rules: [{ host: 'cdn.example.test', fault: { type: 'reset', afterBytes: 1000 } }] });
    const r = await curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, '--suppress-connect-headers', '-D', '-', 'https://cdn.example.test/bytes/100000']);
    assert.notEqual(r.code, 0, 'curl saw the connection cut');
    const text = r.stdout.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200/, 'the head came through');
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    assert.ok(body.length <= 1000, `got ${body.length} body bytes`);
    const line = await w.proxy.waitFor((l) => l.msg === 'exchange' && l.url === 'https://cdn.example.test/bytes/100000');
    assert.equal(line.network, 'reset');
    assert.equal(line.outcome, 'cut');
    await setNetwork({ default: 'none', rules: [] });
  });

  it('outage: while down, new requests fail as offline ones do', async () => {
    // Up for the first millisecond of every 10 minutes: down from now on.
    await setNetwork({ rules: [{ host: 'api.example.test', fault: { type: 'outage', everyMs: 600_000, forMs: 599_999 } }] });
    // Past the first millisecond of the cycle, when the link is still up.
    await new Promise((r) => setTimeout(r, 5));
    const r = await viaProxy(w.proxy.url, w.proxy.caPem, 'https://api.example.test/echo?outage=1');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-mgproxy-fault'], 'outage');
    await setNetwork({ default: 'none', rules: [] });
  });
});
