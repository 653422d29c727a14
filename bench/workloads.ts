/**
 * The bench's workloads (bench/README.md), each runnable straight to the upstream or through the proxy (a `Route`).
 * They return raw measurements; run.ts turns rounds into figures. Every loop is bounded by a count
 * and a time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import WebSocket from 'ws';
import { clientFor } from './load.js';
import { openTls, originOf, RouteAgent, type Route } from './tunnel.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Races `p` against a deadline. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * New host: from the first byte of the connection (CONNECT through the proxy; the TCP connect
 * direct) to the first byte of the response to one GET, over a fresh TLS connection, one host
 * at a time. Returns milliseconds per host.
 */
export async function firstByteTimes(route: Route, names: string[], path: string, headers: Record<string, string>): Promise<number[]> {
  const times: number[] = [];
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  for (const name of names) {
    const t0 = performance.now();
    const socket = await within(10_000, `TLS to ${name}`, openTls(route, name));
    await within(10_000, `first byte from ${name}`, new Promise<void>((resolve, reject) => {
      socket.once('data', () => resolve());
      socket.once('error', reject);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${name}\r\n${extra}Connection: close\r\n\r\n`);
    }));
    times.push(performance.now() - t0);
    socket.destroy();
  }
  return times;
}

/** One download of `bytes` over one connection; MB/s (10^6 bytes per second). */
export async function download(route: Route, host: string, bytes: number, headers: Record<string, string>): Promise<number> {
  const client = clientFor(route, host, { bodyTimeout: 120_000 });
  try {
    const t0 = performance.now();
    const { statusCode, body } = await client.request({ path: `/bytes/${bytes}`, method: 'GET', headers });
    if (statusCode !== 200) throw new Error(`download answered ${statusCode}`);
    let got = 0;
    for await (const chunk of body) got += (chunk as Buffer).length;
    if (got !== bytes) throw new Error(`downloaded ${got} of ${bytes} bytes`);
    return bytes / 1e6 / ((performance.now() - t0) / 1000);
  } finally {
    await client.destroy();
  }
}

const BLOCK = Buffer.alloc(64 * 1024, 0x61);

let uploads = 0;

/**
 * One upload of `bytes` (chunked, 64 KiB writes) over one connection, as a PUT that nginx reads
 * whole into `sinkDir`; MB/s. The file's size proves every byte arrived.
 */
export async function upload(route: Route, host: string, bytes: number, headers: Record<string, string>, sinkDir: string): Promise<number> {
  const client = clientFor(route, host, { bodyTimeout: 120_000 });
  async function* chunks() {
    for (let sent = 0; sent < bytes; sent += BLOCK.length) yield BLOCK.subarray(0, Math.min(BLOCK.length, bytes - sent));
  }
  const name = `upload-${process.pid}-${uploads++}`;
  try {
    const t0 = performance.now();
    const { statusCode, body } = await client.request({
      path: `/sink/${name}`, method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: Readable.from(chunks()),
    });
    await body.dump();
    const seconds = (performance.now() - t0) / 1000;
    const size = fs.statSync(path.join(sinkDir, name)).size;
    if ((statusCode !== 201 && statusCode !== 204) || size !== bytes) throw new Error(`upload answered ${statusCode}, ${size} of ${bytes} bytes stored`);
    return bytes / 1e6 / seconds;
  } finally {
    fs.rmSync(path.join(sinkDir, name), { force: true });
    await client.destroy();
  }
}

export function openWs(route: Route, host: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const url = `${originOf(route, host).replace('https:', 'wss:')}/ws`;
    const ws = new WebSocket(url, { agent: new RouteAgent(route), headers, handshakeTimeout: 10_000, perMessageDeflate: false });
    ws.once('open', () => { ws.off('error', reject); ws.on('error', () => undefined); resolve(ws); });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade answered ${res.statusCode}`)));
  });
}

/** WSS echo: `sockets` sockets, each sending 64 B and waiting for its echo, for `durationMs`; round trips per second. */
export async function wsEcho(route: Route, host: string, sockets: number, warmupMs: number, durationMs: number, headers: Record<string, string>): Promise<number> {
  const all = await Promise.all(Array.from({ length: sockets }, () => openWs(route, host, headers)));
  const message = Buffer.alloc(64, 0x6d);
  let counting = false;
  let stopped = false;
  let trips = 0;
  const loops = all.map((ws) => new Promise<void>((resolve, reject) => {
    ws.on('message', () => {
      if (counting && !stopped) trips++;
      if (stopped) { resolve(); return; }
      ws.send(message);
    });
    ws.once('close', () => (stopped ? resolve() : reject(new Error('a WebSocket closed during the echo'))));
    ws.send(message);
  }));
  await sleep(warmupMs);
  counting = true;
  const t0 = performance.now();
  await sleep(durationMs);
  stopped = true;
  const seconds = (performance.now() - t0) / 1000;
  await within(10_000, 'the last echoes', Promise.all(loops));
  for (const ws of all) ws.terminate();
  return trips / seconds;
}

/** Opens `count` WebSockets, `parallel` at a time, and keeps them open; the caller closes them. */
export async function openMany(route: Route, host: string, count: number, parallel: number, headers: Record<string, string>): Promise<WebSocket[]> {
  const open: WebSocket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      open.push(await openWs(route, host, headers));
    }
  };
  try {
    await within(120_000, `opening ${count} WebSockets`, Promise.all(Array.from({ length: parallel }, worker)));
  } catch (err) {
    for (const ws of open) ws.terminate();
    throw err;
  }
  return open;
}

/** A TLS handshake with each name (no request: this is the certificate minting), `parallel` at a time. */
export async function handshakeEach(route: Route, names: string[], parallel: number, deadlineMs: number): Promise<number> {
  let next = 0;
  let done = 0;
  const stopAt = performance.now() + deadlineMs;
  const worker = async () => {
    while (next < names.length && performance.now() < stopAt) {
      const name = names[next++]!;
      const socket = await within(10_000, `TLS to ${name}`, openTls(route, name, { insecure: true }));
      socket.destroy();
      done++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return done;
}
