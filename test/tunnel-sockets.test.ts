/**
 * Sockets that linger (docs/architecture.md): a client that leaves a CONNECT
 * tunnel before or during its TLS handshake takes its socket and what was opened for it (the
 * upstream connection opened ahead) with it at once; a ClientHello that stops half way is closed
 * after 10 s; keep-alive connections whose handshake finished stay open.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { rawConnect, tlsTunnel } from './helpers/clients.js';
import { baseConfig, startWorld, type World } from './helpers/fixture.js';
import { pollUntil } from './helpers/poll.js';

/** The first bytes of a TLS 1.2 ClientHello record: the proxy sees TLS, then nothing more. */
const HALF_HELLO = Buffer.from('160301020001' + '0001fc0303' + '00'.repeat(16), 'hex');

const fdsOf = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

/**
 * Polls until the proxy holds at most `baseline` fds; resolves with the ms it took. `ms` is the
 * promise under test ("at once": within 1 s of the last client leaving, where a leak would hold the
 * fds for the 10 s handshake timeout or forever), wide enough for a loaded 2-core machine.
 */
async function backToBaseline(pid: number, baseline: number, ms: number): Promise<number> {
  const t0 = Date.now();
  await pollUntil(() => `the proxy still holds ${fdsOf(pid)} fds (baseline ${baseline}) after ${ms} ms`, () => fdsOf(pid) <= baseline, { ms });
  return Date.now() - t0;
}

