/**
 * Another proxy in the bench's harness (bench/others.ts): http-mitm-proxy or mockttp, loaded from
 * the bench's cache folder (never from the repository's dependencies), started as a plain MITM
 * forward proxy on a loopback port with its own CA. Started as
 *   node other-proxy.js SPEC.json PORT
 * where SPEC.json is {kind, modules, caDir, rootCaFile, hosts}; `hosts` maps each fake name to a
 * loopback port (the same map mgproxy gets as `upstream.hosts`), and each proxy applies it with
 * its own hook, keeping the name as the Host header (bench/others.ts says why).
 */
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import path from 'node:path';

interface Spec {
  kind: 'http-mitm-proxy' | 'mockttp';
  /** The folder that holds node_modules/http-mitm-proxy and node_modules/mockttp. */
  modules: string;
  /** Where the proxy keeps its CA: the bench reads the CA certificate from there. */
  caDir: string;
  /** The bench's upstream root (test PKI), trusted upstream like mgproxy's `upstream.extraCaFiles`. */
  rootCaFile: string;
  hosts: Record<string, number>;
}

const spec = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Spec;
const port = Number(process.argv[3]);
const load = createRequire(path.join(spec.modules, 'node_modules', '.bench'));
const rootCa = fs.readFileSync(spec.rootCaFile, 'utf8');
fs.mkdirSync(spec.caDir, { recursive: true });

if (spec.kind === 'http-mitm-proxy') {
  // http-mitm-proxy connects to the Host header's name with its `httpsAgent` (requests and
  // WebSockets alike), so the map goes into that agent's connections: same SNI, same name checked
  // against the bench's root, only the address changes. keepAlive on both sides: without it, the
  // proxy answers `connection: close` and opens a new upstream connection for every request.
  class HostsAgent extends https.Agent {
    override createConnection(options: https.RequestOptions & { servername?: string }, callback?: (err: Error | null, socket: Duplex) => void): Duplex {
      const to = spec.hosts[String(options.host)];
      const mapped = to === undefined ? options : { ...options, host: '127.0.0.1', port: to, servername: options.servername || String(options.host) };
      return (https.Agent.prototype as unknown as { createConnection(o: unknown, cb: unknown): Duplex }).createConnection.call(this, mapped, callback);
    }
  }
  const { Proxy } = load('http-mitm-proxy') as { Proxy: new () => { listen(o: object, cb: (err?: Error) => void): void } };
  new Proxy().listen({
    host: '127.0.0.1', port, sslCaDir: spec.caDir, keepAlive: true,
    httpsAgent: new HostsAgent({ keepAlive: true, ca: rootCa }),
  }, (err) => {
    if (err) { process.stderr.write(`http-mitm-proxy: ${err.message}\n`); process.exit(1); }
  });
} else {
  interface Mockttp {
    forAnyRequest(): { thenPassThrough(o: object): Promise<unknown> };
    forAnyWebSocket(): { thenPassThrough(o: object): Promise<unknown> };
    start(port: number): Promise<void>;
  }
  const mockttp = load('mockttp') as {
    getLocal(o: object): Mockttp;
    generateCACertificate(o: object): Promise<{ key: string; cert: string }>;
  };
  const certPath = path.join(spec.caDir, 'ca.pem');
  const keyPath = path.join(spec.caDir, 'ca.key');
  if (!fs.existsSync(certPath)) {
    const ca = await mockttp.generateCACertificate({ bits: 2048, subject: { commonName: 'mockttp bench CA' } });
    fs.writeFileSync(keyPath, ca.key, { mode: 0o600 });
    fs.writeFileSync(certPath, ca.cert);
  }
  // recordTraffic off: by default mockttp keeps every request for `getSeenRequests()`, which a
  // proxy that is only passing traffic through has no use for.
  const server = mockttp.getLocal({ https: { keyPath, certPath }, recordTraffic: false, suggestChanges: false });
  // mockttp connects to the CONNECT target (the fake name, port 443). Its way to send a name
  // elsewhere is a host transform; the Host header stays the fake name (updateHostHeader false).
  // The transformed host is an IP, so mockttp sends no SNI and checks the certificate against
  // 127.0.0.1: upstream verification is off for that address (nginx and the echo serve one
  // certificate, so no SNI changes nothing they answer).
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const replacements = Object.entries(spec.hosts).map(([name, to]) => [new RegExp(`^${escape(name)}(:443)?$`), `127.0.0.1:${to}`]);
  const options = {
    transformRequest: { matchReplaceHost: { replacements, updateHostHeader: false } },
    ignoreHostHttpsErrors: ['127.0.0.1'],
  };
  await server.forAnyRequest().thenPassThrough(options);
  await server.forAnyWebSocket().thenPassThrough(options);
  await server.start(port);
}
// The bench stops it by its PID.
process.on('SIGTERM', () => process.exit(0));
