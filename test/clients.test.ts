/**
 * Clients by name (docs/dashboard.md): `--client-name IP=NAME`, the config key `clients` and
 * `POST /api/clients` name a client; `GET /api/clients` lists the clients seen with their counts;
 * events, the exchange log line, the JSON report, the JUnit XML and the HAR carry the name.
 * Also `--admin-host` (docs/commands.md): where the admin API listens, and its warning.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWs } from './helpers/clients.js';
import { admin, baseConfig, startWorld, type World } from './helpers/fixture.js';
import { parseHar } from './helpers/har.js';
import { runCli, startProxy, tempDir } from './helpers/proxy.js';

const oneLine = (text: string) => text.trim().split('\n').length === 1 && !/\n\s+at /.test(text);

describe('client names', () => {
  let w: World;
  let dir: string;
  before(async () => {
    dir = tempDir();
    w = await startWorld({
      config: (address, root) => baseConfig(address, root, { clients: { '127.0.0.2': 'tablet' } }),
      proxy: { args: ['--client-name', '127.0.0.1=laptop', '--client-name', '::1=ipv6-box', '--report', path.join(dir, 'r.json'), '--junit', path.join(dir, 'j.xml'), '--har', path.join(dir, 'h.har')] },
    });
  });
  after(async () => { await w.close(); });

  it('names the client in its violation events and its exchange line', async () => {
    const r = await w.fetch('https://evil.example.test/named');
    assert.equal(r.status, 403);
    const v = await w.proxy.waitFor((l) => l.msg === 'violation' && String(l.url).endsWith('/named'));
    assert.equal(v.client, '127.0.0.1');
    assert.equal(v.clientName, 'laptop');
    const ex = await w.proxy.waitFor((l) => l.msg === 'exchange' && String(l.url).endsWith('/named'));
    assert.equal(ex.clientName, 'laptop');
    const { json } = await admin(w.proxy, 'GET', '/api/violations');
    assert.equal(json.violations.at(-1).clientName, 'laptop');
  });

  it('lists the clients seen, and the named ones, at GET /api/clients', async () => {
    const ws = await openWs(w.proxy.url, w.proxy.caPem, 'wss://ws.example.test/echo');
    ws.close();
    await w.proxy.waitFor((l) => l.msg === 'exchange' && l.api === 'connectSocket');
    const r = await w.fetch('https://api.example.test/echo');
    assert.equal(r.status, 200);
    await w.proxy.waitFor((l) => l.msg === 'exchange' && String(l.url).endsWith('/echo'));
    const { status, json } = await admin(w.proxy, 'GET', '/api/clients');
    assert.equal(status, 200);
    const me = json.clients.find((c: { client: string }) => c.client === '127.0.0.1');
    assert.deepEqual(me, { client: '127.0.0.1', name: 'laptop', requests: 3, violations: 1, sockets: 1 });
    assert.deepEqual(json.clients.find((c: { client: string }) => c.client === '127.0.0.2'), { client: '127.0.0.2', name: 'tablet', requests: 0, violations: 0, sockets: 0 });
    assert.equal(json.clients.find((c: { client: string }) => c.client === '::1')?.name, 'ipv6-box');
  });

  it('renames a client from the dashboard (POST /api/clients) and refuses bad input with 400', async () => {
    for (const bad of ['nope', {}, { client: 'not-an-ip', name: 'x' }, { client: '10.0.0.1', name: '' }, { client: '10.0.0.1', name: 'a'.repeat(65) }, { client: '10.0.0.1', name: 'a\nb' }, { client: '10.0.0.1', name: 'x', extra: 1 }]) {
      const r = await admin(w.proxy, 'POST', '/api/clients', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(typeof r.json.error, 'string');
    }
    const r = await admin(w.proxy, 'POST', '/api/clients', { client: '::ffff:127.0.0.1', name: 'qa-laptop' });
    assert.deepEqual(r, { status: 200, json: { client: '127.0.0.1', name: 'qa-laptop' } });
    const blocked = await w.fetch('https://evil.example.test/renamed');
    assert.equal(blocked.status, 403);
    const v = await w.proxy.waitFor((l) => l.msg === 'violation' && String(l.url).endsWith('/renamed'));
    assert.equal(v.clientName, 'qa-laptop');
    const unnamed = await admin(w.proxy, 'POST', '/api/clients', { client: '127.0.0.2', name: null });
    assert.equal(unnamed.status, 200);
    const { json } = await admin(w.proxy, 'GET', '/api/clients');
    assert.equal(json.clients.some((c: { client: string }) => c.client === '127.0.0.2'), false, 'an unnamed client never seen leaves the list');
  });

  it('the report, the JUnit XML and the HAR use the name', async () => {
    const live = await admin(w.proxy, 'GET', '/api/report');
    assert.equal(live.json.clients.find((c: { client: string }) => c.client === '127.0.0.1').name, 'qa-laptop');
    assert.equal(await w.proxy.stop(), 0);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'));
    assert.deepEqual(report.violations.map((v: { clientName?: string }) => v.clientName), ['laptop', 'qa-laptop']);
    assert.deepEqual(report.clients.find((c: { client: string }) => c.client === '127.0.0.1'), { client: '127.0.0.1', name: 'qa-laptop', requests: 4, violations: 2, sockets: 1 });
    assert.match(fs.readFileSync(path.join(dir, 'j.xml'), 'utf8'), /client: 127\.0\.0\.1 \(laptop\)/);
    const har = parseHar(fs.readFileSync(path.join(dir, 'h.har'), 'utf8'));
    const entry = har.log.entries.find((e) => e.request.url.endsWith('/renamed'))!;
    assert.equal((entry._mgproxy as { clientName?: string }).clientName, 'qa-laptop');
  });
});

describe('client names: bad input', () => {
  for (const [what, value, message] of [
    ['no =', 'laptop', /IP=NAME/],
    ['a host name for the address', 'example.com=laptop', /is not an IP address/],
    ['an empty name', '10.0.0.1=', /is empty/],
  ] as const) {
    it(`--client-name with ${what} is one line and exit 2`, async () => {
      const r = await runCli(['start', '--port', '0', '--ca-dir', path.join(tempDir(), 'ca'), '--client-name', value]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(oneLine(r.stderr), r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('a bad config key `clients` is refused with its path', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ clients: { 'phone-1': 'x', '10.0.0.2': 7 } }));
    const r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stdout + r.stderr, /error config-schema clients\.phone-1 "phone-1" is not an IP address/);
    assert.match(r.stdout + r.stderr, /error config-schema clients\.10\.0\.0\.2 must be a string/);
  });
});

describe('--admin-host', () => {
  it('binds the admin API where it says, and only there', async () => {
    const p = await startProxy({ args: ['--admin-host', '127.0.0.2'], env: { MGPROXY_CONTAINER: '0' } });
    try {
      assert.ok(p.lines.some((l) => String(l.msg).includes(`(admin http://127.0.0.2:${p.adminPort})`)));
      const r = await fetch(`http://127.0.0.2:${p.adminPort}/api/clients`);
      assert.equal(r.status, 200);
      await assert.rejects(fetch(`http://127.0.0.1:${p.adminPort}/api/clients`));
      assert.equal(p.lines.filter((l) => l.level === 40 && /anyone who can reach it/.test(String(l.msg))).length, 0, 'loopback: no warning');
    } finally {
      await p.stop();
    }
  });

  it('warns once about a non-loopback admin host outside a container, not inside one', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: the start fails after the warning, and nothing listens.
    const args = ['start', '--port', '0', '--admin-port', '0', '--ca-dir', path.join(tempDir(), 'ca'), '--no-pretty', '--admin-host', '192.0.2.1'];
    const outside = await runCli(args, { env: { MGPROXY_CONTAINER: '0' } });
    assert.equal(outside.code, 1);
    assert.equal(outside.stdout.split('\n').filter((l) => /192\.0\.2\.1: anyone who can reach it can read the traffic and switch background mode/.test(l)).length, 1, outside.stdout);
    assert.match(outside.stderr, /admin port 192\.0\.2\.1:0 is not an address of this machine/);
    const inside = await runCli(args, { env: { MGPROXY_CONTAINER: '1' } });
    assert.equal(inside.code, 1);
    assert.doesNotMatch(inside.stdout, /anyone who can reach it/);
  });

  it('refuses a bad --admin-host with one line and exit 2', async () => {
    const r = await runCli(['start', '--admin-host', 'not a host']);
    assert.equal(r.code, 2);
    assert.ok(oneLine(r.stderr), r.stderr);
  });
});
