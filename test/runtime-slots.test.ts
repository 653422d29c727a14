/**
 * The runtime's caps and queue as tables (proxy/runtime/slots.ts, settings.ts): each API counted
 * alone with its platform's caps, first come first served, per-host caps (Baidu), Douyin's 15 / 5 / 5.
 * The real-socket proof of the queue is test/runtime-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveSettings } from '../proxy/runtime/settings.js';
import { Slots } from '../proxy/runtime/slots.js';

/** How many calls of `api` start at once before the next one waits. */
function capacity(slots: Slots, host = 'a.example'): number {
  let n = 0;
  while (slots.tryTake(host) && n < 1000) n++;
  return n;
}

describe('mgproxy/runtime: caps per API and platform', () => {
  it('tcsas and wechat: 10 each for the three HTTP APIs, counted apart; 5 sockets', async () => {
    for (const platform of ['tcsas', 'wechat'] as const) {
      const s = await resolveSettings({ platform, appid: 'a', version: '0' }, 'android', undefined);
      assert.deepEqual([capacity(s.slots.request), capacity(s.slots.uploadFile), capacity(s.slots.downloadFile), capacity(s.slots.connectSocket)], [10, 10, 10, 5]);
    }
  });

  it('douyin-game: request 15, uploadFile 5, downloadFile 5', async () => {
    const s = await resolveSettings({ platform: 'douyin-game', appid: 'a', version: '0' }, 'android', undefined);
    assert.deepEqual([capacity(s.slots.request), capacity(s.slots.uploadFile), capacity(s.slots.downloadFile)], [15, 5, 5]);
  });

  it('baidu: 5 requests per host on Android, 6 on iOS; another host has its own 5', async () => {
    const android = await resolveSettings({ platform: 'baidu', appid: 'a', version: '0' }, 'android', undefined);
    assert.equal(capacity(android.slots.request, 'a.example'), 5);
    assert.equal(capacity(android.slots.request, 'b.example'), 5);
    const ios = await resolveSettings({ platform: 'baidu', appid: 'a', version: '0' }, 'ios', undefined);
    assert.equal(capacity(ios.slots.request), 6);
  });

  it('waiters start first come first served as slots free; one that leaves the queue never starts', () => {
    const slots = new Slots([{ apis: ['request'], max: 2 }]);
    const started: string[] = [];
    const waiter = (name: string) => ({ host: 'h', start: () => started.push(name) });
    const ws = ['a', 'b', 'c', 'd', 'e'].map(waiter);
    assert.deepEqual(ws.map((w) => slots.enter(w)), [false, false, true, true, true]);
    slots.leave(ws[3]!);
    slots.release('h');
    slots.release('h');
    assert.deepEqual(started, ['a', 'b', 'c', 'e']);
  });

  it('the proxy\'s config is not asked when platform, appid and version are given; the fallbacks without one', async () => {
    const s = await resolveSettings({}, 'android', 'http://127.0.0.1:9/');
    assert.deepEqual([s.platform.name, s.appid, s.version, s.referer], ['tcsas', 'touristappid', '0', 'https://appservice.wx.com/touristappid/0/page-frame.html']);
  });
});
