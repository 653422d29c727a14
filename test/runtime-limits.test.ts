/**
 * `mgproxy/runtime` at the device's limits, through a real proxy: the 11th call waits in the
 * runtime's own queue (profile.queueStart/queueEnd), timeouts (the call's, game.json's, the
 * proxy's), background mode (interrupted after 5 s, new calls at once, the proxy switched too),
 * refused connections in Cronet's words, and a callback that throws.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime, type SocketTask } from '../proxy/runtime/index.js';
import { timeoutFor, type Core } from '../proxy/runtime/core.js';
import { transportFailure } from '../proxy/runtime/errors.js';
import { admin } from './helpers/fixture.js';
import { TestPki } from './helpers/pki.js';
import { startUpstream, type Upstream } from './helpers/upstreams.js';
import { ROOT, tempDir } from './helpers/proxy.js';
import { outcome } from './helpers/runtime-calls.js';
import { type RuntimeWorld, startRuntimeWorld } from './helpers/runtime-world.js';

const API = 'https://api.example.test';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('mgproxy/runtime: caps, queue, timeouts, background, transport errors', () => {
  let w: RuntimeWorld;
  let wx: Runtime;
  let down: number;
  let strangerPki: TestPki;
  let stranger: Upstream;
  before(async () => {
    down = await closedPort();
    // An upstream whose certificate chains to a root nobody trusts: the proxy's tls-untrusted answer.
    strangerPki = new TestPki();
    const leaf = strangerPki.leaf({ names: ['bad.example.test'] });
    stranger = await startUpstream({ cert: strangerPki.chain(leaf), key: leaf.keyPem });
    w = await startRuntimeWorld({
      domains: {
        request: ['https://api.example.test', 'https://down.example.test', 'https://bad.example.test'],
        uploadFile: [], downloadFile: ['https://cdn.example.test'], socket: ['wss://ws.example.test'],
      },
      // The proxy's own timeout for downloads, to see its refusal turned into fail.
      networkTimeout: { downloadFile: 400 },
    }, { 'down.example.test': `127.0.0.1:${down}`, 'bad.example.test': stranger.address });
    wx = createRuntime({ proxy: w.proxy.url, ca: w.proxy.caPem, admin: w.proxy.adminUrl });
  });
  after(async () => {
    await w.close();
    await stranger.close();
    strangerPki.cleanup();
  });

  it('the 11th request waits in the runtime until a slot frees, with profile.queueStart/queueEnd; the proxy never sees an 11th', async () => {
    const ten = Array.from({ length: 10 }, () => outcome<any>((cb) => wx.request({ url: `${API}/hold/q`, dataType: 'text', ...cb })));
    await w.heldCount('q', 10);
    const calledAt = Date.now();
    const eleventh = outcome<any>((cb) => wx.request({ url: `${API}/hold/q11`, dataType: 'text', ...cb }));
    // The proxy's view: exactly 10 in flight from this client, and no refusal.
    const stats = (await admin(w.proxy, 'GET', '/api/stats')).json;
    assert.equal(stats.inFlight['127.0.0.1']?.http, 10);
    const releasedAt = Date.now();
    assert.equal(w.release('q'), 10);
    await w.heldCount('q11', 1);
    const q11 = w.held.find((h) => h.name === 'q11')!;
    assert.ok(q11.at >= releasedAt, 'the 11th reached the upstream only after a slot freed');
    w.release('q11');
    const results = await Promise.all(ten);
    const last = await eleventh;
    assert.ok(results.every((r) => r.ok && r.res.data === 'q' && r.res.profile.queueStart === 0));
    assert.deepEqual([last.ok, last.res.data, last.res.statusCode], [true, 'q11', 200]);
    const p = last.res.profile;
    assert.ok(p.queueStart >= calledAt && p.queueStart <= releasedAt, JSON.stringify(p));
    assert.ok(p.queueEnd >= releasedAt && p.queueEnd <= p.fetchStart, JSON.stringify(p));
    assert.deepEqual(w.proxy.violations().filter((v) => v.rule === 'concurrency-exceeded'), []);
  });

  it('timeouts: the call\'s own, then game.json\'s networkTimeout, capped at 60000; the proxy\'s timeout refusal too', async () => {
    const t0 = Date.now();
    const own = await outcome<any>((cb) => wx.request({ url: `${API}/hang`, timeout: 300, ...cb }));
    assert.deepEqual([own.ok, own.res.errMsg, own.res.errno], [false, 'request:fail timeout', 5]);
    // 300 ms asked; up to 5 s allowed for a loaded machine.
    assert.ok(Date.now() - t0 >= 290 && Date.now() - t0 < 5000);
    const dir = tempDir('mgproxy-runtime-game-');
    const gameJson = path.join(dir, 'game.json');
    fs.writeFileSync(gameJson, JSON.stringify({ networkTimeout: { request: 350, connectSocket: 2000 } }));
    const fromGame = createRuntime({ proxy: w.proxy.url, ca: w.proxy.caPem, platform: 'tcsas', appid: 'a', version: '0', gameJson });
    const t1 = Date.now();
    const game = await outcome<any>((cb) => fromGame.request({ url: `${API}/hang`, ...cb }));
    assert.deepEqual([game.res.errMsg, game.res.errno], ['request:fail timeout', 5]);
    assert.ok(Date.now() - t1 >= 340 && Date.now() - t1 < 5000);
    fs.rmSync(dir, { recursive: true, force: true });
    const core = { gameTimeouts: { request: 90_000 } } as unknown as Core;
    assert.equal(timeoutFor(core, 'request', 120_000), 60_000);
    assert.equal(timeoutFor(core, 'request', undefined), 60_000);
    assert.equal(timeoutFor(core, 'uploadFile', undefined), 60_000);
    assert.equal(timeoutFor(core, 'request', 2000), 2000);
    // The proxy's networkTimeout.downloadFile is 400: its 504 with x-mgproxy-rule: timeout.
    const proxied = await outcome<any>((cb) => wx.downloadFile({ url: 'https://cdn.example.test/hang', ...cb }));
    assert.deepEqual([proxied.ok, proxied.res.errMsg, proxied.res.errno], [false, 'downloadFile:fail timeout', 5]);
  });

  it('a refused connection: errcode:-102 through the proxy (its 502 x-mgproxy-error) and without one; iOS words', async () => {
    const viaProxy = await outcome<any>((cb) => wx.request({ url: 'https://down.example.test/x', ...cb }));
    assert.deepEqual([viaProxy.ok, viaProxy.res.errMsg, viaProxy.res.errno],
      [false, 'request:fail errcode:-102 cronet_error_code:-102 error_msg:net::ERR_CONNECTION_REFUSED', 600001]);
    const ios = createRuntime({ proxy: w.proxy.url, ca: w.proxy.caPem, admin: w.proxy.adminUrl, device: 'ios' });
    const iosR = await outcome<any>((cb) => ios.downloadFile({ url: 'https://down.example.test/x', ...cb }));
    assert.deepEqual([iosR.res.errMsg, iosR.res.errno], ['downloadFile:fail net::ERR_CONNECTION_REFUSED', 600001]);
    // No proxy listening where the runtime was told: the same words for the connection it could not make.
    const noProxy = createRuntime({ proxy: `http://127.0.0.1:${down}`, platform: 'wechat', appid: 'a', version: '0' });
    const direct = await outcome<any>((cb) => noProxy.uploadFile({ url: 'https://upload.example.test/x', filePath: path.join(ROOT, 'package.json'), name: 'f', ...cb }));
    assert.deepEqual([direct.res.errMsg, direct.res.errno], ['uploadFile:fail errcode:-102 cronet_error_code:-102 error_msg:net::ERR_CONNECTION_REFUSED', 600001]);
    const sock = noProxy.connectSocket({ url: 'wss://ws.example.test/x' });
    assert.deepEqual(await new Promise((r) => sock.onError(r)), { errMsg: 'connectSocket:fail errcode:-102 cronet_error_code:-102 error_msg:net::ERR_CONNECTION_REFUSED', errno: 600001 });
    // The other codes named in Chromium's list.
    assert.equal(transportFailure('request', 'ENOTFOUND', 'android').errMsg, 'request:fail errcode:-105 cronet_error_code:-105 error_msg:net::ERR_NAME_NOT_RESOLVED');
    assert.equal(transportFailure('request', 'ECONNRESET', 'android').errMsg, 'request:fail errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET');
  });

  it('an upstream the proxy cannot trust: its tls-* refusal is fail "ssl hand shake error", errno 600001', async () => {
    const r = await outcome<any>((cb) => wx.request({ url: 'https://bad.example.test/x', ...cb }));
    assert.deepEqual([r.ok, r.res.errMsg, r.res.errno], [false, 'request:fail ssl hand shake error', 600001]);
    await w.proxy.waitFor((l) => String(l.rule ?? '').startsWith('tls-'));
  });

  it('background(true): new calls fail at once, calls in flight after 5 s, the open socket closes 1000 "interrupted"; the proxy is switched too', async () => {
    const inFlight = outcome<any>((cb) => wx.request({ url: `${API}/hold/bg`, ...cb }));
    await w.heldCount('bg', 1);
    const sock = wx.connectSocket({ url: 'wss://ws.example.test/bg' });
    await new Promise((r) => sock.onOpen(r));
    const sockClosed = new Promise<unknown>((r) => sock.onClose(r));
    const t0 = Date.now();
    await wx.background(true);
    assert.equal((await admin(w.proxy, 'GET', '/api/stats')).json.background, true);
    const t1 = Date.now();
    const fresh = await outcome<any>((cb) => wx.request({ url: `${API}/echo`, ...cb }));
    assert.deepEqual([fresh.ok, fresh.res.errMsg, fresh.res.errno], [false, 'request:fail interrupted', 600003]);
    assert.ok(Date.now() - t1 < 2000, 'at once');
    const freshSock: SocketTask = wx.connectSocket({ url: 'wss://ws.example.test/bg2' });
    assert.deepEqual(await new Promise((r) => freshSock.onError(r)), { errMsg: 'connectSocket:fail interrupted', errno: 600003 });
    const r = await inFlight;
    const waited = Date.now() - t0;
    assert.deepEqual([r.ok, r.res.errMsg, r.res.errno], [false, 'request:fail interrupted', 600003]);
    // 5 s grace; the upper bound leaves 4 s for a loaded machine.
    assert.ok(waited >= 4900 && waited < 9000, `interrupted after ${waited} ms`);
    assert.deepEqual(await sockClosed, { code: 1000, reason: 'interrupted' });
    await wx.background(false);
    assert.equal((await admin(w.proxy, 'GET', '/api/stats')).json.background, false);
    const back = await outcome<any>((cb) => wx.request({ url: `${API}/status/200`, ...cb }));
    assert.equal(back.res.errMsg, 'request:ok');
  });

  it('a callback that throws: complete still runs, the runtime goes on, the error surfaces on its own (environment as `mgproxy run` sets it)', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'test/fixtures/runtime/throwing-callback.mjs')], {
      cwd: ROOT,
      env: { ...process.env, HTTPS_PROXY: w.proxy.url, NODE_EXTRA_CA_CERTS: w.proxy.caFile, MGPROXY_ADMIN: w.proxy.adminUrl, NODE_TEST_CONTEXT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    child.stderr.on('data', (c: Buffer) => { err += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise((r) => child.on('close', r));
    clearTimeout(timer);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out), { uncaught: ['a bug in the game'], order: ['success', 'complete'], second: 'request:ok' });
  });
});
