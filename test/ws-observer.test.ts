/**
 * The WebSocket message observer (proxy/sockets/observer.ts) and its bounded store
 * (proxy/sockets/messages.ts) on real `ws` sockets: a client and a server talk through a plain TCP
 * relay that forwards every chunk unchanged and feeds the same chunks to the observer, as the
 * proxy's WebSocket path does. The server checks what it got (sha256), so an observer that
 * changed a forwarded byte would fail the exchange itself.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { MAX_MESSAGES_PER_SOCKET, type SocketMessages as Store, SocketMessages } from '../proxy/sockets/messages.js';
import { FrameTracker, LATE_DEFLATE_REASON, MAX_SHOWN_BYTES, type WsMessage } from '../proxy/sockets/observer.js';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

interface World { store: Store; server: WebSocketServer; relay: net.Server; received: { data: Buffer; binary: boolean }[]; url: string; nextId: number; afterClientChunk?: () => void }

/** Forwards bytes both ways; after the 101, every chunk also goes to the store's tap. */
function startRelay(w: World, serverPort: number): Promise<net.Server> {
  const relay = net.createServer((client) => {
    const id = w.nextId++;
    const upstream = net.connect(serverPort, '127.0.0.1');
    let tap: ReturnType<SocketMessages['tap']>;
    let head = Buffer.alloc(0);
    let upgraded = false;
    // The tap sees each chunk before it is forwarded (the worst order): a tap that changed bytes would break the exchange.
    client.on('data', (c: Buffer) => { if (upgraded) { tap?.fromClient(c); w.afterClientChunk?.(); } upstream.write(c); });
    upstream.on('data', (c: Buffer) => {
      if (upgraded) { tap?.fromServer(c); client.write(c); return; }
      client.write(c);
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const ext = /^sec-websocket-extensions: *(.*)$/im.exec(head.subarray(0, end).toString('latin1'))?.[1]?.trim();
      upgraded = true;
      tap = w.store.tap({ id, url: `ws://relay/${id}`, client: '127.0.0.1' }, ext);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) tap?.fromServer(rest);
    });
    const close = () => { tap?.end(); client.destroy(); upstream.destroy(); };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  return new Promise((resolve) => relay.listen(0, '127.0.0.1', () => resolve(relay)));
}

async function world(deflate: boolean): Promise<World> {
  const w = { store: new SocketMessages(), received: [], nextId: 1 } as unknown as World;
  w.server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate ? { threshold: 0 } : false, maxPayload: 64 * 1024 * 1024 });
  await new Promise((r) => w.server.once('listening', r));
  w.server.on('connection', (ws) => {
    ws.on('message', (data: Buffer, binary) => {
      w.received.push({ data, binary });
      const text = binary ? '' : data.toString();
      if (text.startsWith('close:')) { const [, code, reason] = text.split(':'); ws.close(Number(code), reason); return; }
      if (text === 'ping-me') { ws.ping(Buffer.from('from server')); return; }
      ws.send(data, { binary });
    });
  });
  w.relay = await startRelay(w, (w.server.address() as AddressInfo).port);
  w.url = `ws://127.0.0.1:${(w.relay.address() as AddressInfo).port}/`;
  return w;
}

function open(w: World, deflate: boolean): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(w.url, { perMessageDeflate: deflate ? { threshold: 0 } : false, maxPayload: 64 * 1024 * 1024 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves when `n` messages are kept (or rejects after 20 s). */
function kept(store: Store, socket: number, n: number): Promise<WsMessage[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = store.messagesOf(socket);
      if (m.length >= n) { clearInterval(timer); clearTimeout(limit); resolve(m); }
    };
    const timer = setInterval(check, 20);
    const limit = setTimeout(() => { clearInterval(timer); reject(new Error(`only ${store.messagesOf(socket).length} of ${n} messages`)); }, 20_000);
    check();
  });
}

const closeWorld = async (w: World) => {
  for (const c of w.server.clients) c.terminate();
  await new Promise((r) => w.server.close(r));
  await new Promise((r) => w.relay.close(r));
};

