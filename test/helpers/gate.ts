/**
 * A test world whose upstream holds `/held?tag=X` requests until the test releases them: the
 * concurrency tests decide when a slot frees instead of guessing a server delay.
 */
import type { ServerResponse } from 'node:http';
import { TestPki } from './pki.js';
import { startProxy, type StartOptions } from './proxy.js';
import { startUpstream } from './upstreams.js';
import { viaProxy } from './clients.js';
import { pollUntil } from './poll.js';
import { baseConfig, HOSTS, LAN_IP, PUBLIC_IP, type World } from './fixture.js';

export interface Gate {
  /** Tags the upstream received, in order of arrival. */
  arrived: string[];
  /** Tags held now. */
  held(): string[];
  /** Answers the held request `tag` (200, body `released TAG`). */
  release(tag: string): void;
  /** Resolves once the upstream has received every tag of `tags` (bounded). */
  arrivedAll(tags: string[], ms?: number): Promise<void>;
}

export interface GatedWorld extends World {
  gate: Gate;
  /** Resolves once the proxy has put the call to `url` in line for a place (its debug line). */
  waiting(url: string): Promise<void>;
}

export async function startGatedWorld(extra: Record<string, unknown> = {}, proxy: Omit<StartOptions, 'config'> = {}): Promise<GatedWorld> {
  const pki = new TestPki();
  const leaf = pki.leaf({ names: [...HOSTS, LAN_IP, PUBLIC_IP, '127.0.0.1'] });
  const waiting = new Map<string, ServerResponse>();
  const gate: Gate = {
    arrived: [],
    held: () => [...waiting.keys()],
    release: (tag) => {
      const res = waiting.get(tag);
      if (!res) throw new Error(`${tag} is not held (held: ${[...waiting.keys()].join(', ')})`);
      waiting.delete(tag);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`released ${tag}`);
    },
    arrivedAll: (tags, ms = 15_000) => pollUntil(() => `the upstream to receive ${tags.filter((t) => !gate.arrived.includes(t)).join(', ')}`, () => tags.every((t) => gate.arrived.includes(t)), { ms }),
  };
  const upstream = await startUpstream({
    cert: pki.chain(leaf), key: leaf.keyPem,
    handle: (req, res) => {
      const url = new URL(req.url ?? '/', 'https://upstream');
      if (url.pathname !== '/held') return false;
      const tag = url.searchParams.get('tag') ?? '';
      gate.arrived.push(tag);
      waiting.set(tag, res);
      res.on('close', () => { if (waiting.get(tag) === res) waiting.delete(tag); });
      req.resume();
      return true;
    },
  });
  const config = baseConfig(upstream.address, pki.rootFile, extra);
  // Debug lines say when a call joins the line for a place: the tests wait for them instead of guessing.
  const p = await startProxy({ ...proxy, args: [...proxy.args ?? [], '--log-level', 'debug'], config });
  return {
    pki, upstream, proxy: p, gate,
    waiting: async (url) => { await p.waitFor((l) => l.msg === 'waiting for a place' && l.url === url, 15_000); },
    fetch: (url, o) => viaProxy(p.url, p.caPem, url, o),
    close: async () => {
      for (const tag of gate.held()) gate.release(tag);
      await p.stop();
      await upstream.close();
      pki.cleanup();
    },
  };
}

/** A multipart body, so the proxy classifies the call as `uploadFile`. */
export function multipart(text: string): { headers: Record<string, string>; body: string } {
  const boundary = 'mgproxyboundary';
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.txt"\r\ncontent-type: text/plain\r\n\r\n${text}\r\n--${boundary}--\r\n`,
  };
}
