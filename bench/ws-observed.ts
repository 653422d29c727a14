/**
 * WSS echo with message observation on (docs/dashboard.md): the proxy parses every frame both ways only
 * while a dashboard listens (an SSE client on `/api/events`) or a HAR is recorded. This holds an
 * SSE connection open on the proxy's admin port while a workload runs, so `npm run bench` can set
 * the echo rate with observation beside the plain one.
 */
import fs from 'node:fs';
import http from 'node:http';

const ADMIN = /\(admin http:\/\/([^\s)]+):(\d+)\)/;

/** Runs `fn` while an SSE listener is connected to the admin API named in the proxy's log. */
export async function whileDashboardListens<T>(proxyLogFile: string, fn: () => Promise<T>): Promise<T> {
  const m = ADMIN.exec(fs.readFileSync(proxyLogFile, 'utf8'));
  if (!m) throw new Error('no admin URL in the proxy log');
  const req = http.get({ host: m[1] === '0.0.0.0' ? '127.0.0.1' : m[1], port: Number(m[2]), path: '/api/events' });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SSE answer within 10 s')), 10_000);
    req.once('response', (res) => res.once('data', () => { clearTimeout(timer); resolve(); }));
    req.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
  try {
    return await fn();
  } finally {
    req.destroy();
  }
}
