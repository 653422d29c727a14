/**
 * The real CLI as a child process (pino's forked fixtures): started on port 0 with its own CA
 * folder and config, its JSON log lines parsed, stopped by its PID. Every process started here is
 * killed when the test process exits, whatever happened.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INTERNAL_ERROR } from '../../proxy/log.js';

export const CLI = fileURLToPath(new URL('../../proxy/cli.js', import.meta.url));
/** The repository root (dist/test/helpers → ../../..). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

export type LogLine = Record<string, unknown> & { msg?: string };

/** The proxy's uncaught exceptions: users are served on, but a test must not pass over a bug. */
export class ProxyBugError extends Error {}

export interface ProxyProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  /** `http://127.0.0.1:PORT` */
  url: string;
  adminUrl: string;
  dir: string;
  caDir: string;
  caFile: string;
  caPem: string;
  lines: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line (past or future) that matches, or rejects after `ms`. */
  waitFor(match: (line: LogLine) => boolean, ms?: number): Promise<LogLine>;
  violations(): LogLine[];
  /**
   * Sends `signal` and resolves with the exit code (SIGKILL after 10 s). Rejects with a
   * ProxyBugError when the proxy logged an uncaught exception, so the test that started it fails.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** Written to a temp file and passed with --config. */
  config?: object;
  args?: string[];
  /** Reuse a CA folder (default: a new one in the temp folder). */
  caDir?: string;
  env?: NodeJS.ProcessEnv;
  readyMs?: number;
  /** A command the proxy runs under, such as `['ip', 'netns', 'exec', NAME]` (it must exec, keeping the PID). */
  prefix?: string[];
}

/** The ready line; the admin host is 127.0.0.1 unless `--admin-host` says otherwise. */
export const READY = /mgproxy listening on http:\/\/(\S+):(\d+) \(admin http:\/\/(?:[^\s:/]+|\[[^\]\s]+\]):(\d+)\)/;

export function tempDir(prefix = 'mgproxy-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startProxy(opts: StartOptions = {}): Promise<ProxyProcess> {
  const dir = tempDir();
  const caDir = opts.caDir ?? path.join(dir, 'ca');
  const args = [CLI, 'start', '--port', '0', '--admin-port', '0', '--ca-dir', caDir, '--no-pretty'];
  if (opts.config) {
    const file = path.join(dir, 'mgproxy.config.json');
    fs.writeFileSync(file, JSON.stringify(opts.config, null, 2));
    args.push('--config', file);
  }
  args.push(...(opts.args ?? []));
  const [cmd, ...pre] = [...(opts.prefix ?? []), process.execPath];
  const child = spawn(cmd!, [...pre, ...args], { cwd: dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  let partial = '';
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const text of parts) {
      let line: LogLine;
      try { line = JSON.parse(text) as LogLine; } catch { line = { msg: text }; }
      lines.push(line);
      for (const w of [...waiters]) if (w.match(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  const waitFor = (match: (l: LogLine) => boolean, ms = 10_000) => {
    const found = lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; stdout:\n${out.slice(-3000)}\nstderr:\n${err.slice(-2000)}`)), ms);
      waiters.push({ match, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    });
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await Promise.race([
    waitFor((l) => READY.test(String(l.msg ?? '')), opts.readyMs ?? 15_000),
    exited.then((code) => { throw new Error(`mgproxy exited with ${code} before it was ready:\n${err}\n${out}`); }),
  ]);
  const m = READY.exec(String(ready.msg))!;
  const caFile = path.join(caDir, 'ca.pem');
  return {
    child, dir, caDir, caFile, caPem: fs.readFileSync(caFile, 'utf8'), lines,
    port: Number(m[2]), adminPort: Number(m[3]),
    url: `http://127.0.0.1:${m[2]}`, adminUrl: `http://127.0.0.1:${m[3]}`,
    stdout: () => out, stderr: () => err, waitFor,
    violations: () => lines.filter((l) => l.msg === 'violation'),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      const bugs = lines.filter((l) => l.msg === INTERNAL_ERROR);
      if (bugs.length > 0) throw new ProxyBugError(`the proxy logged ${bugs.length} uncaught exception(s): ${JSON.stringify(bugs[0])}`);
      return child.exitCode;
    },
  };
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs the CLI to its end (killed after `timeoutMs`). */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? tempDir(), env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
