/**
 * The bench's WebSocket echo upstream (nginx, bench/nginx.ts, serves every HTTP workload but has
 * no WebSocket endpoint of its own), run as its own process on the load generator's core when
 * pinned: WSS on a loopback port with the wildcard certificate for `*.bench.test` from the test
 * PKI, echoing every message; any plain HTTP request gets 404. Started with the path of a JSON
 * file {cert, key}; prints {"port": N} on stdout when listening.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const { cert, key } = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { cert: string; key: string };
const server = https.createServer({ cert, key, keepAliveTimeout: 60_000, requestTimeout: 0, noDelay: true }, (_req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('WebSocket only');
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