for (const deflate of [false, true]) {
  describe(`WebSocket observer${deflate ? ' with permessage-deflate' : ''}`, { timeout: 60_000 }, () => {
    let w: World;
    let stopWatching: () => void;
    before(async () => { w = await world(deflate); stopWatching = w.store.watch(); });
    after(async () => { stopWatching(); await closeWorld(w); });

    it('records text, binary, fragmented, ping/pong and close, both ways, and forwards byte-exact', async () => {
      const ws = await open(w, deflate);
      const socket = w.nextId - 1;
      const bin = crypto.randomBytes(3000);
      ws.send('héllo ✓');
      ws.send(bin);
      ws.send('frag-', { fin: false });
      ws.send('ment-', { fin: false });
      ws.send('ed', { fin: true });
      ws.ping(Buffer.from('are you there'));
      ws.send('ping-me');
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.send('close:4001:game over');
      assert.equal(await closed, 4001);
      const got = await kept(w.store, socket, 14);
      assert.equal(got.length, 14);
      // Binary and ping/pong payloads come as base64 (RFC 6455 gives them no encoding).
      const summary = got.map((m) => `${m.type} ${m.opcode} ${m.opcode === 2 ? sha(Buffer.from(m.data, 'base64')) : m.opcode >= 9 ? Buffer.from(m.data, 'base64').toString() : m.data}`);
      const binSha = sha(bin);
      for (const type of ['send', 'receive']) {
        const mine = summary.filter((s) => s.startsWith(`${type} `));
        assert.deepEqual(mine.filter((s) => / [12] /.test(s)), type === 'send'
          ? [`send 1 héllo ✓`, `send 2 ${binSha}`, 'send 1 frag-ment-ed', 'send 1 ping-me', 'send 1 close:4001:game over']
          : [`receive 1 héllo ✓`, `receive 2 ${binSha}`, 'receive 1 frag-ment-ed']);
      }
      assert.ok(summary.includes('send 9 are you there') && summary.includes('receive 10 are you there'), summary.join('\n'));
      assert.ok(summary.includes('receive 9 from server'), 'the server\'s ping');
      const closes = got.filter((m) => m.opcode === 8);
      assert.deepEqual(closes.map((m) => [m.type, m.code, m.reason]), [['receive', 4001, 'game over'], ['send', 4001, 'game over']]);
      assert.equal(got.find((m) => m.opcode === 1)!.compressed, deflate ? true : undefined);
      for (const m of got) assert.ok(Math.abs(m.time - Date.now() / 1000) < 30, 'epoch seconds');
      // What the server got is what the client sent: the observer changed nothing on the way.
      assert.deepEqual(w.received.map((r) => (r.binary ? sha(r.data) : r.data.toString())),
        ['héllo ✓', binSha, 'frag-ment-ed', 'ping-me', 'close:4001:game over']);
      const tally = w.store.tallyOf(socket)!;
      // send: 6 data messages, the ping, the pong to the server's ping, the close; receive: 3 echoes, the pong, the server's ping, the close.
      assert.deepEqual(tally.messages, { send: 8, receive: 6 });
      assert.equal(tally.bytes.send, Buffer.byteLength('héllo ✓') + 3000 + 'frag-ment-ed'.length + 'are you there'.length + 'ping-me'.length
        + 'close:4001:game over'.length + 'from server'.length + 'game over'.length);
    });

    it('carries a 16 MiB binary message, keeps 64 KiB of it for display, and a long text cut on a character', async () => {
      const ws = await open(w, deflate);
      const socket = w.nextId - 1;
      const big = crypto.randomBytes(16 * 1024 * 1024);
      const echoed = new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)));
      ws.send(big);
      assert.equal(sha(await echoed), sha(big));
      const text = 'é'.repeat(40 * 1024); // 80 KiB of UTF-8
      ws.send(text);
      const got = await kept(w.store, socket, 4);
      const [sent, received] = got.filter((m) => m.opcode === 2);
      for (const m of [sent!, received!]) {
        assert.equal(m.size, big.length);
        assert.equal(m.truncated, true);
        assert.deepEqual(Buffer.from(m.data, 'base64'), big.subarray(0, MAX_SHOWN_BYTES));
      }
      const t = got.find((m) => m.opcode === 1)!;
      assert.equal(t.size, 80 * 1024);
      assert.equal(t.truncated, true);
      assert.equal(t.data, 'é'.repeat(MAX_SHOWN_BYTES / 2));
      ws.terminate();
    });
  });
}