/** An upstream that accepts TCP and reads the ClientHello, but never answers it: a TLS audit of it waits. */
async function startSilentTls(): Promise<{ address: string; open: Set<net.Socket>; hellos: () => number; close: () => Promise<void> }> {
  const open = new Set<net.Socket>();
  let hellos = 0;
  const server = net.createServer((s) => {
    open.add(s);
    s.on('error', () => undefined);
    s.once('data', () => { hellos++; });
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`, open, hellos: () => hellos,
    close: () => { for (const s of open) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

/**
 * A whole ClientHello for `servername`, as Node's TLS client writes it: captured from a client
 * whose socket is a stream that goes nowhere, so the bytes can be sent on a raw socket, which then
 * reads the ServerHello and leaves without finishing the handshake.
 */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const sink = new Duplex({ read: () => undefined, write: (chunk: Buffer, _enc, cb) => { resolve(Buffer.from(chunk)); cb(); } });
    const t = tls.connect({ socket: sink, servername, rejectUnauthorized: false });
    t.on('error', () => undefined);
    setImmediate(() => t.destroy());
  });
}

type Leave = 'fin' | 'rst' | 'half-hello-fin' | 'half-hello-rst' | 'mid-handshake-fin' | 'mid-handshake-rst';

/** CONNECT, 200, then leave the way `how` says. Resolves once the client's side is gone. */
async function connectAndLeave(w: World, host: string, how: Leave): Promise<void> {
  const { socket, head } = await rawConnect(w.proxy.port, `${host}:443`);
  assert.match(head, /^HTTP\/1\.1 200 /);
  socket.on('error', () => undefined);
  if (how === 'half-hello-fin' || how === 'half-hello-rst') await new Promise<void>((r) => socket.write(HALF_HELLO, () => r()));
  if (how === 'mid-handshake-fin' || how === 'mid-handshake-rst') {
    // A whole ClientHello; the client goes when the ServerHello comes, its own Finished never sent.
    const hello = await clientHello(host);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ServerHello within 5 s')), 5000);
      socket.once('data', (d: Buffer) => {
        clearTimeout(timer);
        if (d[0] !== 0x16) { reject(new Error(`not a TLS handshake record: ${d[0]}`)); return; }
        if (how === 'mid-handshake-rst') socket.resetAndDestroy();
        else socket.end();
        resolve();
      });
      socket.write(hello);
    });
    return;
  }
  if (how === 'rst' || how === 'half-hello-rst') socket.resetAndDestroy();
  else socket.end();
}

const WAYS: Leave[] = ['fin', 'rst', 'half-hello-fin', 'half-hello-rst', 'mid-handshake-fin', 'mid-handshake-rst'];

describe('tunnel sockets', { timeout: 60_000 }, () => {
  let w: World;
  let pid: number;
  let baseline: number;
  let silent: Awaited<ReturnType<typeof startSilentTls>>;
  before(async () => {
    silent = await startSilentTls();
    w = await startWorld({
      proxy: { args: ['--log-level', 'debug'] },
      config: (address, root) => {
        const c = baseConfig(address, root);
        c.upstream.hosts['silent.example.test'] = silent.address;
        c.domains.request.push('https://silent.example.test');
        return c;
      },
    });
    pid = w.proxy.child.pid!;
    baseline = fdsOf(pid);
    // Warm (the leaf, the TLS audit of api.example.test), then wait for its sockets to go (the idle upstream one after 4 s).
    assert.equal((await w.fetch('https://api.example.test/bytes/1')).status, 200);
    await backToBaseline(pid, baseline, 10_000);
  });
  after(async () => { await w.close(); await silent.close(); });

  it('50 clients that CONNECT, get 200 and leave (FIN or reset, with or without a half ClientHello) hold no fd 1 s later', async () => {
    const clients = Array.from({ length: 50 }, (_, i) => connectAndLeave(w, 'api.example.test', WAYS[i % WAYS.length]!));
    await Promise.all(clients);
    // 1 s: the promise under test (see backToBaseline).
    const took = await backToBaseline(pid, baseline, 1000);
    assert.ok(took <= 1000, `back to baseline in ${took} ms`);
  });

  it('the upstream connection opened ahead for a new host goes with its clients', async () => {
    // upload.example.test has not been seen: its first tunnels open a connection to it ahead.
    // (TCP connections: the clients leave at once, so neither it nor the TLS audit may finish a handshake.)
    const connections = w.upstream.tcpConnections;
    await Promise.all(Array.from({ length: 10 }, (_, i) => connectAndLeave(w, 'upload.example.test', i % 2 ? 'half-hello-fin' : 'half-hello-rst')));
    await backToBaseline(pid, baseline, 1000);
    assert.ok(w.upstream.tcpConnections > connections, 'a connection was opened ahead (and closed)');
  });

  it('clients that leave (FIN or reset) after the ServerHello, their handshake unfinished, take their socket and the connection opened ahead with them at once', async () => {
    // cdn.example.test has not been seen: its first tunnels open a connection to it ahead.
    const connections = w.upstream.tcpConnections;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => connectAndLeave(w, 'cdn.example.test', i % 2 ? 'mid-handshake-fin' : 'mid-handshake-rst')));
    const took = await backToBaseline(pid, baseline, 1000);
    assert.ok(w.upstream.tcpConnections > connections, 'a connection was opened ahead (and closed)');
    assert.ok(took <= 1000, `back to baseline ${took} ms after the last client left (${Date.now() - t0} ms in all)`);
  });

  it('the TLS audit of a new host stops at once when its only client leaves (the upstream sees its sockets close), and the next tunnel starts it afresh', async () => {
    const open = async () => {
      const { socket } = await rawConnect(w.proxy.port, 'silent.example.test:443');
      socket.on('error', () => undefined);
      const hellos = silent.hellos();
      socket.write(HALF_HELLO);
      // The audit's two handshakes (and the connection opened ahead) reach the upstream and wait there.
      await pollUntil(() => `the upstream got ${silent.hellos() - hellos} ClientHellos`, () => silent.hellos() >= hellos + 2);
      return socket;
    };
    for (const round of [1, 2]) {
      const socket = await open();
      socket.end();
      const t0 = Date.now();
      // 1 s: "at once" (the audit's sockets would otherwise wait for their 10 s handshake timeout), with room for a loaded machine.
      await pollUntil(() => `round ${round}: the upstream still has ${silent.open.size} connections from the proxy ${Date.now() - t0} ms after the client left`, () => silent.open.size === 0, { ms: 1000 });
    }
    await backToBaseline(pid, baseline, 1000);
  });

  it('a burst of 300 leaving clients: every fd is back within 1 s of the last', async () => {
    const burst: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) burst.push(connectAndLeave(w, 'api.example.test', WAYS[i % WAYS.length]!).catch(() => undefined));
    await Promise.all(burst);
    await backToBaseline(pid, baseline, 1000);
    // The proxy serves on.
    assert.equal((await w.fetch('https://api.example.test/bytes/2')).status, 200);
  });

  it('closes a ClientHello that stops half way after 10 s (debug line), and leaves an idle keep-alive connection open', async () => {
    // A finished handshake with one request, then idle past the 10 s.
    const idle = await tlsTunnel(w.proxy.port, 'api.example.test', 443, w.proxy.caPem);
    const ask = (path: string) => new Promise<string>((resolve) => {
      let buf = '';
      const onData = (c: Buffer) => {
        buf += c.toString('latin1');
        if (/\r\n\r\n[\s\S]*status 200/.test(buf)) { idle.off('data', onData); resolve(buf); }
      };
      idle.on('data', onData);
      idle.write(`GET ${path} HTTP/1.1\r\nHost: api.example.test\r\n\r\n`);
    });
    assert.match(await ask('/status/200'), /^HTTP\/1\.1 200 /);
    let idleClosed = false;
    idle.on('close', () => { idleClosed = true; });

    const { socket } = await rawConnect(w.proxy.port, 'api.example.test:443');
    socket.on('error', () => undefined);
    const t0 = Date.now();
    socket.write(HALF_HELLO);
    const closed = await new Promise<number>((resolve) => {
      socket.once('close', () => resolve(Date.now() - t0));
      setTimeout(() => resolve(-1), 15_000).unref();
    });
    assert.ok(closed >= 9000 && closed < 13_000, `the stalled handshake was closed after ${closed} ms`);
    await w.proxy.waitFor((l) => l.msg === 'TLS handshake with client did not finish in time; closed');
    assert.equal(idleClosed, false, 'the idle keep-alive connection is still open');
    assert.match(await ask('/status/200?again'), /^HTTP\/1\.1 200 /);
    idle.destroy();
  });
});
