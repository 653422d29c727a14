/**
 * The head of an upstream's answer to a WebSocket upgrade, as the client and the dashboard get it:
 * a non-101 answer loses every hop-by-hop field (RFC 9110 §7.6.1, all nine, and those its
 * Connection names), and repeated Set-Cookie fields stay separate lines and separate values
 * (RFC 6265 §3: they cannot be joined with commas), on a 101 and on any other answer.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { readAll, tlsTunnel } from './helpers/clients.js';
import { admin, baseConfig, HOSTS } from './helpers/fixture.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, startProxy } from './helpers/proxy.js';

const HOP_BY_HOP_FIELDS = [
  'Connection: close, X-Private', 'Keep-Alive: timeout=5', 'Proxy-Authenticate: Basic realm="x"', 'Proxy-Authorization: Basic eDp5',
  'Proxy-Connection: close', 'TE: trailers', 'Trailer: X-Checksum', 'Transfer-Encoding: chunked', 'Upgrade: websocket',
];

/** Answers `/deny` with a 403 carrying every hop-by-hop field, anything else with a 101; both set two cookies. */
function onUpgrade(req: import('node:http').IncomingMessage, socket: Duplex): void {
  socket.on('error', () => undefined);
  if (req.url === '/deny') {
    socket.end(['HTTP/1.1 403 Forbidden', ...HOP_BY_HOP_FIELDS, 'X-Private: secret', 'X-Kept: yes', 'Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2; Path=/',
      '', '6', 'denied', '0', '', ''].join('\r\n'));
    return;
  }
  const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`,
    'Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2; Path=/', '', ''].join('\r\n'));
  // A close frame (1000): the client's read ends.
  socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
}

describe('WebSocket answer heads', () => {
  let pki: TestPki;
  let server: https.Server;
  let proxy: ProxyProcess;

  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [...HOSTS, '127.0.0.1'] });
    server = https.createServer({ cert: pki.chain(leaf), key: leaf.keyPem });
    server.on('upgrade', onUpgrade);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = await startProxy({ config: baseConfig(`127.0.0.1:${(server.address() as AddressInfo).port}`, pki.rootFile) });
  });
  after(async () => {
    await proxy.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    pki.cleanup();
  });

  /** The whole answer to an upgrade of `path`, as the client reads it, and the exchange as the dashboard shows it. */
  async function upgrade(path: string): Promise<{ head: string[]; body: string; shown: [string, string][] }> {
    const s = await tlsTunnel(proxy.port, 'ws.example.test', 443, proxy.caPem);
    const read = readAll(s);
    s.write(`GET ${path} HTTP/1.1\r\nHost: ws.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
    const text = (await read).toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    const line = await proxy.waitFor((l) => l.msg === 'exchange' && l.url === `wss://ws.example.test${path}`);
    const { json } = await admin(proxy, 'GET', `/api/exchange?id=${line.id}`);
    return { head: text.slice(0, end).split('\r\n'), body: text.slice(end + 4), shown: json.responseHeaders };
  }

  it('drops all nine hop-by-hop fields and the Connection-named ones from a non-101 answer', async () => {
    const { head, body } = await upgrade('/deny');
    assert.equal(head[0], 'HTTP/1.1 403 Forbidden');
    const names = head.slice(1).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    for (const name of ['keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'x-private']) {
      assert.ok(!names.includes(name), `${name} reached the client: ${head.join(' | ')}`);
    }
    // The proxy's own: the answer is delimited by the close.
    assert.deepEqual(head.filter((l) => /^connection:/i.test(l)), ['connection: close']);
    assert.ok(head.includes('X-Kept: yes'));
    assert.equal(body, 'denied');
  });

  for (const [path, status] of [['/deny', '403'], ['/open', '101']] as const) {
    it(`keeps two Set-Cookie fields as two lines and two values on a ${status}`, async () => {
      const { head, shown } = await upgrade(path);
      assert.deepEqual(head.filter((l) => /^set-cookie:/i.test(l)), ['Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2; Path=/']);
      assert.deepEqual(shown.filter(([k]) => k === 'set-cookie').map(([, v]) => v), ['a=1; Path=/', 'b=2; Path=/']);
    });
  }
});