describe('WebSocket observer bounds and counting', { timeout: 60_000 }, () => {
  let w: World;
  before(async () => { w = await world(false); });
  after(async () => { await closeWorld(w); });

  it('keeps a ring of the newest messages per socket; the counts stay exact', async () => {
    const stop = w.store.watch();
    const ws = await open(w, false);
    const socket = w.nextId - 1;
    const n = MAX_MESSAGES_PER_SOCKET + 50;
    for (let i = 0; i < n; i++) ws.send(`m${i}`);
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (w.store.tallyOf(socket)!.messages.receive === n) { clearInterval(t); resolve(); } }, 20); });
    const got = w.store.messagesOf(socket);
    assert.equal(got.length, MAX_MESSAGES_PER_SOCKET);
    assert.equal(got.at(-1)!.data, `m${n - 1}`);
    assert.equal(w.store.tallyOf(socket)!.dropped, 2 * n - MAX_MESSAGES_PER_SOCKET);
    ws.terminate();
    stop();
  });

  it('with nobody watching, taps nothing; with only a report asked for, counts frames without parsing payloads', async () => {
    const before = w.nextId;
    const ws1 = await open(w, false);
    ws1.send('x');
    await new Promise((r) => ws1.once('message', r));
    ws1.terminate();
    assert.equal(w.store.tallyOf(before), undefined, 'not tapped at all');
    w.store.countFrames = true;
    const ws2 = await open(w, false);
    const socket = w.nextId - 1;
    const big = crypto.randomBytes(200_000);
    let echoes = 0;
    const done = new Promise<void>((r) => ws2.on('message', () => { if (++echoes === 3) r(); }));
    ws2.send('a'); ws2.send(big); ws2.send('b', { fin: false }); ws2.send('c');
    await done;
    const t = w.store.tallyOf(socket)!;
    assert.equal(t.observed, false);
    assert.deepEqual(t.messages, { send: 3, receive: 3 });
    assert.ok(t.bytes.send > 200_000 && t.bytes.receive > 200_000);
    assert.deepEqual(w.store.messagesOf(socket), []);
    ws2.terminate();
    w.store.countFrames = false;
  });
});

/** Resolves on the next client chunk the relay has fed to the tap (or rejects after 10 s). */
function nextClientChunk(w: World): Promise<void> {
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => { w.afterClientChunk = undefined; reject(new Error('no client chunk')); }, 10_000);
    w.afterClientChunk = () => { w.afterClientChunk = undefined; clearTimeout(limit); resolve(); };
  });
}

/** `n` echoes on `ws` (or rejects after 20 s). */
function echoes(ws: WebSocket, n: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const limit = setTimeout(() => reject(new Error(`only ${got.length} of ${n} echoes`)), 20_000);
    ws.on('message', (d: Buffer) => { got.push(d); if (got.length === n) { clearTimeout(limit); resolve(got); } });
  });
}

