/**
 * LAN mode (docs/phones.md): only loopback and private clients may use the proxy unless
 * `--allow-clients` says otherwise; a refused client gets 403 naming its address and the flag,
 * no tunnel, and a log line.
 *
 * How the client addresses are made: the real-socket tests run the proxy inside a network
 * namespace the test makes (root), whose veth ends carry a private address and a public-looking
 * TEST-NET-3 one, and bind curl to each with --interface. Where a namespace cannot be made they
 * are skipped with the reason, and the policy is still covered by the table tests below, which
 * feed ClientAccess the address forms Node's sockets report (`::ffff:a.b.c.d` included).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientAccess, parseAllowClients } from '../proxy/phones/client-access.js';
import { curlFrom, makeNetns, type Netns, PRIVATE_ADDRESS, PUBLIC_ADDRESS, runIn } from './helpers/netns.js';
import { type ProxyProcess, runCli, startProxy } from './helpers/proxy.js';

describe('the LAN mode policy, on socket address forms', () => {
  const byDefault = new ClientAccess();
  for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '192.168.1.40', '::ffff:192.168.1.40', '10.2.3.4', '172.16.0.9', '172.31.255.1', '169.254.3.4', 'fe80::1', 'fd00::2']) {
    it(`allows ${address} by default`, () => assert.equal(byDefault.allows(address), true));
  }
  for (const address of ['203.0.113.7', '::ffff:203.0.113.7', '8.8.8.8', '172.32.0.1', '100.64.0.1', '2001:db8::1', '']) {
    it(`refuses ${JSON.stringify(address)} by default`, () => assert.equal(byDefault.allows(address), false));
  }

  it('replaces the private ranges with --allow-clients, and keeps loopback', () => {
    const { cidrs } = parseAllowClients('203.0.113.0/24, 2001:db8::/32');
    const access = new ClientAccess(cidrs);
    assert.equal(access.allows('::ffff:203.0.113.7'), true);
    assert.equal(access.allows('2001:db8::5'), true);
    assert.equal(access.allows('192.168.1.40'), false, 'the private ranges are replaced, not extended');
    assert.equal(access.allows('127.0.0.1'), true);
    assert.equal(access.allows('::1'), true);
  });

  it('names the address and --allow-clients in the refusal', () => {
    const text = new ClientAccess().refusal('::ffff:203.0.113.7');
    assert.match(text, /203\.0\.113\.7 may not use this proxy/);
    assert.match(text, /--allow-clients 203\.0\.113\.7\/32/);
    assert.match(new ClientAccess(parseAllowClients('10.0.0.0/8').cidrs).refusal('192.168.1.2'), /--allow-clients 10\.0\.0\.0\/8 only/);
  });

  it('parses --allow-clients strictly', () => {
    assert.deepEqual(parseAllowClients('10.0.0.0/8,192.0.2.1').cidrs?.map((c) => c.text), ['10.0.0.0/8', '192.0.2.1']);
    for (const bad of ['', ',', '10.0.0.0/33', '10.0.0.0/8,', 'example.com', '10.0.0.0/8/1', '::/129']) {
      assert.equal(parseAllowClients(bad).cidrs, undefined, bad);
    }
  });

  it('refuses a bad --allow-clients at start with one line and exit 2', async () => {
    const r = await runCli(['start', '--port', '0', '--allow-clients', '10.0.0.0/8,nonsense']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--allow-clients .*"nonsense"/);
  });
});

describe('LAN mode on real sockets (a network namespace made by the test)', () => {
  const made = makeNetns();
  const skip = 'skip' in made ? made.skip : undefined;
  const ns = made as Netns;
  let proxy: ProxyProcess;
  let proxyUrl: string;

  before(async () => {
    if (skip) return;
    proxy = await startProxy({ prefix: ns.prefix, args: ['--host', '0.0.0.0', '--log-level', 'debug'] });
    proxyUrl = `http://${PRIVATE_ADDRESS}:${proxy.port}`;
  });
  after(async () => {
    if (skip) return;
    await proxy.stop();
    ns.remove();
  });

  it('refuses a plain request from a public address: 403 naming it and --allow-clients, and a log line', { skip }, async () => {
    const r = await curlFrom(ns, PUBLIC_ADDRESS, ['-i', '-x', proxyUrl, 'http://mgproxy.local/proxy.pac']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 403 /);
    assert.match(r.stdout, /203\.0\.113\.7/);
    assert.match(r.stdout, /--allow-clients/);
    assert.doesNotMatch(r.stdout, /FindProxyForURL/, 'no onboarding for a refused client');
    const line = await proxy.waitFor((l) => l.client === PUBLIC_ADDRESS && /client refused/.test(String(l.msg)));
    assert.equal(line.level, 40, 'warn');
  });

  it('refuses its CONNECT with 403 and no tunnel', { skip }, async () => {
    const r = await curlFrom(ns, PUBLIC_ADDRESS, ['-v', '-x', proxyUrl, '--cacert', proxy.caFile, 'https://api.example.test/']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CONNECT tunnel failed, response 403/);
    assert.doesNotMatch(r.stderr, /200 Connection Established/i);
  });

  it('refuses its WebSocket upgrade with 403', { skip }, async () => {
    const r = await curlFrom(ns, PUBLIC_ADDRESS, ['-i', '-x', proxyUrl, '-H', 'Upgrade: websocket', '-H', 'Connection: Upgrade', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'http://ws.example.test/']);
    assert.match(r.stdout, /^HTTP\/1\.1 403 /);
    assert.match(r.stdout, /--allow-clients/);
  });

  it('serves a private client: onboarding through the proxy, and a CONNECT tunnel', { skip }, async () => {
    const pac = await curlFrom(ns, PRIVATE_ADDRESS, ['-x', proxyUrl, 'http://mgproxy.local/proxy.pac']);
    assert.equal(pac.stdout, `function FindProxyForURL(url, host) { return "PROXY ${PRIVATE_ADDRESS}:${proxy.port}"; }`);
    const tunnel = await curlFrom(ns, PRIVATE_ADDRESS, ['-v', '-x', proxyUrl, '--cacert', proxy.caFile, 'https://api.example.test/']);
    assert.match(tunnel.stderr, /< HTTP\/1\.1 200 Connection Established/i);
  });

  it('serves loopback clients always', { skip }, async () => {
    const r = await curlFrom(ns, '127.0.0.1', ['-x', `http://127.0.0.1:${proxy.port}`, 'http://mgproxy.local/proxy.pac']);
    assert.match(r.stdout, /FindProxyForURL/);
  });

  it('records no violation for refusals, and keeps the admin port off the LAN address', { skip }, async () => {
    const stats = async () => JSON.parse((await runIn(ns, 'curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${proxy.adminPort}/api/stats`])).stdout) as { requests: number; violations: number };
    const before = await stats();
    await curlFrom(ns, PUBLIC_ADDRESS, ['-x', proxyUrl, 'http://evil.example.test/']);
    await curlFrom(ns, PUBLIC_ADDRESS, ['-x', proxyUrl, '--cacert', proxy.caFile, 'https://evil.example.test/']);
    assert.deepEqual(await stats(), before, 'a refused client makes no exchange and no violation');
    assert.ok(!proxy.violations().some((v) => v.client === PUBLIC_ADDRESS));
    const lan = await curlFrom(ns, PRIVATE_ADDRESS, [`http://${PRIVATE_ADDRESS}:${proxy.adminPort}/api/stats`]);
    assert.equal(lan.code, 7, 'connection refused: the admin port listens on 127.0.0.1 only');
  });

  it('with --allow-clients: the listed public block is served, private ones refused, loopback still served', { skip }, async () => {
    const custom = await startProxy({ prefix: ns.prefix, args: ['--host', '0.0.0.0', '--allow-clients', '203.0.113.0/24'] });
    try {
      const url = `http://${PRIVATE_ADDRESS}:${custom.port}`;
      const pub = await curlFrom(ns, PUBLIC_ADDRESS, ['-x', url, 'http://mgproxy.local/proxy.pac']);
      assert.match(pub.stdout, /FindProxyForURL/);
      const priv = await curlFrom(ns, PRIVATE_ADDRESS, ['-i', '-x', url, 'http://mgproxy.local/proxy.pac']);
      assert.match(priv.stdout, /^HTTP\/1\.1 403 /);
      assert.match(priv.stdout, /192\.168\.77\.1 may not use this proxy; it accepts loopback and --allow-clients 203\.0\.113\.0\/24 only/);
      const loop = await curlFrom(ns, '127.0.0.1', ['-x', `http://127.0.0.1:${custom.port}`, 'http://mgproxy.local/proxy.pac']);
      assert.match(loop.stdout, /FindProxyForURL/);
    } finally {
      await custom.stop();
    }
  });
});
