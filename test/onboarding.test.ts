/**
 * Onboarding (docs/phones.md): the install page, the CA in PEM, DER and Android's system-store
 * form, and the PAC file, served by the proxy itself both through the proxy (`http://mgproxy.local/`)
 * and straight at the proxy port, with curl. No violation, nothing forwarded, no key served.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { curl, readAll } from './helpers/clients.js';
import { baseConfig, HOSTS, startWorld, type World } from './helpers/fixture.js';

/** A request written byte for byte to the proxy port; the whole answer. */
async function raw(port: number, request: string | Buffer): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const all = readAll(socket);
  socket.write(request);
  return (await all).toString('latin1');
}

describe('onboarding pages', () => {
  let w: World;
  let direct: string;
  const viaProxy = (path: string, extra: string[] = []) => curl(['-i', '-x', w.proxy.url, ...extra, `http://mgproxy.local${path}`]);
  const straight = (path: string, extra: string[] = []) => curl(['-i', ...extra, `${direct}${path}`]);
  /** curl -i output → status, lower-cased headers, body bytes. */
  const parse = (out: Buffer) => {
    const end = out.indexOf('\r\n\r\n');
    const head = out.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    return { status: Number(head[0]!.split(' ')[1]), headers, body: out.subarray(end + 4) };
  };

  before(async () => {
    // mgproxy.local is even mapped to the upstream: onboarding must still never leave the proxy.
    w = await startWorld({
      config: (address, root) => baseConfig(address, root, { upstream: { hosts: Object.fromEntries([...HOSTS, 'mgproxy.local'].map((h) => [h, address])), extraCaFiles: [root] } }),
    });
    direct = w.proxy.url;
  });
  after(async () => { await w.close(); });

  for (const way of ['through the proxy', 'straight at the proxy port'] as const) {
    describe(way, () => {
      const get = (path: string, extra?: string[]) => (way === 'through the proxy' ? viaProxy(path, extra) : straight(path, extra));

      it('serves the install page naming the proxy address and port, with an inline QR code', async () => {
        const r = parse((await get('/')).stdout);
        assert.equal(r.status, 200);
        assert.match(r.headers['content-type']!, /^text\/html/);
        const html = r.body.toString('utf8');
        assert.match(html, new RegExp(`id="proxy-host">127\\.0\\.0\\.1<`));
        assert.match(html, new RegExp(`id="proxy-port">${w.proxy.port}<`));
        assert.match(html, /<svg [^>]*role="img"/);
        assert.match(html, new RegExp(`aria-label="QR code of http://127\\.0\\.0\\.1:${w.proxy.port}/"`));
        for (const needle of ['Certificate Trust Settings', 'full trust', 'Install a certificate', 'Android 7', 'WeChat 7',
          '-writable-system', 'adb root', 'adb remount', '/system/etc/security/cacerts', 'chmod 644', 'adb reboot', 'Magisk',
          'Android 14', '/apex/com.android.conscrypt/cacerts', 'nsenter', 'developer tools']) {
          assert.ok(html.includes(needle), `the page says ${needle}`);
        }
        assert.ok(html.includes(way === 'through the proxy' ? 'came through the proxy' : 'reached the proxy directly'));
      });

      it('loads nothing from another origin: no script, no external src or href', async () => {
        const r = parse((await get('/')).stdout);
        const html = r.body.toString('utf8');
        assert.doesNotMatch(html, /<script/i);
        assert.doesNotMatch(html, /\ssrc=/i);
        const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
        for (const href of hrefs) assert.match(href, new RegExp(`^(/|data:|http://mgproxy\\.local/|http://127\\.0\\.0\\.1:${w.proxy.port}/)`), href);
        assert.match(r.headers['content-security-policy']!, /default-src 'none'/);
      });

      it('serves ca.crt as DER equal to ca.pem, and the Android system-store file', async () => {
        const pem = parse((await get('/ca.pem')).stdout);
        assert.equal(pem.status, 200);
        assert.equal(pem.body.toString(), w.proxy.caPem);
        const der = parse((await get('/ca.crt')).stdout);
        assert.equal(der.status, 200);
        assert.equal(der.headers['content-type'], 'application/x-x509-ca-cert');
        assert.deepEqual(der.body, new X509Certificate(pem.body).raw);
        const hash = execFileSync('openssl', ['x509', '-subject_hash_old', '-noout', '-in', w.proxy.caFile]).toString().trim();
        const page = parse((await get('/')).stdout).body.toString();
        assert.ok(page.includes(`href="/${hash}.0"`), 'the page offers the .0 file');
        const android = parse((await get(`/${hash}.0`)).stdout);
        assert.equal(android.status, 200);
        assert.match(android.headers['content-disposition']!, new RegExp(`filename="${hash}\\.0"`));
        assert.deepEqual(new X509Certificate(android.body).raw, der.body);
      });

      it('answers the PAC with the proxy as this client reached it', async () => {
        const r = parse((await get('/proxy.pac')).stdout);
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'application/x-ns-proxy-autoconfig');
        assert.equal(r.body.toString(), `function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:${w.proxy.port}"; }`);
      });

      it('never serves the key or a path outside its table: 404', async () => {
        for (const path of ['/ca-key.pem', '/../ca-key.pem', '/%2e%2e/ca-key.pem', '/..%2fca-key.pem', '/ca.pem/../ca-key.pem', '//ca-key.pem', '/ca.pem%00', '/etc/passwd', '/index.html']) {
          const r = parse((await get(path, ['--path-as-is'])).stdout);
          assert.equal(r.status, 404, path);
          assert.doesNotMatch(r.body.toString(), /PRIVATE KEY/, path);
        }
      });

      it('answers bad requests with a 4xx', async () => {
        const post = parse((await get('/', ['-X', 'POST', '-d', 'x=1'])).stdout);
        assert.equal(post.status, 405);
        assert.equal(post.headers.allow, 'GET, HEAD');
        const body = parse((await get('/', ['-X', 'GET', '-H', 'content-type: text/plain', '--data-binary', 'hello'])).stdout);
        assert.equal(body.status, 400);
        const long = parse((await get(`/${'a'.repeat(2000)}`)).stdout);
        assert.equal(long.status, 414);
        const head = await get('/', ['-I']);
        assert.equal(parse(head.stdout).status, 200);
      });
    });
  }

  it('takes the address from the Host header of a direct request (a port-mapped proxy)', async () => {
    const page = parse((await straight('/', ['-H', 'Host: 192.168.1.50:18899'])).stdout).body.toString();
    assert.match(page, /id="proxy-host">192\.168\.1\.50</);
    assert.match(page, /id="proxy-port">18899</);
    const pac = parse((await straight('/proxy.pac', ['-H', 'Host: 192.168.1.50:18899'])).stdout).body.toString();
    assert.equal(pac, 'function FindProxyForURL(url, host) { return "PROXY 192.168.1.50:18899"; }');
    const odd = parse((await straight('/proxy.pac', ['-H', 'Host: <script>'])).stdout).body.toString();
    assert.equal(odd, `function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:${w.proxy.port}"; }`, 'a Host that is no host name is ignored');
  });

  it('answers malformed and oversized requests with 400 and 431', async () => {
    assert.match(await raw(w.proxy.port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(w.proxy.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await raw(w.proxy.port, `GET http://mgproxy.local/ HTTP/1.1\r\nHost: mgproxy.local\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  });

  it('recorded no violation and sent nothing upstream', async () => {
    const stats = await (await fetch(`${w.proxy.adminUrl}/api/stats`)).json() as { requests: number; violations: number };
    assert.equal(stats.violations, 0);
    assert.equal(stats.requests, 0, 'onboarding requests are no exchanges');
    assert.equal(w.proxy.violations().length, 0);
    assert.equal(w.upstream.seen.length, 0);
    assert.equal(w.upstream.connections, 0);
    assert.ok(w.proxy.lines.some((l) => l.msg === 'onboarding' && l.path === '/ca.crt'), 'downloads are logged');
  });
});
