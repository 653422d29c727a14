/**
 * Platform profiles in the config (docs/platforms.md): `platform` and `device` validated with their paths,
 * the lint following the platform (a table per platform), the defaults a platform sets and the
 * values the config writes winning, and `check-config --platform`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { PLATFORM_NAMES, type PlatformName } from '../config/platforms.js';
import { runCli, tempDir } from './helpers/proxy.js';

function load(config: object, platform?: PlatformName[]) {
  const file = path.join(tempDir(), 'mgproxy.config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return loadConfig(file, { platform });
}

const brief = (r: ReturnType<typeof load>) => r.problems.map((p) => `${p.severity} ${p.id} ${p.path}`);

/** One config that every lint check following the platform has something to say about. */
const PROBE = {
  domains: {
    request: ['https://api.example.test:8443', 'https://api.weixin.qq.com', 'https://api.q.qq.com', 'https://openapi.baidu.com'],
  },
  networkTimeout: { request: 70_000 },
  concurrency: { http: 12, socket: 6 },
};

describe('config lint per platform', () => {
  const table: Record<PlatformName, string[]> = {
    tcsas: [
      'error config-port-in-domain domains.request[0]',
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.http',
      'warning config-cap-above-max concurrency.socket',
    ],
    wechat: [
      'warning config-refused-host domains.request[1]',
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.http',
      'warning config-cap-above-max concurrency.socket',
    ],
    qq: [
      'warning config-refused-host domains.request[2]',
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.http',
      'warning config-cap-above-max concurrency.socket',
    ],
    // Douyin mini game allows 15 requests in flight: 12 is within it.
    'douyin-game': [
      'error config-port-in-domain domains.request[0]',
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.socket',
    ],
    'douyin-app': [
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.http',
      'warning config-cap-above-max concurrency.socket',
    ],
    // Baidu's request cap is 5 per host, 64 per app (Android): 12 is within 64.
    baidu: [
      'error config-port-in-domain domains.request[0]',
      'warning config-refused-host domains.request[3]',
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.socket',
    ],
    taptap: [
      'error config-port-in-domain domains.request[0]',
      'warning config-timeout-above-max networkTimeout.request',
      'warning config-cap-above-max concurrency.http',
      'warning config-cap-above-max concurrency.socket',
    ],
  };
  for (const name of PLATFORM_NAMES) {
    it(`${name}: the problems of one config`, () => {
      const r = load({ ...PROBE, platform: name });
      assert.deepEqual(brief(r), table[name]);
      assert.equal(r.config === undefined, table[name].some((l) => l.startsWith('error')), 'refused exactly when there is an error');
    });
  }

  it('says why a port is refused and who refuses a host', () => {
    const r = load({ ...PROBE, platform: 'baidu' });
    assert.match(r.problems[0]!.message, /has a port; remove ":8443" \(Baidu: no port is allowed\)/);
    assert.match(r.problems[1]!.message, /^openapi\.baidu\.com is refused by Baidu even when listed; requests to it get host-refused$/);
  });

  it('with a list, a port only a later platform forbids is a warning, and the cap warning names each platform', () => {
    const r = load({ ...PROBE, platform: ['wechat', 'douyin-game'] });
    assert.ok(r.config, 'starts: the first platform (exact ports) takes the port');
    const port = r.problems.find((p) => p.id === 'config-port-in-domain')!;
    assert.equal(port.severity, 'warning');
    assert.match(port.message, /Douyin mini game/);
    const cap = r.problems.find((p) => p.path === 'concurrency.http')!;
    assert.match(cap.message, /WeChat \(10 /);
    assert.doesNotMatch(cap.message, /Douyin/);
  });

  it('validates platform and device with their paths', () => {
    const cases: [object, string, RegExp][] = [
      [{ platform: 'line' }, 'platform', /must be one of "tcsas", "wechat".* or a list of them, got "line"/],
      [{ platform: ['wechat', 7] }, 'platform[1]', /got 7/],
      [{ platform: ['wechat', 'wechat'] }, 'platform[1]', /listed twice/],
      [{ platform: [] }, 'platform', /at least one platform/],
      [{ device: 'harmony' }, 'device', /"android", "ios"/],
    ];
    for (const [config, at, message] of cases) {
      const r = load(config);
      assert.equal(r.config, undefined);
      assert.deepEqual(r.problems.map((p) => [p.id, p.path]), [['config-schema', at]]);
      assert.match(r.problems[0]!.message, message);
    }
  });
});

describe('what a platform sets', () => {
  it('defaults: tcsas, its Referer and caps', () => {
    const c = load({ appid: 'wxabc', version: '3' }).config!;
    assert.deepEqual(c.platforms.map((p) => p.name), ['tcsas']);
    assert.equal(c.refererValue, 'https://appservice.wx.com/wxabc/3/page-frame.html');
    assert.deepEqual(c.concurrency, { request: 10, uploadFile: 10, downloadFile: 10, socket: 5, overflow: 'queue' });
    assert.equal(c.timeouts.request, 60_000);
  });

  it('the first platform sets the Referer and the default caps; --platform overrides the file', () => {
    const douyin = load({ appid: 'tt1', version: '0', platform: 'douyin-game' }).config!;
    assert.equal(douyin.refererValue, 'https://tmaservice.developer.toutiao.com?appid=tt1&version=0');
    assert.deepEqual(douyin.caps.get('douyin-game')!.map((c) => [c.apis.join('+'), c.max]), [['request', 15], ['uploadFile', 5], ['downloadFile', 5], ['connectSocket', 5]]);
    const cli = load({ appid: 'wx1', platform: 'douyin-game' }, ['wechat', 'baidu']).config!;
    assert.deepEqual(cli.platforms.map((p) => p.name), ['wechat', 'baidu']);
    assert.equal(cli.refererValue, 'https://servicewechat.com/wx1/0/page-frame.html');
    assert.equal(load({ platform: 'taptap' }).config!.refererValue, null);
  });

  it('Baidu: 5 requests per host on Android, 6 on iOS', () => {
    const android = load({ platform: 'baidu' }).config!.caps.get('baidu')!;
    assert.deepEqual(android.filter((c) => c.perHost).map((c) => c.max), [5]);
    const ios = load({ platform: 'baidu', device: 'ios' }).config!.caps.get('baidu')!;
    assert.deepEqual(ios.filter((c) => c.perHost).map((c) => c.max), [6]);
  });

  it('caps written in the config win over every platform\'s', () => {
    const c = load({ platform: ['douyin-game', 'baidu'], concurrency: { http: 3 } }).config!;
    for (const name of ['douyin-game', 'baidu'] as const) {
      assert.deepEqual(c.caps.get(name)!.map((x) => [x.apis.join('+'), x.max]), [['request+uploadFile+downloadFile', 3], ['connectSocket', 5]]);
    }
    assert.equal(c.concurrency.http, 3);
  });

  it('per-API keys replace their API\'s caps; a written http covers the HTTP APIs without a key of their own', () => {
    const c = load({ platform: ['tcsas', 'baidu'], concurrency: { http: 8, request: 12 } }).config!;
    for (const name of ['tcsas', 'baidu'] as const) {
      assert.deepEqual(c.caps.get(name)!.map((x) => [x.apis.join('+'), x.max]), [['uploadFile+downloadFile', 8], ['request', 12], ['connectSocket', 5]]);
    }
    assert.deepEqual(c.concurrency, { request: 12, uploadFile: 8, downloadFile: 8, socket: 5, http: 8, overflow: 'queue' });
    const d = load({ platform: 'douyin-game', concurrency: { downloadFile: 2, overflow: 'reject' } }).config!;
    assert.deepEqual(d.caps.get('douyin-game')!.map((x) => [x.apis.join('+'), x.max]), [['downloadFile', 2], ['request', 15], ['uploadFile', 5], ['connectSocket', 5]]);
    assert.deepEqual(d.concurrency, { request: 15, uploadFile: 5, downloadFile: 2, socket: 5, overflow: 'reject' });
  });
});

describe('concurrency keys in check-config (table)', () => {
  const cases: [string, object, string[]][] = [
    ['a per-API cap above the platform\'s', { concurrency: { request: 11, uploadFile: 10, downloadFile: 12 } }, ['warning config-cap-above-max concurrency.request', 'warning config-cap-above-max concurrency.downloadFile']],
    ['Douyin mini game: 15 requests, 5 uploads', { platform: 'douyin-game', concurrency: { request: 15, uploadFile: 6 } }, ['warning config-cap-above-max concurrency.uploadFile']],
    ['http beside its own keys counts only the others', { concurrency: { http: 12, request: 5, uploadFile: 5, downloadFile: 5 } }, []],
    ['http above the others', { platform: 'douyin-game', concurrency: { http: 6, request: 15 } }, ['warning config-cap-above-max concurrency.http']],
    ['sockets', { concurrency: { socket: 6 } }, ['warning config-cap-above-max concurrency.socket']],
    ['bad values', { concurrency: { request: 0, downloadFile: 1.5, overflow: 'drop', queue: true } }, ['error config-schema concurrency.request', 'error config-schema concurrency.downloadFile', 'error config-schema concurrency.overflow', 'error config-schema concurrency.queue']],
  ];
  for (const [name, config, want] of cases) it(name, () => assert.deepEqual(brief(load(config)), want));

  it('check-config prints them one a line with their paths, and exits 0 on warnings only', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify({ concurrency: { request: 11, downloadFile: 20, overflow: 'reject' } }));
    const r = await runCli(['check-config', '--config', file], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(' ').slice(0, 3).join(' ')), ['warning config-cap-above-max concurrency.request', 'warning config-cap-above-max concurrency.downloadFile']);
    fs.writeFileSync(file, JSON.stringify({ concurrency: { uploadFile: -1, overflow: 'wait' } }));
    const bad = await runCli(['check-config', '--config', file], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /^error config-schema concurrency\.uploadFile must be a positive integer, got -1$/m);
    assert.match(bad.stdout, /^error config-schema concurrency\.overflow must be one of "queue", "reject", got "wait"$/m);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the warning names the API and the platform\'s cap', () => {
    const [p] = load({ platform: 'douyin-game', concurrency: { uploadFile: 6 } }).problems;
    assert.equal(p!.message, '6 is above the cap of Douyin mini game (5 uploadFile in flight); the device holds back what this lets through');
  });
});

describe('check-config --platform', () => {
  it('lints for the platform named on the command line, without a config change', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify({ domains: { request: ['https://api.example.test:8443'] } }));
    const tcsas = await runCli(['check-config', '--config', file], { cwd: dir });
    assert.equal(tcsas.code, 2);
    assert.match(tcsas.stdout, /^error config-port-in-domain domains\.request\[0\] /);
    const wechat = await runCli(['check-config', '--config', file, '--platform', 'wechat'], { cwd: dir });
    assert.equal(wechat.code, 0, wechat.stdout + wechat.stderr);
    assert.equal(wechat.stdout, '');
    const bad = await runCli(['check-config', '--config', file, '--platform', 'wechat,line'], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /--platform takes tcsas, wechat, .* bad: "line"/);
  });
});
