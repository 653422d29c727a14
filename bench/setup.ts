/**
 * The bench's world: a test PKI with a wildcard certificate for `*.bench.test`, the proxy's
 * config (the defaults, every rule on, with the fake hosts configured and mapped to the loopback
 * upstream like a CI suite does it), and the sizes of each workload for a full or a `--quick` run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestPki } from '../test/helpers/pki.js';

export const APPID = 'wx0123456789abcdef';
/** What the runtime sends (docs/rules.md `referer-mismatch`): the rule checks it and the rewrite sets it. */
export const HEADERS: Readonly<Record<string, string>> = { referer: `https://appservice.wx.com/${APPID}/0/page-frame.html` };

export const HOSTS = { api: 'api.bench.test', cdn: 'cdn.bench.test', ws: 'ws.bench.test', h2: 'h2.bench.test' } as const;

export interface Sizes {
  rounds: number;
  warmupMs: number;
  durationMs: number;
  newHosts: number;
  bulkBytes: number;
  idleSockets: number;
  mintHosts: number;
  mintDeadlineMs: number;
  startups: number;
}

const MiB = 1024 * 1024;

export function sizes(quick: boolean, rounds?: number): Sizes {
  return quick
    ? { rounds: rounds ?? 1, warmupMs: 100, durationMs: 300, newHosts: 5, bulkBytes: 4 * MiB, idleSockets: 20, mintHosts: 50, mintDeadlineMs: 20_000, startups: 1 }
    : { rounds: rounds ?? 3, warmupMs: 1000, durationMs: 4000, newHosts: 50, bulkBytes: 256 * MiB, idleSockets: 1000, mintHosts: 10_000, mintDeadlineMs: 180_000, startups: 5 };
}

export const newHostName = (side: 'direct' | 'proxy', round: number, i: number) => `new-${side}-r${round}-${i}.bench.test`;
export const mintHostName = (i: number) => `m${i}.mint.test`;

export interface World {
  dir: string;
  pki: TestPki;
  /** {cert, key} for the upstream process. */
  certFile: string;
  /** The same certificate chain and key, PEM, for nginx. */
  certPem: string;
  keyPem: string;
  caDir: string;
  /** The proxy's config, written once the upstreams' ports are known: HTTP hosts on nginx, the WebSocket host on the Node echo. */
  writeConfig(httpPort: number, wsPort: number, h2Port?: number): string;
  cleanup(): void;
}

export function createWorld(s: Sizes): World {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgproxy-bench-'));
  const pki = new TestPki();
  const leaf = pki.leaf({ names: ['*.bench.test'] });
  const certFile = path.join(dir, 'upstream-cert.json');
  fs.writeFileSync(certFile, JSON.stringify({ cert: pki.chain(leaf), key: leaf.keyPem }));
  return {
    dir, pki, certFile, certPem: pki.chain(leaf), keyPem: leaf.keyPem, caDir: path.join(dir, 'ca'),
    writeConfig: (httpPort, wsPort, h2Port) => {
      const fresh = Array.from({ length: s.rounds }, (_, r) => Array.from({ length: s.newHosts }, (_, i) => newHostName('proxy', r, i))).flat();
      const httpHosts = [HOSTS.api, HOSTS.cdn, ...fresh];
      // The h2 rows' host: nginx's HTTP/2 server (bench/nginx.ts), listed under request.
      const h2Hosts = h2Port === undefined ? [] : [HOSTS.h2];
      const config = {
        appid: APPID,
        version: '0',
        domains: {
          request: [...httpHosts, ...h2Hosts].map((h) => `https://${h}`),
          uploadFile: [`https://${HOSTS.api}`],
          downloadFile: [`https://${HOSTS.cdn}`],
          socket: [`wss://${HOSTS.ws}`],
        },
        // The only change to the defaults: caps that let the bench's one client IP open 50
        // connections and 1,000 sockets. The accounting still runs for every exchange.
        concurrency: { http: 64, socket: 2048, overflow: 'reject' },
        upstream: {
          hosts: { ...Object.fromEntries(httpHosts.map((h) => [h, `127.0.0.1:${httpPort}`])), [HOSTS.ws]: `127.0.0.1:${wsPort}`, ...(h2Port === undefined ? {} : { [HOSTS.h2]: `127.0.0.1:${h2Port}` }) },
          extraCaFiles: [pki.rootFile],
        },
      };
      const file = path.join(dir, 'mgproxy.config.json');
      fs.writeFileSync(file, JSON.stringify(config, null, 2));
      return file;
    },
    cleanup: () => {
      pki.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