describe('WebSocket observer joining an open socket', { timeout: 60_000 }, () => {
  it('finds message boundaries in any split of the stream, skipping payloads and fragments in progress', () => {
    // Frames: [start offset, begins a message]. Masked and unmasked, 7-, 16- and 64-bit lengths, a ping between fragments.
    const frame = (fin: boolean, opcode: number, len: number, masked: boolean) => {
      const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
      const h = Buffer.alloc(2 + ext + (masked ? 4 : 0));
      h[0] = (fin ? 0x80 : 0) | opcode;
      h[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
      if (ext === 2) h.writeUInt16BE(len, 2);
      if (ext === 8) h.writeBigUInt64BE(BigInt(len), 2);
      return Buffer.concat([h, crypto.randomBytes(len)]);
    };
    const spec: [boolean, number, number][] = [[true, 1, 5], [false, 2, 300], [true, 9, 4], [false, 0, 0], [true, 0, 70_000], [true, 10, 0], [true, 2, 125], [true, 1, 126]];
    for (const masked of [false, true]) {
      const frames = spec.map(([fin, op, len]) => frame(fin, op, len, masked));
      const starts: number[] = [];
      let at = 0, inFragments = false;
      frames.forEach((f, i) => {
        if (!inFragments) starts.push(at);
        if (spec[i]![1] < 8) inFragments = !spec[i]![0];
        at += f.length;
      });
      const stream = Buffer.concat(frames);
      for (let trial = 0; trial < 300; trial++) {
        // Chunks of random sizes; the observer wants to start at a random chunk.
        const cuts = [0];
        while (cuts.at(-1)! < stream.length) cuts.push(Math.min(stream.length, cuts.at(-1)! + 1 + crypto.randomInt(trial % 2 ? 40 : 20_000)));
        const join = crypto.randomInt(cuts.length - 1);
        const t = new FrameTracker();
        let found = -1;
        for (let c = 0; c + 1 < cuts.length && found < 0; c++) {
          const chunk = stream.subarray(cuts[c]!, cuts[c + 1]!);
          const r = t.push(chunk, c >= join);
          if (r >= 0) found = cuts[c]! + r;
        }
        const want = starts.find((s) => s >= cuts[join]!) ?? -1;
        assert.equal(found, want, `masked ${masked}, join at ${cuts[join]}`);
      }
      const all = new FrameTracker();
      assert.equal(all.push(stream), -1);
      assert.equal(all.messages, 6, 'a message at each final frame, control frames included');
    }
  });

  for (const mode of ['mid-frame', 'mid-message'] as const) {
    it(`observes a socket opened before anyone watched, from the next message on (${mode})`, async () => {
      const w = await world(false);
      try {
        const ws = await open(w, false);
        const socket = w.nextId - 1;
        ws.send('before');
        await echoes(ws, 1);
        const big = crypto.randomBytes(1024 * 1024);
        let got: Promise<Buffer[]>;
        let stop!: () => void;
        if (mode === 'mid-frame') {
          // Watching starts once the first chunk of a 1 MiB frame has gone by.
          const first = nextClientChunk(w).then(() => { stop = w.store.watch(); });
          got = echoes(ws, 2);
          ws.send(big);
          await first;
          ws.send('after');
        } else {
          const first = nextClientChunk(w);
          got = echoes(ws, 2);
          ws.send('frag-', { fin: false });
          await first;
          stop = w.store.watch();
          ws.send('ment', { fin: true });
          ws.send('after');
        }
        const [echo1, echo2] = await got;
        assert.deepEqual(echo2!.toString(), 'after');
        await kept(w.store, socket, 3);
        const summary = w.store.messagesOf(socket).map((m) => `${m.type} ${m.opcode === 2 ? `${m.size} ${sha(Buffer.from(m.data, 'base64'))}` : m.data}`);
        // The message in progress when watching began is not shown; the echoes, which began later, are.
        assert.deepEqual(summary.filter((s) => s.startsWith('send')), ['send after']);
        assert.deepEqual(summary.filter((s) => s.startsWith('receive')), [`receive ${mode === 'mid-frame' ? `${big.length} ${sha(big.subarray(0, MAX_SHOWN_BYTES))}` : 'frag-ment'}`, 'receive after']);
        assert.equal(mode === 'mid-frame' ? sha(echo1!) : echo1!.toString(), mode === 'mid-frame' ? sha(big) : 'frag-ment');
        const t = w.store.tallyOf(socket)!;
        assert.equal(t.observed, true);
        assert.ok(t.observedSince! > Date.now() - 30_000);
        assert.deepEqual(t.messages, { send: 3, receive: 3 });
        assert.equal(t.stopped, undefined);
        // Forwarded unchanged all along.
        assert.deepEqual(w.received.map((r) => (r.binary ? sha(r.data) : r.data.toString())), ['before', mode === 'mid-frame' ? sha(big) : 'frag-ment', 'after']);
        ws.terminate();
        stop();
      } finally {
        await closeWorld(w);
      }
    });
  }

  it('does not observe a direction compressed with context takeover when joining late; the bytes still flow', async () => {
    const w = await world(true);
    try {
      const ws = await open(w, true);
      const socket = w.nextId - 1;
      ws.send('before');
      await echoes(ws, 1);
      const stop = w.store.watch();
      const got = echoes(ws, 1);
      ws.send('after');
      assert.equal((await got)[0]!.toString(), 'after');
      const t = w.store.tallyOf(socket)!;
      assert.deepEqual(t.stopped, { send: LATE_DEFLATE_REASON, receive: LATE_DEFLATE_REASON });
      assert.deepEqual(t.messages, { send: 2, receive: 2 });
      assert.deepEqual(w.store.messagesOf(socket), []);
      assert.deepEqual(w.received.map((r) => r.data.toString()), ['before', 'after']);
      ws.terminate();
      stop();
    } finally {
      await closeWorld(w);
    }
  });
});
