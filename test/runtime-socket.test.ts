/**
 * `mgproxy/runtime`'s `connectSocket` through a real proxy (a CONNECT tunnel) to a real WSS
 * upstream: the SocketTask's events, send before open, close codes, the 6th socket, refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime, type SocketTask } from '../proxy/runtime/index.js';
import { outcome } from './helpers/runtime-calls.js';
import { type RuntimeWorld, startRuntimeWorld } from './helpers/runtime-world.js';

const WS = 'wss://ws.example.test';

/** Resolves with the first event of `name` on the task (bounded). */
function next<T>(task: SocketTask, name: 'onOpen' | 'onMessage' | 'onClose' | 'onError', ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${ms} ms`)), ms);
    let done = false;
    (task[name] as (fn: (e: T) => void) => void)((e) => { if (!done) { done = true; clearTimeout(timer); resolve(e); } });
  });
}

describe('mgproxy/runtime: connectSocket', () => {
  let w: RuntimeWorld;
  let wx: Runtime;
  before(async () => {
    w = await startRuntimeWorld({ referer: 'check' });
    wx = createRuntime({ proxy: w.proxy.url, ca: w.proxy.caPem, admin: w.proxy.adminUrl });
  });
  after(async () => { await w.close(); });

  it('success means the task exists; send before open fails; onOpen, text and binary echoes (ArrayBuffer), close({code, reason}) → onClose', async () => {
    let task!: SocketTask;
    const early: string[] = [];
    const created = await outcome<any, SocketTask>((cb) => wx.connectSocket({ url: `${WS}/echo`, header: { Referer: 'https://evil.example/' }, protocols: ['game'], ...cb }), (t) => {
      task = t;
      t.send({ data: 'too early', fail: (e) => early.push(e.errMsg) });
    });
    assert.equal(created.res.errMsg, 'connectSocket:ok');
    assert.equal(typeof created.res.socketTaskId, 'number');
    const opened = await next<{ header: Record<string, string> }>(task, 'onOpen');
    assert.deepEqual(early, ['SocketTask.send:fail SocketTask.readyState is not OPEN']);
    assert.equal(opened.header['Upgrade'] ?? opened.header['upgrade'], 'websocket');
    const messages: (string | ArrayBuffer)[] = [];
    const two = new Promise<void>((resolve) => task.onMessage((m) => { messages.push(m.data); if (messages.length === 2) resolve(); }));
    const sent = await outcome<any>((cb) => task.send({ data: 'hello', ...cb }));
    assert.equal(sent.res.errMsg, 'SocketTask.send:ok');
    task.send({ data: new Uint8Array([0, 1, 2, 255]).buffer });
    await two;
    assert.equal(messages[0], 'hello');
    assert.ok(messages[1] instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(messages[1] as ArrayBuffer)], [0, 1, 2, 255]);
    const up = w.upstream.seen.find((s) => s.method === 'UPGRADE' && s.url === '/echo')!;
    assert.equal(up.headers.referer, 'https://appservice.wx.com/wx0123456789abcdef/0/page-frame.html');
    assert.equal(up.headers['sec-websocket-protocol'], 'game');
    const closing = next<{ code: number; reason: string }>(task, 'onClose');
    const closed = await outcome<any>((cb) => task.close({ code: 4000, reason: 'bye', ...cb }));
    assert.equal(closed.res.errMsg, 'SocketTask.close:ok');
    assert.deepEqual(await closing, { code: 4000, reason: 'bye' });
  });

  it('a close from the server: onClose with its code and reason', async () => {
    const task = wx.connectSocket({ url: `${WS}/server-close` });
    await next(task, 'onOpen');
    const closing = next<{ code: number; reason: string }>(task, 'onClose');
    task.send({ data: 'close:4001:gone' });
    assert.deepEqual(await closing, { code: 4001, reason: 'gone' });
  });

  it('a 6th open socket: the task is created (success), then onError "exceed max task count", and it never connects', async () => {
    const open: SocketTask[] = [];
    for (let i = 0; i < 5; i++) {
      const t = wx.connectSocket({ url: `${WS}/five-${i}` });
      await next(t, 'onOpen');
      open.push(t);
    }
    let sixth!: SocketTask;
    const errors: unknown[] = [];
    let opened = false;
    const created = await outcome<any, SocketTask>((cb) => wx.connectSocket({ url: `${WS}/sixth`, ...cb }), (t) => {
      sixth = t;
      t.onError((e) => errors.push(e));
      t.onOpen(() => { opened = true; });
    });
    assert.equal(created.res.errMsg, 'connectSocket:ok');
    await new Promise<void>((resolve) => { const poll = () => (errors.length > 0 ? resolve() : setTimeout(poll, 20)); poll(); });
    assert.deepEqual(errors, [{ errMsg: 'connectSocket:fail exceed max task count', errno: 600007 }]);
    assert.equal(opened, false);
    assert.equal(w.upstream.seen.filter((s) => s.url === '/sixth').length, 0, 'never reached the upstream');
    assert.deepEqual(w.proxy.violations().filter((v) => v.rule === 'concurrency-exceeded'), [], 'the proxy never saw a 6th socket');
    void sixth;
    // A slot freed: the next socket connects.
    const closing = next(open[0]!, 'onClose');
    open[0]!.close({});
    await closing;
    const again = wx.connectSocket({ url: `${WS}/after` });
    await next(again, 'onOpen');
    await Promise.all([...open.slice(1), again].map((t) => { const c = next(t, 'onClose'); t.close({}); return c; }));
  });

  it('a socket outside the list: onError with the proxy\'s errMsg and errno', async () => {
    const task = wx.connectSocket({ url: 'wss://evil.example.test/x' });
    assert.deepEqual(await next(task, 'onError'), { errMsg: 'connectSocket:fail url not in domain list', errno: 600002 });
  });
});
