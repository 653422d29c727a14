/**
 * An exchange whose last response byte reached the client is `completed`, whatever the client does
 * next (docs/health.md, the `failures` check). A game's downloader may destroy its connection the
 * moment a body's last byte arrives; those downloads were delivered in full and must not read
 * `aborted` in the exchange lines or the HAR.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { tlsTunnel } from './helpers/clients.js';
import { startWorld, type World } from './helpers/fixture.js';
import { exchangeLogged } from './helpers/assertions.js';
import { parseHar } from './helpers/har.js';

const BYTES = 2_900_000;
const DOWNLOADS = 30;
let w: World;
let harFile: string;

before(async () => {
  w = await startWorld({ proxy: { args: ['--har', 'downloads.har'] } });
  harFile = path.join(w.proxy.dir, 'downloads.har');
});
after(async () => { await w.close(); });

/** GET over its own tunnel; destroys the socket the instant the body's last byte is read. */
async function downloadThenDestroy(url: string): Promise<number> {
  const u = new URL(url);
  const socket = await tlsTunnel(w.proxy.port, u.hostname, 443, w.proxy.caPem);
  return new Promise((resolve, reject) => {
    let head = '';
    let body = -1;
    let length = -1;
    socket.on('error', () => undefined);
    socket.on('close', () => reject(new Error(`closed after ${body} of ${length} body bytes`)));
    socket.on('data', (chunk: Buffer) => {
      if (body < 0) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        length = Number(/content-length: *(\d+)/i.exec(head.slice(0, end))?.[1] ?? -1);
        body = Buffer.byteLength(head.slice(end + 4), 'latin1');
      } else {
        body += chunk.length;
      }
      if (length >= 0 && body >= length) {
        socket.removeAllListeners('close');
        socket.destroy();
        resolve(body);
      }
    });
    socket.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
  });
}

it(`${DOWNLOADS} downloads of ${BYTES} bytes destroyed at their last byte are all completed`, async () => {
  const urls = Array.from({ length: DOWNLOADS }, (_, i) => `https://cdn.example.test/bytes/${BYTES}?n=${i}`);
  // Three at a time: the race between the client's close and the proxy's last write shows under load.
  for (let i = 0; i < urls.length; i += 3) {
    const got = await Promise.all(urls.slice(i, i + 3).map(downloadThenDestroy));
    for (const n of got) assert.equal(n, BYTES);
  }
  for (const url of urls) await exchangeLogged(w.proxy, url, { ms: 20_000 });
  const lines = w.proxy.lines.filter((l) => l.msg === 'exchange' && String(l.url).startsWith('https://cdn.example.test/bytes/'));
  const outcomes = lines.map((l) => `${String(l.url).split('?')[1]} ${l.outcome} ${l.bytesOut}`);
  assert.deepEqual(outcomes.filter((o) => !o.includes(' completed ')), [], 'every delivered download is completed');
  assert.ok(lines.every((l) => l.bytesOut === BYTES));
  await w.proxy.stop();
  const har = parseHar(fs.readFileSync(harFile, 'utf8'));
  const entries = har.log.entries.filter((e) => e.request.url.startsWith('https://cdn.example.test/bytes/'));
  assert.equal(entries.length, DOWNLOADS);
  assert.deepEqual(entries.filter((e) => e._mgproxy.outcome !== 'completed').map((e) => e.request.url), []);
});
