/**
 * The inline TLS audit (docs/tls-audit.md): real TLS servers with one flaw each, real clients
 * through the proxy. Error findings answer 502 with the precise id in enforce mode, warnings pass,
 * every finding is one per-host event per run, the audit is cached (one probe for concurrent first
 * requests), report mode forwards anyway to the very leaf the audit checked.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type tls from 'node:tls';
import { curl, openWs, viaProxy } from './helpers/clients.js';
import { TestPki } from './helpers/pki.js';
import { type LogLine, type ProxyProcess, startProxy } from './helpers/proxy.js';
import { hostOf, isBlocking, startTlsWorld, TLS_CASES, tlsConfig, type TlsWorld } from './helpers/tls-cases.js';
import { pollUntil } from './helpers/poll.js';

/** Waits for the exchange line of `host` (logged at its end, after its violations) and returns the per-host TLS events of `host`. */
async function tlsEvents(proxy: ProxyProcess, host: string, count = 1): Promise<LogLine[]> {
  await pollUntil(`${count} exchange line(s) for ${host}`, () => proxy.lines.filter((l) => l.msg === 'exchange' && String(l.url).startsWith(`https://${host}`)).length >= count, { ms: 15_000 });
  return proxy.violations().filter((v) => v.host === host && /^(tls|ats)-/.test(String(v.rule)));
}

