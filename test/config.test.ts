/** `mgproxy check-config` (docs/config.md): every problem, one a line, with its id and path; exit 0 or 2. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli, tempDir } from './helpers/proxy.js';

async function check(config: unknown, files: Record<string, string> = {}) {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  fs.mkdirSync(path.join(dir, 'conf'), { recursive: true });
  const file = path.join(dir, 'conf', 'mgproxy.config.json');
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  // Run from another folder: relative paths must resolve against the config's.
  const r = await runCli(['check-config', '--config', file], { cwd: tempDir() });
  return { ...r, lines: r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n') };
}

describe('check-config', () => {
  it('passes the example config', async () => {
    const r = await runCli(['check-config', '--config', path.resolve('config/example.config.json')], { cwd: process.cwd() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
  });

  it('prints every lint problem with its id and path', async () => {
    const r = await check({
      domains: {
        request: ['http://a.example.test', 'https://1.2.3.4', 'https://localhost', 'https://b.example.test:8443', 'https://*.c.example.test', 'https://d.example.test', 'D.example.test'],
        socket: ['https://ws.example.test', 'wss://ws2.example.test/path'],
      },
      networkTimeout: { request: 90000 },
    });
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines.map((l) => l.split(' ').slice(0, 3).join(' ')), [
      'error config-scheme domains.request[0]',
      'error config-ip-domain domains.request[1]',
      'error config-localhost-domain domains.request[2]',
      'error config-port-in-domain domains.request[3]',
      'error config-wildcard-domain domains.request[4]',
      'warning config-duplicate-domain domains.request[6]',
      'error config-scheme domains.socket[0]',
      'error config-schema domains.socket[1]',
      'warning config-timeout-above-max networkTimeout.request',
    ]);
  });

  it('reports schema problems: unknown keys, wrong types, bad enums, bad version', async () => {
    const r = await check({ appid: 1, version: '1.0', mode: 'loud', concurrency: { http: 0, extra: 1 }, upstream: { hosts: [] }, skipVerification: 'yes' });
    assert.equal(r.code, 2);
    const paths = r.lines.map((l) => l.split(' ')[2]);
    for (const p of ['appid', 'version', 'mode', 'concurrency.http', 'concurrency.extra', 'upstream.hosts', 'skipVerification']) assert.ok(paths.includes(p), `${p} in ${paths.join(',')}`);
    assert.ok(r.lines.every((l) => l.startsWith('error config-schema ')));
  });

  it('refuses a file that is not JSON', async () => {
    const r = await check('{ not json');
    assert.equal(r.code, 2);
    assert.match(r.lines[0]!, /^error config-schema/);
  });

  it('reads game.json relative to the config, and reports one that is missing, not JSON, or has a bad timeout', async () => {
    assert.equal((await check({ gameJson: '../game.json' }, { 'game.json': '{"networkTimeout": {"request": 5000}}' })).code, 0);
    for (const [text, pattern] of [[undefined, /cannot read/], ['nope', /not valid JSON/], ['{"networkTimeout": {"request": -5}}', /positive number/]] as const) {
      const r = await check({ gameJson: '../game.json' }, text === undefined ? {} : { 'game.json': text });
      assert.equal(r.code, 2);
      assert.match(r.lines[0]!, /^error config-game-json gameJson /);
      assert.match(r.lines[0]!, pattern);
    }
    const high = await check({ gameJson: '../game.json' }, { 'game.json': '{"networkTimeout": {"downloadFile": 120000}}' });
    assert.equal(high.code, 0, 'warnings only');
    assert.match(high.lines[0]!, /^warning config-timeout-above-max gameJson\.networkTimeout\.downloadFile/);
  });

  it('resolves extraCaFiles relative to the config and checks they hold certificates', async () => {
    const pem = fs.readFileSync(path.resolve('config/example.config.json'), 'utf8');
    const r = await check({ upstream: { extraCaFiles: ['../missing.pem', '../not-a-cert.pem'] } }, { 'not-a-cert.pem': pem });
    assert.equal(r.code, 2);
    assert.match(r.lines[0]!, /^error config-schema upstream\.extraCaFiles\[0\] cannot read/);
    assert.match(r.lines[1]!, /^error config-schema upstream\.extraCaFiles\[1\] .* no PEM certificate/);
  });

  it('checks upstream.hosts keys and values', async () => {
    const r = await check({ upstream: { hosts: { 'a.example.test': '127.0.0.1:99999', 'b.example.test:443': '127.0.0.1', 'exa..mple': '127.0.0.1' } } });
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines.map((l) => l.split(' ')[2]), ['upstream.hosts.a.example.test', 'upstream.hosts.exa..mple']);
  });
});
