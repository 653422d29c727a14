/**
 * The README's second CI example: a game's suite written against `mgproxy/runtime`
 * (test/fixtures/game-client/runtime-game.test.mjs), run by the real CLI as
 * `mgproxy run -- node --test <suite>` against local upstreams mapped by `upstream.hosts`. The
 * package resolves `mgproxy/runtime` through its own `exports`, and the runtime takes the proxy,
 * the trust and the platform from the environment `run` sets.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from './helpers/proxy.js';
import { mgproxyRun, type RunResult, type RunWorld, RUNTIME_GAME_CLIENT, startRunWorld } from './helpers/run.js';
import { patternSha256 } from './helpers/upstreams.js';

describe('mgproxy run with a suite written against mgproxy/runtime', () => {
  let w: RunWorld;
  let r: RunResult;
  let seen: any;
  before(async () => {
    // platform wechat in the proxy's config: the runtime's Referer follows it (read from MGPROXY_ADMIN's /api/config).
    // referer "check": the upstream sees what the runtime sent, not the proxy's rewrite.
    w = await startRunWorld({ config: { platform: 'wechat', referer: 'check' } });
    r = await mgproxyRun(w, [], [process.execPath, '--test', RUNTIME_GAME_CLIENT], { env: { GAME_CLIENT_RESULTS: w.file('seen.json') } });
    seen = JSON.parse(fs.readFileSync(w.file('seen.json'), 'utf8'));
  });
  after(async () => { await w.close(); });

  it('passes the suite: the level byte-exact, the outsider as fail with the device\'s errMsg, the socket echo', () => {
    assert.match(r.stdout, /^# pass 3$/m, r.stdout + r.stderr);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.deepEqual(seen.allowed, { statusCode: 200, errMsg: 'request:ok', bytes: 70_000, sha256: patternSha256(70_000) });
    assert.deepEqual(seen.outsider, { ok: false, errMsg: 'request:fail url not in domain list', errno: 600002 });
    assert.deepEqual(seen.socket.echoes, ['hello', [0, 1, 2, 255]]);
  });

  it('sends the platform\'s Referer the proxy\'s config implies, and the outsider never reaches the upstream', () => {
    const level = w.upstream.seen.find((s) => s.url === '/bytes/70000')!;
    assert.equal(level.headers.referer, 'https://servicewechat.com/wx0123456789abcdef/0/page-frame.html');
    const upgrade = w.upstream.seen.find((s) => s.method === 'UPGRADE')!;
    assert.equal(upgrade.headers.referer, 'https://servicewechat.com/wx0123456789abcdef/0/page-frame.html');
    assert.ok(!w.upstream.seen.some((s) => s.url.startsWith('/track')));
  });

  it('fails the run on the error violation, as with any client', () => {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ {2}domain-not-allowed +error +1 +GET https:\/\/evil\.example\.test\/track\?event=start/m);
  });

  it('is what the package exports: mgproxy/runtime with its types', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.exports['./runtime'], { types: './dist/proxy/runtime/index.d.ts', default: './dist/proxy/runtime/index.js' });
    assert.ok(fs.existsSync(path.join(ROOT, 'dist/proxy/runtime/index.d.ts')));
    assert.ok(pkg.files.some((f: string) => 'dist/proxy/runtime/index.js'.startsWith(`${f}/`)), 'the published files include it');
    assert.ok(pkg.files.some((f: string) => 'dist/config/platforms.js'.startsWith(`${f}/`)), 'and the platform table it reads');
  });

  it('imports nothing of the proxy: Node, undici, ws, its own files and config/\'s pure tables only', () => {
    const dir = path.join(ROOT, 'proxy/runtime');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const [, spec] of text.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)) {
        assert.ok(/^node:|^undici$|^ws$|^\.\/[\w-]+\.js$|^\.\.\/\.\.\/config\/(platforms|vocabulary)\.js$/.test(spec!), `${file} imports ${spec}`);
      }
    }
  });
});
