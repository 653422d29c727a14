/**
 * The exchange line written from its template (proxy/engine/exchange-line.ts) is the line pino
 * writes for the same fields, byte for byte apart from the time, for every shape a line takes; and
 * the log sink (proxy/log-sink.ts) that both go through keeps every line, in order, whole, through
 * its buffers, its timer, a line longer than a buffer and a synchronous flush.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Exchange, type ExchangeEnv } from '../proxy/flow/exchange.js';
import { exchangeFields, exchangeLine } from '../proxy/engine/exchange-line.js';
import { LogSink } from '../proxy/log-sink.js';
import { isoNow } from '../proxy/log.js';
import { pollUntil } from './helpers/poll.js';

function envWith(name: string | undefined, network?: string): ExchangeEnv {
  return {
    platformNames: ['wechat'],
    conditionFor: () => (network === undefined ? undefined : { name: network } as never),
    clientName: () => name,
    started: () => undefined,
    violation: (_ex, v) => v,
    ended: () => undefined,
  };
}

function exchange(opts: { name?: string; network?: string; method?: string; path?: string; client?: string; scheme?: 'https' | 'http' | 'wss' } = {}): Exchange {
  const req = { method: opts.method ?? 'GET', headers: {}, httpVersion: '1.1', complete: true, rawHeaders: [] } as unknown as IncomingMessage;
  const res = { setHeader: () => undefined, writeHead() { return this; }, end: () => undefined } as unknown as ServerResponse;
  return new Exchange(envWith(opts.name, opts.network), {
    req, ...(opts.scheme === 'wss' ? {} : { res }), client: opts.client ?? '127.0.0.1', scheme: opts.scheme ?? 'https', host: 'api.example.test', port: 443,
    path: opts.path ?? '/v1/score?x=1', api: opts.scheme === 'wss' ? 'connectSocket' : 'request',
  });
}

/** What pino itself writes for `fields` with the proxy's logger options (proxy/log.ts). */
function pinoLine(fields: Record<string, unknown>): string {
  let out = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { out += chunk.toString(); cb(); } });
  const log = pino({ level: 'info', base: undefined, timestamp: () => `,"time":"${isoNow()}"` }, sink);
  // pino writes to a plain Writable at once.
  log.info(fields, 'exchange');
  return out;
}

const sameApartFromTime = (a: string, b: string) => assert.equal(a.replace(/"time":"[^"]+"/, '"time":"T"'), b.replace(/"time":"[^"]+"/, '"time":"T"'));

describe('the exchange line from its template', () => {
  it('is what pino writes, for each shape of line', () => {
    const shapes: Exchange[] = [];
    const plain = exchange();
    plain.status = 200; plain.bytesOut = 200; plain.durationMs = 12.345; plain.upstreamAlpn = 'http/1.1';
    shapes.push(plain);
    // No status (the client left first), a name, a network condition, a map rule, odd characters.
    const named = exchange({ name: 'Pixel "7" \\ 测试', network: '3g', path: '/a"b\\c/\u2028/é?q=</script>' });
    named.durationMs = 0.04; named.mapped = { type: 'local', to: '/tmp/a "b".json' } as never;
    shapes.push(named);
    const ws = exchange({ scheme: 'wss' });
    ws.status = 101; ws.durationMs = 1000.06;
    shapes.push(ws);
    const v6 = exchange({ client: '::1', method: 'PATCH' });
    v6.status = 502; v6.bytesIn = 1 << 30; v6.durationMs = 5;
    shapes.push(v6);
    for (const [i, ex] of shapes.entries()) {
      // The end gives an exchange its outcome; the first three end, the last stays without one.
      if (i < 3) ex.finish(i === 1 ? 'aborted' : 'completed');
      const mine = exchangeLine(ex);
      sameApartFromTime(mine, pinoLine(exchangeFields(ex)));
      assert.ok(mine.endsWith('}\n'));
      const parsed = JSON.parse(mine) as Record<string, unknown>;
      assert.equal(parsed.msg, 'exchange');
      assert.equal(parsed.url, ex.url);
      assert.match(parsed.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });
});

describe('the log sink', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-sink-'));

  it('writes every line in order, whole, through full buffers and a line longer than a buffer', async () => {
    const file = path.join(tmp(), 'log');
    const fd = fs.openSync(file, 'w');
    const sink = new LogSink(fd);
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      // Every 1000th line is 100 KiB (longer than a 64 KiB buffer); some carry multi-byte characters.
      const line = `{"n":${i},"pad":"${i % 1000 === 999 ? 'x'.repeat(100 * 1024) : i % 7 === 0 ? 'é漢😀' : 'abc'}"}\n`;
      lines.push(line);
      sink.write(line);
    }
    const expected = lines.join('');
    // The last lines leave on the sink's 50 ms timer: polled for, bounded.
    await pollUntil('every byte written', () => fs.statSync(file).size === Buffer.byteLength(expected));
    fs.closeSync(fd);
    assert.equal(fs.readFileSync(file, 'utf8'), expected);
  });

  it('writes what it holds at once on flushSync, and never a line twice', () => {
    const file = path.join(tmp(), 'log');
    const fd = fs.openSync(file, 'w');
    const sink = new LogSink(fd);
    sink.write('{"a":1}\n');
    sink.write('{"b":2}\n');
    sink.flushSync();
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n');
    sink.flushSync();
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n');
    fs.closeSync(fd);
  });

  it('drops its lines without throwing when its reader is gone', async () => {
    const [readEnd, writeEnd] = pipeFds();
    fs.closeSync(readEnd);
    const sink = new LogSink(writeEnd);
    for (let i = 0; i < 3000; i++) sink.write(`{"n":${i},"pad":"${'y'.repeat(100)}"}\n`);
    sink.flushSync();
    fs.closeSync(writeEnd);
  });
});

/** A pipe's two ends, from the shell's `exec` (Node has no pipe(2) of its own). */
function pipeFds(): [number, number] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-fifo-'));
  const fifo = path.join(dir, 'p');
  // A FIFO opened read-write first never blocks the open of either end.
  execFileSync('mkfifo', [fifo]);
  const keep = fs.openSync(fifo, fs.constants.O_RDWR);
  const r = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const w = fs.openSync(fifo, fs.constants.O_WRONLY);
  fs.closeSync(keep);
  return [r, w];
}

describe('the log time', () => {
  it('is what toISOString says, millisecond for millisecond', async () => {
    // Across at least one second boundary (a second's prefix is kept): bounded by count and time.
    const start = Date.now();
    for (let i = 0; i < 5_000_000 && Date.now() - start < 1500; i++) {
      const before = Date.now();
      const iso = isoNow();
      const after = Date.now();
      const t = Date.parse(iso);
      assert.ok(t >= before && t <= after, `${iso} outside ${before}…${after}`);
      assert.equal(iso, new Date(t).toISOString());
    }
  });
});