describe('inline TLS audit, enforce mode', () => {
  let world: TlsWorld;
  let proxy: ProxyProcess;
  before(async () => {
    world = await startTlsWorld();
    proxy = await startProxy({ config: tlsConfig(world) });
  });
  after(async () => {
    await proxy.stop();
    await world.close();
  });

  for (const c of TLS_CASES) {
    const host = hostOf(c);
    it(`${c.name}: ${c.ids.length ? c.ids.join(', ') : 'no finding'}${isBlocking(c) ? ', 502' : ', forwarded'}`, async () => {
      const r = await viaProxy(proxy.url, proxy.caPem, `https://${host}/echo`);
      const errorId = c.ids.find((id) => !id.startsWith('ats-'));
      if (errorId) {
        assert.equal(r.status, 502);
        assert.equal(r.headers['x-mgproxy-rule'], errorId);
        const body = r.json<{ errMsg: string; rule: string; message: string }>();
        assert.equal(body.errMsg, 'request:fail ssl hand shake error');
        assert.equal(body.rule, errorId);
        assert.equal(world.servers.get(host)!.seen.length, 0, 'the upstream never saw the request');
      } else {
        assert.equal(r.status, 200, r.body.toString());
        assert.equal(r.json<{ url: string }>().url, '/echo');
      }
      const events = await tlsEvents(proxy, host);
      assert.deepEqual(events.map((e) => e.rule), c.ids);
      for (const e of events) {
        assert.equal(e.port, 443, 'the port the client asked for, not the mapping');
        assert.equal(e.action, e.severity === 'error' ? 'blocked' : 'reported');
        assert.ok(typeof e.message === 'string' && e.message.includes(host), String(e.message));
        for (const field of ['url', 'api', 'method', 'client']) assert.equal(e[field], undefined, `no ${field} on a per-host event`);
      }
    });
  }

  it('records each finding once per host per run, however many requests follow', async () => {
    const host = hostOf('expired');
    for (let i = 0; i < 3; i++) {
      const r = await viaProxy(proxy.url, proxy.caPem, `https://${host}/echo?${i}`);
      assert.equal(r.headers['x-mgproxy-rule'], 'tls-expired');
    }
    const events = await tlsEvents(proxy, host, 4);
    assert.equal(events.length, 1);
    assert.equal(proxy.violations().filter((v) => v.rule === 'tls-expired').length, 1, 'no per-request event either');
  });

  it('answers curl with the rule and the errMsg, and lets it through a warning-only host', async () => {
    const blocked = await curl(['-x', proxy.url, '--cacert', proxy.caFile, '-i', '--suppress-connect-headers', `https://${hostOf('selfsigned')}/echo`]);
    assert.equal(blocked.code, 0, blocked.stderr);
    const text = blocked.stdout.toString();
    assert.match(text, /^HTTP\/1\.1 502/);
    assert.match(text, /x-mgproxy-rule: tls-self-signed/i);
    assert.match(text, /"errMsg":"request:fail ssl hand shake error"/);
    const passed = await curl(['-x', proxy.url, '--cacert', proxy.caFile, `https://${hostOf('rsa1024')}/bytes/10`]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.equal(passed.stdout.length, 10);
  });

  it('refuses a WebSocket to a host with an error finding, and opens one to a host with warnings only', async () => {
    await assert.rejects(openWs(proxy.url, proxy.caPem, `wss://${hostOf('wrongname')}/`), (err: Error & { status?: number; headers?: Record<string, string>; body?: string }) => {
      assert.equal(err.status, 502);
      assert.equal(err.headers?.['x-mgproxy-rule'], 'tls-hostname-mismatch');
      assert.match(err.body ?? '', /connectSocket:fail ssl hand shake error/);
      return true;
    });
    const ws = await openWs(proxy.url, proxy.caPem, `wss://${hostOf('sha1')}/`);
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('hello');
    assert.equal(await echoed, 'hello');
    ws.close();
  });
});

describe('inline TLS audit, report mode', () => {
  let world: TlsWorld;
  let proxy: ProxyProcess;
  const cases = TLS_CASES.filter((c) => ['expired', 'untrusted', 'selfsigned', 'tls11', 'tls13only', 'sha1'].includes(c.name));
  before(async () => {
    world = await startTlsWorld(cases);
    proxy = await startProxy({ config: tlsConfig(world, { mode: 'report' }) });
  });
  after(async () => {
    await proxy.stop();
    await world.close();
  });

  for (const c of cases) {
    it(`${c.name}: forwarded to the audited leaf, ${c.ids.join(', ')} reported`, async () => {
      const host = hostOf(c);
      const r = await viaProxy(proxy.url, proxy.caPem, `https://${host}/echo`);
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(world.servers.get(host)!.seen.length, 1);
      const events = await tlsEvents(proxy, host);
      assert.deepEqual(events.map((e) => e.rule), c.ids);
      assert.ok(events.every((e) => e.action === 'reported'));
    });
  }
});

/** An HTTPS server whose certificate can be swapped, counting handshakes that carried no request (the audit's probes). */
async function countingServer(pki: TestPki, host: string, opts: { hash?: 'sha1' | 'sha256'; expired?: boolean } = {}) {
  const DAY = 86_400_000;
  const leafFor = () => pki.leaf({
    names: [host], hash: opts.hash,
    ...(opts.expired ? { notBefore: new Date(Date.now() - 50 * DAY), notAfter: new Date(Date.now() - DAY) } : {}),
  });
  const first = leafFor();
  const server = https.createServer({ cert: pki.chain(first), key: first.keyPem, ciphers: 'DEFAULT:@SECLEVEL=0' }, (req, res) => {
    req.resume();
    res.end('ok');
  });
  // TCP connections are counted as they are accepted: a probe's handshake may end before the server sees its Finished.
  let connections = 0;
  const withRequests = new Set<tls.TLSSocket>();
  server.on('connection', () => { connections++; });
  server.on('request', (req) => withRequests.add(req.socket as tls.TLSSocket));
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Connections that never carried a request: the audit's. */
    probes: () => connections - withRequests.size,
    /** Presents a new leaf (same name, same issuer) from now on, and drops the connections the proxy keeps alive. */
    swapLeaf: () => {
      const next = leafFor();
      server.setSecureContext({ cert: pki.chain(next), key: next.keyPem, ciphers: 'DEFAULT:@SECLEVEL=0' });
      server.closeAllConnections();
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('inline TLS audit, cache and pinning', () => {
  let pki: TestPki;
  before(() => { pki = new TestPki(); });
  after(() => pki.cleanup());

  it('audits a host once: concurrent first requests share one probe, later ones none', async () => {
    const host = 'cached.tls.test';
    const server = await countingServer(pki, host, { hash: 'sha1' });
    const proxy = await startProxy({ config: { domains: { request: [`https://${host}`] }, upstream: { hosts: { [host]: server.address }, extraCaFiles: [pki.rootFile] } } });
    try {
      const first = await Promise.all(Array.from({ length: 6 }, (_, i) => viaProxy(proxy.url, proxy.caPem, `https://${host}/a${i}`)));
      assert.deepEqual(first.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      // The audit's two handshakes (best version, TLS 1.2 only), and the connection opened ahead
      // of the first request: strictly verified, it fails on this SHA-1 chain and is not tried again.
      assert.equal(server.probes(), 3);
      const later = await Promise.all(Array.from({ length: 6 }, (_, i) => viaProxy(proxy.url, proxy.caPem, `https://${host}/b${i}`)));
      assert.ok(later.every((r) => r.status === 200));
      assert.equal(server.probes(), 3, 'later requests pay no audit');
      const events = await tlsEvents(proxy, host, 12);
      assert.deepEqual(events.map((e) => e.rule), ['ats-weak-signature'], 'one event for the run');
    } finally {
      await proxy.stop();
      await server.close();
    }
  });

  it("judges a new host's chain from the forwarding connection's own handshake: one TLS 1.2 probe beside it, no other", async () => {
    const host = 'fresh.tls.test';
    const server = await countingServer(pki, host);
    const proxy = await startProxy({ config: { domains: { request: [`https://${host}`] }, upstream: { hosts: { [host]: server.address }, extraCaFiles: [pki.rootFile] } } });
    try {
      const r = await viaProxy(proxy.url, proxy.caPem, `https://${host}/first`);
      assert.equal(r.status, 200);
      // The connection opened at tunnel open carried the request, and its handshake is the one the
      // audit judged; only the TLS 1.2 handshake is the audit's own.
      assert.equal(server.probes(), 1);
      const api = await (await fetch(`${proxy.adminUrl}/api/report`)).json() as { tls: { host: string; protocol: string; chain: unknown[]; findings: unknown[] }[] };
      const audit = api.tls.find((t) => t.host === host)!;
      assert.deepEqual([audit.protocol, audit.chain.length, audit.findings], ['TLSv1.3', 2, []]);
    } finally {
      await proxy.stop();
      await server.close();
    }
  });

  it('forwards to a relaxed host only while it presents the leaf the audit checked', async () => {
    const host = 'pinned.tls.test';
    const server = await countingServer(pki, host, { expired: true });
    const proxy = await startProxy({
      config: { mode: 'report', domains: { request: [`https://${host}`] }, upstream: { hosts: { [host]: server.address }, extraCaFiles: [pki.rootFile] } },
    });
    try {
      const ok = await viaProxy(proxy.url, proxy.caPem, `https://${host}/x`);
      assert.equal(ok.status, 200);
      server.swapLeaf();
      const refused = await viaProxy(proxy.url, proxy.caPem, `https://${host}/y`);
      assert.equal(refused.status, 502);
      assert.equal(refused.headers['x-mgproxy-error'], 'upstream-tls');
      assert.match(refused.json<{ message: string }>().message, /other than the one the TLS audit checked/);
    } finally {
      await proxy.stop();
      await server.close();
    }
  });

  it('does not audit with skipVerification, and forwards whatever the certificate', async () => {
    const host = 'skipped.tls.test';
    const server = await countingServer(pki, host, { expired: true });
    const proxy = await startProxy({
      config: { skipVerification: true, domains: { request: [`https://${host}`] }, upstream: { hosts: { [host]: server.address }, extraCaFiles: [pki.rootFile] } },
    });
    try {
      const r = await viaProxy(proxy.url, proxy.caPem, `https://${host}/x`);
      assert.equal(r.status, 200);
      assert.deepEqual(await tlsEvents(proxy, host), []);
      assert.equal(server.probes(), 0);
    } finally {
      await proxy.stop();
      await server.close();
    }
  });

  it('leaves an unreachable host to the forwarder, and audits it again once it is up', async () => {
    const host = 'later.tls.test';
    // A free port, known before anything listens on it.
    const probe = https.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const proxy = await startProxy({
      config: { domains: { request: [`https://${host}`] }, upstream: { hosts: { [host]: `127.0.0.1:${port}` }, extraCaFiles: [pki.rootFile] } },
    });
    const DAY = 86_400_000;
    const leaf = pki.leaf({ names: [host], notBefore: new Date(Date.now() - 50 * DAY), notAfter: new Date(Date.now() - DAY) });
    const server = https.createServer({ cert: pki.chain(leaf), key: leaf.keyPem }, (_req, res) => res.end('ok'));
    try {
      const down = await viaProxy(proxy.url, proxy.caPem, `https://${host}/x`);
      assert.equal(down.status, 502);
      assert.equal(down.headers['x-mgproxy-rule'], undefined);
      assert.equal(down.headers['x-mgproxy-error'], 'upstream-unreachable');
      assert.deepEqual(await tlsEvents(proxy, host), [], 'an unreachable host is no TLS finding of the run');
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      const up = await viaProxy(proxy.url, proxy.caPem, `https://${host}/y`);
      assert.equal(up.headers['x-mgproxy-rule'], 'tls-expired');
    } finally {
      await proxy.stop();
      await new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
    }
  });
});
