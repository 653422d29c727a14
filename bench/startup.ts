/**
 * Process start → first CONNECT answered: the clock starts at spawn; the bench connects every
 * 2 ms until the port accepts, sends a CONNECT and stops the clock at the `200`. The CA exists
 * (an earlier start made it). Direct is Node itself: a few lines that answer CONNECT with 200,
 * started and timed the same way, so the figure shows what mgproxy adds to Node's own start.
 */
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { spawnPinned } from './processes.js';

const NODE_FLOOR = `require('net').createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 Connection Established\\r\\n\\r\\n'))).listen(${'PORT'}, '127.0.0.1')`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when a CONNECT to `port` is answered 200; connects again every 2 ms while refused. */
function firstConnectAnswer(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      let head = '';
      socket.on('connect', () => socket.write('CONNECT api.bench.test:443 HTTP/1.1\r\nHost: api.bench.test:443\r\n\r\n'));
      socket.on('data', (c: Buffer) => {
        head += c.toString('latin1');
        if (!head.includes('\r\n')) return;
        socket.destroy();
        if (head.startsWith('HTTP/1.1 200')) resolve();
        else reject(new Error(`CONNECT answered ${head.split('\r\n')[0]}`));
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        socket.destroy();
        if (err.code !== 'ECONNREFUSED') { reject(err); return; }
        if (performance.now() > deadline) { reject(new Error('the port did not accept within 10 s')); return; }
        setTimeout(attempt, 2);
      });
    };
    attempt();
  });
}

async function timeStart(cmd: (port: number) => string[], logFile: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child: ChildProcess = spawnPinned(cmd(port), logFile);
  try {
    await firstConnectAnswer(port, t0 + 10_000);
    return performance.now() - t0;
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

export function timeProxyStart(cmd: (port: number) => string[], logFile: string): Promise<number> {
  return timeStart(cmd, logFile);
}

export function timeNodeFloor(pin: string[] , logFile: string): Promise<number> {
  return timeStart((port) => [...pin, process.execPath, '-e', NODE_FLOOR.replace('PORT', String(port))], logFile);
}
