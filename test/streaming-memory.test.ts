/**
 * Bodies stream through the proxy: moving 256 MiB each way leaves its RSS within 100 MiB of
 * where it started (a proxy that buffered would grow by the body). Memory, not speed: the speed
 * targets live in `npm run bench`. Linux only (/proc).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startWorld, type World } from './helpers/fixture.js';
import { patternChunks, patternSha256 } from './helpers/upstreams.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('streaming memory', { skip: !fs.existsSync('/proc/self/status') && 'needs /proc' }, () => {
  let w: World;
  let idle: number;
  before(async () => {
    w = await startWorld();
    await w.fetch('https://api.example.test/bytes/1000');
    idle = rssOf(w.proxy.child.pid!);
  });
  after(async () => { await w.close(); });

  it('downloads 256 MiB byte-exact without growing by it', async () => {
    let peak = 0;
    const timer = setInterval(() => { peak = Math.max(peak, rssOf(w.proxy.child.pid!)); }, 50);
    const r = await w.fetch(`https://cdn.example.test/bytes/${SIZE}`, { keepBody: false, timeoutMs: 120_000 });
    clearInterval(timer);
    assert.equal(r.sha256, patternSha256(SIZE));
    assert.ok(peak - idle < 100 * MiB, `RSS grew by ${((peak - idle) / MiB).toFixed(1)} MiB`);
  });

  it('uploads 256 MiB byte-exact without growing by it', async () => {
    let peak = 0;
    const timer = setInterval(() => { peak = Math.max(peak, rssOf(w.proxy.child.pid!)); }, 50);
    const r = await w.fetch('https://api.example.test/sha256', { method: 'POST', body: patternChunks(SIZE), timeoutMs: 120_000 });
    clearInterval(timer);
    assert.deepEqual(r.json(), { sha256: patternSha256(SIZE), bytes: SIZE });
    assert.ok(peak - idle < 100 * MiB, `RSS grew by ${((peak - idle) / MiB).toFixed(1)} MiB`);
  });
});
