/** Network conditions (docs/network.md): presets, matching, the `network` key, --network, /api/network, faults, recording. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curl } from './helpers/clients.js';
import { assertBlocked } from './helpers/assertions.js';
import { admin, baseConfig, startWorld, type World } from './helpers/fixture.js';
import { type LogLine, runCli, tempDir } from './helpers/proxy.js';
import { NetworkConditions } from '../proxy/network/conditions.js';
import { PRESETS, validateNetwork } from '../config/network.js';

const exchangeLine = (w: World, url: string, after = 0) =>
  w.proxy.waitFor((l: LogLine) => l.msg === 'exchange' && l.url === url && Number(l.id) > after);

describe('network presets and matching', () => {
  it('has the published numbers of each preset', () => {
    assert.deepEqual(PRESETS['slow-3g'], { downKbps: 400, upKbps: 400, latencyMs: 2000 });
    assert.deepEqual(PRESETS['slow-4g'], { downKbps: 1440, upKbps: 675, latencyMs: 562.5 });
    assert.deepEqual(PRESETS['fast-4g'], { downKbps: 8100, upKbps: 1350, latencyMs: 165 });
    assert.deepEqual(PRESETS['3g'], { downKbps: 780, upKbps: 330, latencyMs: 100 });
    assert.deepEqual(PRESETS.edge, { downKbps: 250, upKbps: 150, latencyMs: 300 });
    assert.deepEqual(PRESETS['2g-lossy'], { downKbps: 30, upKbps: 20, latencyMs: 650, lossPercent: 2 });
    assert.deepEqual(PRESETS['very-bad'], { downKbps: 1000, upKbps: 1000, latencyMs: 500, lossPercent: 10 });
  });

  it('lets the last matching rule win, on client, host, *.suffix, both or neither', () => {
    const c = new NetworkConditions({
      default: 'fast-4g',
      rules: [
        { host: '*.example.com', preset: 'edge' },
        { client: '192.168.1.23', preset: 'slow-3g' },
        { host: 'cdn.example.com', fault: { type: 'hang' } },
        { client: '192.168.1.24', host: 'api.example.com', preset: 'none' },
      ],
    });
    const name = (client: string, host: string) => c.resolve(client, host)?.name;
    assert.equal(name('10.0.0.1', 'other.test'), 'fast-4g');
    assert.equal(name('10.0.0.1', 'api.example.com'), 'edge');
    assert.equal(name('10.0.0.1', 'example.com'), 'fast-4g', '*.example.com matches subdomains only');
    assert.equal(name('192.168.1.23', 'api.example.com'), 'slow-3g');
    assert.equal(name('192.168.1.23', 'cdn.example.com'), 'hang');
    assert.equal(name('192.168.1.24', 'api.example.com'), undefined, 'preset none turns conditions off');
    assert.equal(new NetworkConditions({ default: 'none', rules: [] }).off, true);
  });

  it('names the path of every problem', () => {
    const problems = validateNetwork({
      default: 'slow-5g',
      rules: [
        { host: 'cdn.example.com', fault: { type: 'reset', afterBytes: -1 } },
        { client: 'phone', preset: '3g' },
        { custom: { downKbps: 0, lossPercent: 120 } },
        { preset: '3g', fault: { type: 'hang' } },
        { fault: { type: 'outage', everyMs: 1000, forMs: 1000 } },
        { fault: { type: 'explode' } },
      ],
    }).map((p) => p.path);
    assert.deepEqual(problems, [
      'network.default', 'network.rules[0].fault.afterBytes', 'network.rules[1].client', 'network.rules[2].custom.downKbps',
      'network.rules[2].custom.lossPercent', 'network.rules[3]', 'network.rules[4].fault.forMs', 'network.rules[5].fault.type',
    ]);
  });
});

describe('--network and the network key', () => {
  it('--network bogus exits 2 with one line', async () => {
    const r = await runCli(['start', '--port', '0', '--admin-port', '0', '--ca-dir', path.join(tempDir(), 'ca'), '--network', 'bogus']);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /--network takes one of slow-3g, .*; got "bogus"/);
  });

  it('check-config reports an invalid network key as config-schema with its path', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify({ network: { default: 'none', rules: [{ host: 'cdn.example.com', fault: { type: 'hang', afterMs: 5 } }] } }));
    const r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /^error config-schema network\.rules\[0\]\.fault\.afterMs unknown key/m);
  });
});

describe('network conditions on real traffic (request timeout 1500 ms)', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ config: (a, r) => baseConfig(a, r, { networkTimeout: { request: 1500 } }) });
  });
  after(async () => { await w.close(); });
  const setNetwork = async (value: unknown) => {
    const r = await admin(w.proxy, 'POST', '/api/network', value);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json;
  };

  it('GET /api/network shows the object in force; an invalid POST is 400 with its path and changes nothing', async () => {
    assert.deepEqual((await admin(w.proxy, 'GET', '/api/network')).json, { default: 'none', rules: [] });
    const set = await setNetwork({ rules: [{ host: 'cdn.example.test', preset: 'edge' }] });
    assert.deepEqual(set, { default: 'none', rules: [{ host: 'cdn.example.test', preset: 'edge' }] });
    const bad = await admin(w.proxy, 'POST', '/api/network', { default: 'none', rules: [{ fault: { type: 'error-status', status: 200 } }] });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { error: 'network.rules[0].fault.status: must be a whole number at least 400 and at most 599, got 200' });
    assert.equal((await admin(w.proxy, 'POST', '/api/network', '{nope')).status, 400);
    assert.deepEqual((await admin(w.proxy, 'GET', '/api/network')).json, set, 'the old object stays');
    await setNetwork({ default: 'none', rules: [] });
  });

  it('error-status: the proxy answers with the status and x-mgproxy-fault; the upstream is not contacted', async () => {
    await setNetwork({ rules: [{ host: 'api.example.test', fault: { type: 'error-status', status: 503, percent: 100 } }] });
    const seen = w.upstream.seen.length;
    const r = await w.fetch('https://api.example.test/echo?fault=1');
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-mgproxy-fault'], 'error-status');
    const line = await exchangeLine(w, 'https://api.example.test/echo?fault=1');
    assert.equal(line.network, 'error-status');
    // A fault's answer is not a rule's: its own outcome.
    assert.equal(line.outcome, 'fault');
    assert.equal(w.upstream.seen.length, seen, 'the upstream saw nothing');
    assert.equal((await w.fetch('https://cdn.example.test/bytes/10')).status, 200, 'other hosts are not affected');
  });

  it('dns-fail: 502 with x-mgproxy-error upstream-unreachable', async () => {
    await setNetwork({ rules: [{ host: '*.example.test', fault: { type: 'dns-fail' } }] });
    const r = await w.fetch('https://api.example.test/echo?dns=1');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-mgproxy-error'], 'upstream-unreachable');
    assert.equal(r.headers['x-mgproxy-fault'], 'dns-fail');
    assert.match(r.json<{ errMsg: string }>().errMsg, /^request:fail /);
  });

  it('offline: requests fail without reaching the upstream', async () => {
    await setNetwork({ default: 'offline' });
    const seen = w.upstream.seen.length;
    const r = await w.fetch('https://api.example.test/echo?offline=1');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-mgproxy-fault'], 'offline');
    assert.equal(w.upstream.seen.length, seen);
  });

  it('hang: never answered, so the API\'s timeout fires with 504 request:fail timeout', async () => {
    await setNetwork({ rules: [{ host: 'api.example.test', fault: { type: 'hang' } }] });
    const seen = w.upstream.seen.length;
    const t0 = Date.now();
    const r = await w.fetch('https://api.example.test/echo?hang=1');
    const took = Date.now() - t0;
    assertBlocked(r, 504, 'timeout', 'request:fail timeout');
    // The timeout is 1500 ms: not before it (less a timer's slack), and well before the 6 s a hang
    // would give without it, with room for a loaded machine.
    assert.ok(took >= 1400 && took < 5000, `answered after ${took} ms`);
    const v = await w.proxy.waitFor((l) => l.msg === 'violation' && l.rule === 'timeout' && l.url === 'https://api.example.test/echo?hang=1');
    assert.equal(v.network, 'hang', 'the event says which condition was in force');
    assert.equal(w.upstream.seen.length, seen);
  });

  it('a per-client rule affects only that source IP (127.0.0.2, not 127.0.0.3)', async () => {
    await setNetwork({ rules: [{ client: '127.0.0.2', fault: { type: 'error-status', status: 500 } }] });
    const get = (from: string) => curl(['-x', w.proxy.url, '--cacert', w.proxy.caFile, '--interface', from, '-o', '/dev/null', '-w', '%{http_code}', `https://api.example.test/echo?from=${from}`]);
    const [two, three] = await Promise.all([get('127.0.0.2'), get('127.0.0.3')]);
    assert.equal(two.stdout.toString(), '500', two.stderr);
    assert.equal(three.stdout.toString(), '200', three.stderr);
    const line = await exchangeLine(w, 'https://api.example.test/echo?from=127.0.0.3');
    assert.equal(line.client, '127.0.0.3');
    assert.equal(line.network, undefined, 'no condition, no network field');
  });

  it('a 100 ms latency adds about 100 ms to a small request', async () => {
    await setNetwork({ default: 'none', rules: [] });
    const time = async (tag: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        assert.equal((await w.fetch(`https://api.example.test/echo?${tag}=${i}`)).status, 200);
        times.push(performance.now() - t0);
      }
      // The fastest of five: load on a shared machine only ever adds time.
      return Math.min(...times);
    };
    await time('warm');
    const base = await time('base');
    await setNetwork({ rules: [{ host: 'api.example.test', custom: { latencyMs: 100 } }] });
    const slow = await time('slow');
    const added = slow - base;
    // 100 ms added once per exchange: at least 80 (timer and clock slack), and under 400, far from a
    // latency added per chunk or per hop, with room for a loaded machine.
    assert.ok(added >= 80 && added <= 400, `added ${added.toFixed(1)} ms (base ${base.toFixed(1)}, slow ${slow.toFixed(1)})`);
    await setNetwork({ default: 'none', rules: [] });
  });
});

describe('--network on start, with reports', () => {
  it('sets default, keeps the config\'s rules, and the HAR and report carry the conditions', async () => {
    const dir = tempDir();
    const har = path.join(dir, 'out.har');
    const report = path.join(dir, 'report.json');
    const w = await startWorld({
      config: (a, r) => baseConfig(a, r, { network: { rules: [{ host: 'cdn.example.test', fault: { type: 'error-status', status: 502 } }] } }),
      proxy: { args: ['--network', '3g', '--har', har, '--report', report] },
    });
    try {
      assert.deepEqual((await admin(w.proxy, 'GET', '/api/network')).json, { default: '3g', rules: [{ host: 'cdn.example.test', fault: { type: 'error-status', status: 502 } }] });
      assert.equal((await w.fetch('https://api.example.test/echo?har=1')).status, 200);
      assert.equal((await w.fetch('https://cdn.example.test/bytes/5')).status, 502);
      await exchangeLine(w, 'https://cdn.example.test/bytes/5');
    } finally {
      await w.close();
    }
    const h = JSON.parse(fs.readFileSync(har, 'utf8')) as { log: { entries: { request: { url: string }; _mgproxy: { network?: unknown } }[] } };
    const byUrl = new Map(h.log.entries.map((e) => [e.request.url, e._mgproxy.network]));
    assert.deepEqual(byUrl.get('https://api.example.test/echo?har=1'), { name: '3g', profile: { downKbps: 780, upKbps: 330, latencyMs: 100 } });
    assert.deepEqual(byUrl.get('https://cdn.example.test/bytes/5'), { name: 'error-status', fault: { type: 'error-status', status: 502 } });
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { summary: { network: { inForce: { default: string }; exchanges: Record<string, number> } } };
    assert.equal(r.summary.network.inForce.default, '3g');
    assert.deepEqual(r.summary.network.exchanges, { '3g': 1, 'error-status': 1 });
  });
});
