/**
 * `mgproxy run` as CI uses it: a test PKI, an HTTPS+WSS upstream answering for the fake domains,
 * a config file mapping them to it (test/helpers/fixture.ts's baseConfig), a CA folder shared by
 * the runs of a file, and the CLI run to its end as a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { baseConfig, HOSTS } from './fixture.js';
import { TestPki } from './pki.js';
import { pollUntil } from './poll.js';
import { CLI, type CliResult, READY, ROOT, tempDir } from './proxy.js';
import { startUpstream, type Upstream, type UpstreamOptions } from './upstreams.js';

/** The example suite `mgproxy run` runs in the tests (and docs/ci.md shows). */
export const GAME_CLIENT = path.join(ROOT, 'test/fixtures/game-client/game-client.test.mjs');
/** A client that makes the requests named on its command line through HTTPS_PROXY: `node REQUESTS URL['|Header: value']…`. */
export const REQUESTS = path.join(ROOT, 'test/fixtures/requests/requests.mjs');

export interface RunWorld {
  pki: TestPki;
  upstream: Upstream;
  dir: string;
  configFile: string;
  caDir: string;
  /** A file in the world's folder. */
  file(name: string): string;
  close(): Promise<void>;
}

export async function startRunWorld(opts: { config?: Record<string, unknown>; handle?: UpstreamOptions['handle'] } = {}): Promise<RunWorld> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: HOSTS });
  const upstream = await startUpstream({ cert: pki.chain(leaf), key: leaf.keyPem, handle: opts.handle });
  const dir = tempDir('mgproxy-run-test-');
  const configFile = path.join(dir, 'mgproxy.config.json');
  fs.writeFileSync(configFile, JSON.stringify(baseConfig(upstream.address, pki.rootFile, opts.config), null, 2));
  return {
    pki, upstream, dir, configFile, caDir: path.join(dir, 'ca'),
    file: (name) => path.join(dir, name),
    close: async () => {
      await upstream.close();
      pki.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult extends CliResult {
  /** From the ready line on stderr. */
  port?: number;
  adminPort?: number;
}

/**
 * The environment of the test process, less what would change a child's behaviour:
 * NODE_TEST_CONTEXT (a nested `node --test` would report to us instead of running), any
 * proxy settings of the machine, and the CI and colour settings `run`'s output follows (a test
 * run inside GitHub Actions must not annotate the run it is part of).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['NODE_TEST_CONTEXT', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy',
    'GITHUB_ACTIONS', 'GITHUB_STEP_SUMMARY', 'NO_COLOR']) delete env[k];
  return { ...env, ...extra };
}

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/** Spawns `mgproxy run ARGS -- CMD` in the world's folder; the caller ends it. */
export function spawnRun(w: RunWorld, args: string[], cmd: string[], env: NodeJS.ProcessEnv = {}, input?: string): ChildProcess & { result: Promise<RunResult> } {
  const child = spawn(process.execPath, [CLI, 'run', '--config', w.configFile, '--ca-dir', w.caDir, ...args, ...(cmd.length > 0 ? ['--', ...cmd] : [])], {
    cwd: w.dir, env: cleanEnv(env), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const result = new Promise<RunResult>((resolve) => child.on('close', (code) => {
    children.delete(child);
    const m = READY.exec(stderr);
    resolve({ code, stdout, stderr, port: m ? Number(m[2]) : undefined, adminPort: m ? Number(m[3]) : undefined });
  }));
  return Object.assign(child, { result });
}

/** Runs `mgproxy run ARGS -- CMD` to its end (SIGKILL after `timeoutMs`). */
export async function mgproxyRun(w: RunWorld, args: string[], cmd: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const child = spawnRun(w, args, cmd, opts.env, opts.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const result = await child.result;
  clearTimeout(timer);
  return result;
}

/** Waits until `file` exists (bounded). */
export async function waitForFile(file: string, ms = 20_000): Promise<void> {
  await pollUntil(`${file} to appear`, () => fs.existsSync(file), { ms, every: 50 });
}
