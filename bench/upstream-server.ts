/**
 * The bench's upstream, run as its own process (sharing the load generator's core when pinned):
 * HTTPS and WSS on one loopback port, with a wildcard certificate for `*.bench.test` from the test
 * PKI. Unlike the tests' upstream it keeps no record of what it saw: a bench sends millions of
 * requests.
 *   GET  /small        200 bytes of UTF-8 JSON (the encoding checks read it)
 *   GET  /bytes/N      N bytes, application/octet-stream, streamed with backpressure
 *   POST /sink         reads the body, answers {"bytes": N}
 *   WebSocket          echoes every message
 * Started with the path of a JSON file {cert, key}; prints {"port": N} on stdout when listening.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { streamPattern } from '../test/helpers/upstreams.js';

const SMALL = Buffer.from(JSON.stringify({ ok: true, pad: 'x'.repeat(200 - 20) }));
if (SMALL.length !== 200) throw new Error(`small body is ${SMALL.length} bytes`);

const { cert, key } = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { cert: string; key: string };
const server = https.createServer({ cert, key, keepAliveTimeout: 60_000, requestTimeout: 0, noDelay: true }, (req, res) => {
  const url = req.url ?? '/';
  if (url === '/small') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': SMALL.length });
    res.end(SMALL);
  } else if (url.startsWith('/bytes/')) {
    const n = Number(url.slice(7));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
    streamPattern(res, n);
  } else if (url === '/sink') {
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes }));
    });
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no such route');
  }
});
server.on('tlsClientError', () => undefined);
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
// The bench stops it by its PID; a parent that vanished leaves stdin closed.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
