/**
 * WebSocket messages through the proxy (docs/dashboard.md): observed, never changed. A client sends text,
 * binary, fragmented and compressed messages; the upstream gets them byte-exact (sha256); the
 * HAR's upgrade entry lists them in `_webSocketMessages` (Chrome DevTools' shape) with the right
 * directions and payloads; the JSON report counts messages and bytes per socket.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { tunnelAgent } from './helpers/clients.js';
import { baseConfig, HOSTS, LAN_IP, PUBLIC_IP } from './helpers/fixture.js';
import { parseHar } from './helpers/har.js';
import { TestPki } from './helpers/pki.js';
import { type ProxyProcess, startProxy, tempDir } from './helpers/proxy.js';
import { sha256, startUpstream, type Upstream } from './helpers/upstreams.js';

function open(p: ProxyProcess, url: string, deflate: boolean): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { agent: tunnelAgent(p.url, p.caPem), ca: p.caPem, perMessageDeflate: deflate ? { threshold: 0 } : false, handshakeTimeout: 10_000, maxPayload: 64 * 1024 * 1024 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('WebSocket messages in the HAR and the report', { timeout: 120_000 }, () => {
  let pki: TestPki;
  let upstream: Upstream;
  let proxy: ProxyProcess;
  let dir: string;
  const received: string[] = [];
  before(async () => {
    pki = new TestPki();
    const leaf = pki.leaf({ names: [...HOSTS, LAN_IP, PUBLIC_IP, '127.0.0.1'] });
    upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem, wsDeflate: true, onWsMessage: (d, bin) => received.push(bin ? sha256(d) : d.toString()) });
    dir = tempDir();
    proxy = await startProxy({ config: baseConfig(upstream.address, pki.rootFile), args: ['--har', path.join(dir, 'out.har'), '--report', path.join(dir, 'report.json')] });
  });
  after(async () => {
    await proxy.stop();
    await upstream.close();
    pki.cleanup();
  });

  it('forwards every kind of message byte-exact and lists them per direction', async () => {
    const bin = crypto.randomBytes(5000);
    const big = crypto.randomBytes(16 * 1024 * 1024);
    const sockets: [string, boolean][] = [['wss://ws.example.test/plain', false], ['wss://ws.example.test/deflate', true]];
    for (const [url, deflate] of sockets) {
      const ws = await open(proxy, url, deflate);
      assert.equal(ws.extensions.includes('permessage-deflate'), deflate);
      const echoes: string[] = [];
      const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer, b) => { echoes.push(b ? sha256(d) : d.toString()); if (echoes.length === 4) resolve(); }));
      ws.send('héllo ✓');
      ws.send(bin);
      ws.send('frag-', { fin: false });
      ws.send('ment', { fin: true });
      ws.send(big);
      await all;
      assert.deepEqual(echoes, ['héllo ✓', sha256(bin), 'frag-ment', sha256(big)]);
      const closed = new Promise((r) => ws.once('close', r));
      ws.close(4000, 'bye');
      await closed;
      await proxy.waitFor((l) => l.msg === 'exchange' && l.url === url, 10_000);
    }
    assert.deepEqual(received, ['héllo ✓', sha256(bin), 'frag-ment', sha256(big), 'héllo ✓', sha256(bin), 'frag-ment', sha256(big)]);

    assert.equal(await proxy.stop(), 0);
    const har = parseHar(fs.readFileSync(path.join(dir, 'out.har'), 'utf8'));
    for (const [url] of sockets) {
      const entry = har.log.entries.find((e) => e.request.url === url) as unknown as { _resourceType: string; _webSocketMessages: { type: string; time: number; opcode: number; data: string }[] };
      assert.equal(entry._resourceType, 'websocket');
      const msgs = entry._webSocketMessages;
      for (const m of msgs) {
        assert.deepEqual(Object.keys(m).sort(), ['data', 'opcode', 'time', 'type']);
        assert.ok(m.time > 1.7e9 && m.time < 4e9, 'epoch seconds');
      }
      const show = (m: { type: string; opcode: number; data: string }) => `${m.type} ${m.opcode} ${m.opcode === 2 ? Buffer.from(m.data, 'base64').length : m.data}`;
      const sent = msgs.filter((m) => m.type === 'send').map(show);
      const got = msgs.filter((m) => m.type === 'receive').map(show);
      // Binary payloads are kept up to 64 KiB for display.
      assert.deepEqual(sent, ['send 1 héllo ✓', 'send 2 5000', 'send 1 frag-ment', 'send 2 65536', 'send 8 bye']);
      assert.deepEqual(got, ['receive 1 héllo ✓', 'receive 2 5000', 'receive 1 frag-ment', 'receive 2 65536', 'receive 8 bye']);
      assert.equal(Buffer.from(msgs.find((m) => m.opcode === 2)!.data, 'base64').equals(bin), true);
    }
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
    for (const [url] of sockets) {
      const s = report.sockets.find((x: { url: string }) => x.url === url);
      assert.deepEqual(s.messages, { send: 5, receive: 5 });
      const payload = Buffer.byteLength('héllo ✓') + 5000 + 9 + big.length + 3;
      assert.deepEqual(s.bytes, { send: payload, receive: payload });
      assert.equal(s.client, '127.0.0.1');
    }
  });
});
