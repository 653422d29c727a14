/**
 * The bench's HTTP upstream: Debian's nginx ("direct" must be a real server's speed, not
 * a Node server sharing the load generator's core), installed by the bench's setup when missing.
 * One worker process, HTTPS on a loopback port with the bench's wildcard certificate, keep-alive
 * without a request limit, no access log:
 *   GET /small        200 bytes of UTF-8 JSON (`application/json; charset=utf-8`)
 *   GET /bytes/N      N pattern bytes, a file prepared beforehand (the sizes the workloads ask)
 *   PUT /sink/NAME    nginx reads the whole body (WebDAV PUT into a tmpfs folder); 201 or 204
 * A second server, on `h2Port`, answers /small over HTTP/2 or HTTP/1.1 (ALPN), for the h2 rows.
 * nginx has no WebSocket endpoint of its own: the WSS workloads keep the Node echo upstream
 * (bench/upstream-server.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianTool } from '../test/helpers/debian.js';
import { patternBytes } from '../test/helpers/upstreams.js';

/** What /small answers: the same 200 bytes as the Node upstream's. */
export const SMALL_BODY = JSON.stringify({ ok: true, pad: 'x'.repeat(200 - 20) });

export interface Nginx { pid: number; port: number; h2Port: number; sinkDir: string; stop(): Promise<void> }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

/** Writes the pattern files nginx serves as /bytes/N. */
function prepareBytes(dir: string, sizes: number[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const n of new Set(sizes)) {
    const fd = fs.openSync(path.join(dir, String(n)), 'w');
    try { for (const chunk of patternBytes(n)) fs.writeSync(fd, chunk); } finally { fs.closeSync(fd); }
  }
}

function config(dir: string, port: number, h2Port: number, cert: string, key: string, bytesDir: string, sinkDir: string): string {
  if (SMALL_BODY.length !== 200 || /['\\$]/.test(SMALL_BODY)) throw new Error('the small body must be 200 plain bytes');
  return `worker_processes 1;
daemon off;
master_process off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path ${sinkDir}/.body;
  proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  ssl_session_cache off;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /small { default_type "application/json; charset=utf-8"; return 200 '${SMALL_BODY}'; }
    location /bytes/ { alias ${bytesDir}/; default_type application/octet-stream; }
    location /sink/ { root ${path.dirname(sinkDir)}; dav_methods PUT; client_max_body_size 0; client_body_buffer_size 1m; }
  }
  server {
    listen 127.0.0.1:${h2Port} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    http2_max_requests 100000000;
    location = /small { default_type "application/json; charset=utf-8"; return 200 '${SMALL_BODY}'; }
  }
}
`;
}

/**
 * Starts nginx (with `master_process off`, one process: its PID is the server's, stopped by it)
 * serving `bytesSizes` under /bytes/. Files live in /dev/shm when it exists, so the disk is not
 * what a bulk figure measures.
 */
export async function startNginx(opts: { certPem: string; keyPem: string; bytesSizes: number[] }): Promise<Nginx> {
  const found = ensureDebianTool('nginx', 'nginx');
  if (!('path' in found)) throw new Error(`the bench needs nginx: ${found.skip}`);
  const shm = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(shm, 'mgproxy-bench-nginx-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  fs.writeFileSync(cert, opts.certPem);
  fs.writeFileSync(key, opts.keyPem, { mode: 0o600 });
  const bytesDir = path.join(dir, 'bytes');
  const sinkDir = path.join(dir, 'sink');
  fs.mkdirSync(path.join(sinkDir, '.body'), { recursive: true });
  prepareBytes(bytesDir, opts.bytesSizes);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const h2Port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, config(dir, port, h2Port, cert, key, bytesDir, sinkDir));
    const child: ChildProcess = spawn(found.path, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // A bench that dies leaves no nginx behind (stopped by its PID, like the other children).
    const onExit = () => { child.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); };
    process.once('exit', onExit);
    void exited.then(() => process.off('exit', onExit));
    if (await listening(port, child, 10_000) && await listening(h2Port, child, 10_000)) {
      return {
        pid: child.pid!, port, h2Port, sinkDir,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
          }
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
  }
  const log = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8').trim().split('\n').at(-1) : '';
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`nginx did not start: ${log}`);
}

/** Polls until `port` accepts a connection (bounded), or the process exits. */
async function listening(port: number, child: ChildProcess, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
