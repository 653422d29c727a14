/** The CLI as users and scripts meet it (docs/commands.md, "Exit codes"). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { READY, runCli, startProxy, tempDir } from './helpers/proxy.js';

const oneLine = (text: string) => text.trim().split('\n').length === 1 && !/\n\s+at /.test(text);

describe('mgproxy CLI', () => {
  it('--help lists every command', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['start', 'run', 'ca', 'check-config', 'audit']) assert.match(r.stdout, new RegExp(`mgproxy ${c}`));
  });

  const bad: [string, string[]][] = [
    ['an unknown flag', ['start', '--bogus']],
    ['a bad port', ['start', '--port', '70000']],
    ['a non-numeric port', ['start', '--port', 'http']],
    ['a bad admin port', ['start', '--admin-port', '-1']],
    ['a bad mode', ['start', '--mode', 'loud']],
    ['a bad log level', ['start', '--log-level', 'chatty']],
    ['a bad host', ['start', '--host', 'not a host']],
    ['no command', []],
    ['an unknown command', ['serve']],
    ['a flag given twice', ['start', '--port', '1', '--port', '2']],
  ];
  for (const [what, args] of bad) {
    it(`refuses ${what} with one line on stderr and exit code 2`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(oneLine(r.stderr), `one line: ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, /^mgproxy: /);
    });
  }

  it('prints the ready line once, exactly, with the real ports, after both accept connections', async () => {
    const p = await startProxy();
    try {
      const ready = p.lines.filter((l) => READY.test(String(l.msg)));
      assert.equal(ready.length, 1);
      assert.equal(ready[0]!.msg, `mgproxy listening on http://127.0.0.1:${p.port} (admin http://127.0.0.1:${p.adminPort})`);
      for (const port of [p.port, p.adminPort]) {
        await new Promise<void>((resolve, reject) => net.connect(port, '127.0.0.1', function (this: net.Socket) { this.destroy(); resolve(); }).on('error', reject));
      }
    } finally {
      await p.stop();
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`exits 0 on ${signal}`, async () => {
      const p = await startProxy();
      assert.equal(await p.stop(signal), 0);
    });
  }

  it('exits 1 with one line when the port is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['start', '--port', String(port), '--admin-port', '0', '--ca-dir', path.join(tempDir(), 'ca')]);
      assert.equal(r.code, 1);
      assert.ok(oneLine(r.stderr));
      assert.match(r.stderr, new RegExp(`${port} is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('refuses a config with errors at start: exit 2, each problem with its path', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ domains: { request: ['http://a.example.test'] }, bogus: 1 }));
    const r = await runCli(['start', '--config', path.join(dir, 'bad.json'), '--port', '0', '--ca-dir', path.join(dir, 'ca')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error config-scheme domains\.request\[0\] /m);
    assert.match(r.stderr, /^error config-schema bogus /m);
    assert.ok(!fs.existsSync(path.join(dir, 'ca')), 'nothing was started');
  });

  it('uses ./mgproxy.config.json when present', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'mgproxy.config.json'), JSON.stringify({ version: 'nope' }));
    const r = await runCli(['check-config'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stdout, /config-schema version/);
  });
});

describe('graceful stop', () => {
  it('lets an exchange in flight finish on SIGTERM, then exits 0', async () => {
    const { startWorld } = await import('./helpers/fixture.js');
    const w = await startWorld();
    try {
      const seen = w.upstream.seen.length;
      const slow = w.fetch('https://api.example.test/slow?ms=1500&body=finished');
      const { pollUntil } = await import('./helpers/poll.js');
      await pollUntil('the request to reach the upstream', () => w.upstream.seen.length > seen);
      const code = w.proxy.stop('SIGTERM');
      const r = await slow;
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'finished');
      assert.equal(await code, 0);
    } finally {
      await w.close();
    }
  });
});
