/**
 * `mgproxy start --host 0.0.0.0` for phones (docs/phones.md): the
 * ready line once, then every RFC 1918 address of the machine with its proxy setting, PAC URL,
 * onboarding URLs and a QR code that a real decoder reads back as the onboarding URL.
 *
 * The machine's own interfaces are not used: the proxy runs inside a network namespace the test
 * makes, whose interfaces carry 192.168.77.1, 10.77.0.1 and the public-looking 203.0.113.7.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatPhoneBlock, lanAddresses, phoneSetups } from '../proxy/phones/phones.js';
import { makeNetns, type Netns, PRIVATE_ADDRESS, PUBLIC_ADDRESS, SECOND_PRIVATE_ADDRESS } from './helpers/netns.js';
import { type ProxyProcess, READY, startProxy } from './helpers/proxy.js';
import { decodeImage, terminalQrToPbm, zbarimgMissing } from './helpers/qr-decode.js';
import { pollUntil } from './helpers/poll.js';
import { exchangeLogged } from './helpers/assertions.js';
import { viaProxy } from './helpers/clients.js';

const iface = (address: string, extra: Partial<{ family: 'IPv4' | 'IPv6'; internal: boolean }> = {}) => ({
  address, netmask: '255.255.255.0', family: extra.family ?? 'IPv4', mac: '02:00:00:00:00:01', internal: extra.internal ?? false, cidr: `${address}/24`,
}) as never;

describe('LAN addresses', () => {
  const interfaces = {
    lo: [iface('127.0.0.1', { internal: true })],
    wlan0: [iface('192.168.1.23'), iface('fd00::23', { family: 'IPv6' }), iface('fe80::1', { family: 'IPv6' })],
    eth0: [iface('10.1.2.3'), iface('172.16.0.1'), iface('172.31.255.254'), iface('172.32.0.1'), iface('172.15.0.1')],
    tun0: [iface('100.64.0.7'), iface('169.254.1.1'), iface('203.0.113.9')],
    dup: [iface('192.168.1.23')],
  };

  it('lists every RFC 1918 IPv4 address of non-internal interfaces, once each, for a wildcard host', () => {
    const want = [
      { interface: 'wlan0', address: '192.168.1.23' }, { interface: 'eth0', address: '10.1.2.3' },
      { interface: 'eth0', address: '172.16.0.1' }, { interface: 'eth0', address: '172.31.255.254' },
    ];
    assert.deepEqual(lanAddresses('0.0.0.0', interfaces), want);
    assert.deepEqual(lanAddresses('::', interfaces), want);
  });

  it('lists the given address for a specific host, and none on loopback', () => {
    assert.deepEqual(lanAddresses('192.168.1.23', interfaces), [{ interface: 'wlan0', address: '192.168.1.23' }]);
    assert.deepEqual(lanAddresses('127.0.0.1', interfaces), []);
    assert.deepEqual(lanAddresses('::1', interfaces), []);
  });

  it('gives each address its proxy, PAC and onboarding URLs', () => {
    assert.deepEqual(phoneSetups('0.0.0.0', 8899, { wlan0: [iface('192.168.1.23')] }), [{
      interface: 'wlan0', address: '192.168.1.23', port: 8899, proxy: '192.168.1.23:8899',
      pac: 'http://192.168.1.23:8899/proxy.pac', onboarding: 'http://192.168.1.23:8899/',
    }]);
  });

  it('says what to do when the machine has no private address', () => {
    assert.match(formatPhoneBlock([], { adminUrl: 'http://127.0.0.1:1', ansi: false }), /no private \(RFC 1918\) IPv4 address.*\n.*--host ADDR/);
  });

  it('draws QR codes that a decoder reads back, with and without terminal colours', { skip: zbarimgMissing() }, () => {
    const [setup] = phoneSetups('0.0.0.0', 8899, { wlan0: [iface('192.168.1.23')] });
    for (const ansi of [true, false]) {
      const block = formatPhoneBlock([setup!], { adminUrl: 'http://127.0.0.1:8900', ansi });
      assert.deepEqual(decodeImage(terminalQrToPbm(block, ansi)), ['http://192.168.1.23:8899/'], `ansi: ${ansi}`);
    }
  });
});

/** The block of one address in the printed output: its lines up to the next address. */
function sectionOf(out: string, address: string): string {
  const start = out.indexOf(`\n  ${address}  (`);
  assert.ok(start >= 0, `${address} is printed:\n${out}`);
  const next = out.slice(start + 1).search(/\n {2}\d+\.\d+\.\d+\.\d+ {2}\(/);
  return next < 0 ? out.slice(start) : out.slice(start, start + 1 + next);
}

describe('mgproxy start --host 0.0.0.0 (in a network namespace made by the test)', () => {
  const made = makeNetns();
  const skip = 'skip' in made ? made.skip : undefined;
  const ns = made as Netns;
  let human: ProxyProcess;
  let json: ProxyProcess;

  before(async () => {
    if (skip) return;
    human = await startProxy({ prefix: ns.prefix, args: ['--host', '0.0.0.0', '--pretty'] });
    json = await startProxy({ prefix: ns.prefix, args: ['--host', '0.0.0.0'] });
    // The block follows the ready line: wait until both drawings have arrived in full (their last row is all ▀).
    const complete = (text: string) => text.split('without a proxy').length === 3 && /▀{20,}$/.test(text.trimEnd());
    await pollUntil('both phone blocks drawn in full', () => complete(human.stdout()) && complete(json.stderr()), { every: 50 });
  });
  after(async () => {
    if (skip) return;
    await human.stop();
    await json.stop();
    ns.remove();
  });

  it('prints the ready line exactly once', { skip }, () => {
    for (const p of [human, json]) {
      assert.equal(p.stdout().split('\n').filter((l) => READY.test(l)).length, 1);
      assert.match(p.stdout(), /mgproxy listening on http:\/\/0\.0\.0\.0:\d+ \(admin http:\/\/127\.0\.0\.1:\d+\)/);
    }
  });

  it('prints every RFC 1918 address with its proxy setting, PAC and onboarding URLs, and no other address', { skip }, () => {
    const out = human.stdout();
    assert.ok(out.indexOf('Phones:') > out.search(READY), 'after the ready line');
    for (const address of [PRIVATE_ADDRESS, SECOND_PRIVATE_ADDRESS]) {
      const s = sectionOf(out, address);
      assert.match(s, new RegExp(`manual: server ${address.replace(/\./g, '\\.')}, port ${human.port}`));
      assert.ok(s.includes(`http://${address}:${human.port}/proxy.pac`), 'PAC URL');
      assert.ok(s.includes(`http://mgproxy.local/ through the proxy http://${address}:${human.port}`), 'onboarding through the proxy');
      assert.ok(s.includes(`http://${address}:${human.port}/ without a proxy`), 'onboarding without a proxy');
    }
    assert.ok(!out.includes(PUBLIC_ADDRESS), 'a public address is no LAN address');
    assert.ok(out.includes(`dashboard: http://127.0.0.1:${human.adminPort}/`));
  });

  it('draws a QR code per address that opens its onboarding page', { skip: skip ?? zbarimgMissing() }, () => {
    for (const address of [PRIVATE_ADDRESS, SECOND_PRIVATE_ADDRESS]) {
      const decoded = decodeImage(terminalQrToPbm(sectionOf(human.stdout(), address), false));
      assert.deepEqual(decoded, [`http://${address}:${human.port}/`]);
    }
  });

  it('keeps stdout JSON lines with --no-pretty: a "phones" line, and the drawing on stderr', { skip }, () => {
    for (const line of json.stdout().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), line);
    const phones = json.lines.find((l) => l.msg === 'phones')!.phones as { address: string; proxy: string; pac: string; onboarding: string }[];
    assert.deepEqual(phones.map((p) => p.address).sort(), [SECOND_PRIVATE_ADDRESS, PRIVATE_ADDRESS].sort());
    assert.equal(phones.find((p) => p.address === PRIVATE_ADDRESS)!.pac, `http://${PRIVATE_ADDRESS}:${json.port}/proxy.pac`);
    assert.ok(json.stderr().includes(`http://${PRIVATE_ADDRESS}:${json.port}/ without a proxy`));
    assert.match(json.stderr(), /█/);
  });

  it('prints nothing for phones on loopback', async () => {
    const p = await startProxy();
    try {
      // The phones block would follow the ready line at once; an exchange logged after it shows
      // the proxy got past that point (a host in no domain list: answered by the proxy itself).
      const url = 'https://evil.example.test/after-ready';
      assert.equal((await viaProxy(p.url, p.caPem, url)).status, 403);
      await exchangeLogged(p, url);
      assert.ok(!p.lines.some((l) => l.msg === 'phones'));
      assert.equal(p.stderr(), '');
    } finally {
      await p.stop();
    }
  });
});
