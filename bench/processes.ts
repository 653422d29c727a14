/**
 * The bench's child processes: the proxy (the real CLI, pinned to its own core when it can be)
 * and the upstream. Each is stopped by its PID; the proxy's log goes to a file, as a CI job would
 * keep it, so reading it costs the load generator nothing. Memory is the kernel's count: VmRSS in
 * /proc/PID/status.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../proxy/cli.js', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream-server.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floor-proxy.js', import.meta.url));

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/** Cores: the proxy's and the load generator's (with the upstream), when pinning is possible. */
export interface Pinning { proxy: string; load: string }

/**
 * With `taskset` and at least 2 cores: the proxy on core 0, this process (the load generator)
 * and the upstream it starts on core 1. Pins this process's every thread at once.
 */
export function pinCores(): Pinning | undefined {
  if (os.cpus().length < 2) return undefined;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    return { proxy: '0', load: '1' };
  } catch {
    return undefined;
  }
}

export function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/**
 * A process's CPU time so far (user + system, /proc/PID/stat fields 14 and 15), in ms. The kernel
 * counts in clock ticks (USER_HZ, 100 on Linux), so a window needs a few seconds of CPU to be
 * read to 1 %. Unlike a rate, it changes little when other processes share the core.
 */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Samples a process's RSS every `everyMs` until stopped; resolves with the highest seen. */
export function watchRss(pid: number, everyMs = 20): { stop(): number } {
  let peak = rssKiB(pid);
  const timer = setInterval(() => { try { peak = Math.max(peak, rssKiB(pid)); } catch { /* exited */ } }, everyMs);
  return { stop: () => { clearInterval(timer); try { peak = Math.max(peak, rssKiB(pid)); } catch { /* exited */ } return peak; } };
}

function track(child: ChildProcess): void {
  children.add(child);
  child.on('exit', () => children.delete(child));
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface UpstreamProcess { pid: number; port: number; stop(): Promise<void> }

/** A Node script of the bench's that prints {"port": N} when listening, started with one argument; pinned when asked. */
async function startPortProcess(script: string, arg: string, what: string, pin?: string, nodeFlags: string[] = []): Promise<UpstreamProcess> {
  const cmd = [...(pin === undefined ? [] : ['taskset', '-c', pin]), process.execPath, ...nodeFlags, script, arg];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  track(child);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 10 s`)), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}`)); });
  });
  return { pid: child.pid!, port, stop: () => stopChild(child, exited) };
}

/** The WebSocket echo upstream (bench/upstream-server.ts), on the load generator's core. */
export function startUpstreamProcess(certFile: string): Promise<UpstreamProcess> {
  return startPortProcess(UPSTREAM, certFile, 'the upstream');
}

/**
 * The engine floor (bench/floor-proxy.ts), on the proxy's core; `file` holds {cert, key, upstreamPort}.
 * With `cpuProfDir`, under `node --cpu-prof` too, so that its profile sits beside mgproxy's of the same run.
 */
export function startFloorProcess(file: string, pinning?: Pinning, cpuProfDir?: string): Promise<UpstreamProcess> {
  const flags = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', 'floor.cpuprofile'] : [];
  return startPortProcess(FLOOR, file, 'the floor proxy', pinning?.proxy, flags);
}

export interface ProxyProcess {
  pid: number;
  port: number;
  /** `http://127.0.0.1:APORT`, from the ready line. */
  adminUrl: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface ProxyStart {
  configFile: string;
  caDir: string;
  pinning?: Pinning;
  /** A folder for `node --cpu-prof` profiles of the proxy. */
  cpuProfDir?: string;
  port?: number;
  /** Another build's `dist/proxy/cli.js` (`npm run bench -- --cli PATH`), to compare builds in one harness. */
  cli?: string;
  /** More arguments for `mgproxy start` (`--health FILE`). */
  extraArgs?: string[];
}

const READY = /mgproxy listening on http:\/\/[^:]+:(\d+) \(admin (http:\/\/[^)]+)\)/;

/** The command that runs the proxy, pinned when asked. */
export function proxyCommand(opts: ProxyStart, port: number): string[] {
  const node = [process.execPath, ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [])];
  const args = [opts.cli ?? CLI, 'start', '--port', String(port), '--admin-port', '0', '--ca-dir', opts.caDir, '--config', opts.configFile, '--no-pretty', ...(opts.extraArgs ?? [])];
  return [...(opts.pinning ? ['taskset', '-c', opts.pinning.proxy] : []), ...node, ...args];
}

export function spawnPinned(cmd: string[], logFile: string): ChildProcess {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  track(child);
  return child;
}

/** Starts the proxy and waits for its ready line in the log file (10 s at most). */
export async function startProxyProcess(opts: ProxyStart): Promise<ProxyProcess> {
  const logFile = path.join(path.dirname(opts.configFile), `proxy-${Date.now()}.log`);
  const child = spawnPinned(proxyCommand(opts, opts.port ?? 0), logFile);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = READY.exec(fs.readFileSync(logFile, 'utf8'));
    if (m) return { pid: child.pid!, port: Number(m[1]), adminUrl: m[2]!, logFile, stop: () => stopChild(child, exited) };
    if (child.exitCode !== null) throw new Error(`mgproxy exited with ${child.exitCode}:\n${fs.readFileSync(logFile, 'utf8')}`);
    if (Date.now() > deadline) throw new Error('mgproxy was not ready within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
