/**
 * A network namespace made by the test (root only): a veth pair whose two ends both stay inside
 * it, one with a private address (a phone on the Wi-Fi), one with a public-looking one from
 * TEST-NET-3 (a client that LAN mode must refuse). Nothing in it can reach or be reached from the
 * machine's own network; every address used exists only in here. Removed after the test, and at
 * process exit whatever happened.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { curlBinary } from './clients.js';

// The tests run curl by name: installed first when the machine lacks it.
curlBinary();

export const PRIVATE_ADDRESS = '192.168.77.1';
export const SECOND_PRIVATE_ADDRESS = '10.77.0.1';
export const PUBLIC_ADDRESS = '203.0.113.7';

export interface Netns {
  name: string;
  /** `['ip', 'netns', 'exec', name]`, to run a command inside. */
  prefix: string[];
  remove(): void;
}

const made = new Set<string>();
process.on('exit', () => { for (const name of made) removeQuietly(name); });

function removeQuietly(name: string): void {
  try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 }); } catch { /* already gone */ }
  made.delete(name);
}

/** A new namespace, or the reason one cannot be made here (not root, no `ip`, no CAP_SYS_ADMIN). */
export function makeNetns(): Netns | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'making a network namespace needs root' };
  const name = `mgp-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  const ip = (...args: string[]) => execFileSync('ip', ['-n', name, ...args], { stdio: 'pipe', timeout: 10_000 });
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe', timeout: 10_000 });
    made.add(name);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'wlan0', 'type', 'veth', 'peer', 'name', 'wan0');
    ip('addr', 'add', `${PRIVATE_ADDRESS}/24`, 'dev', 'wlan0');
    ip('addr', 'add', `${SECOND_PRIVATE_ADDRESS}/24`, 'dev', 'wlan0');
    ip('addr', 'add', `${PUBLIC_ADDRESS}/24`, 'dev', 'wan0');
    ip('link', 'set', 'wlan0', 'up');
    ip('link', 'set', 'wan0', 'up');
  } catch (err) {
    removeQuietly(name);
    const e = err as { stderr?: Buffer; message: string };
    return { skip: `cannot make a network namespace: ${(e.stderr?.toString() || e.message).trim().split('\n')[0]}` };
  }
  return { name, prefix: ['ip', 'netns', 'exec', name], remove: () => removeQuietly(name) };
}

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs a command inside the namespace, killed after `timeoutMs`. */
export function runIn(ns: Netns, cmd: string, args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(ns.prefix[0]!, [...ns.prefix.slice(1), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('latin1'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** curl inside the namespace, its source address `from` (`--interface`), with `-sS` and a time limit. */
export function curlFrom(ns: Netns, from: string, args: string[]): Promise<Run> {
  return runIn(ns, 'curl', ['-sS', '--max-time', '15', '--interface', from, ...args]);
}
