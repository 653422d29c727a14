/** proxy/engine/headers.ts: both raw forms (Node's strings, undici's Buffers) give the same answers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endToEnd, headersOf, rawHead, requestHeaders } from '../proxy/engine/headers.js';

const RAW = [
  'Connection', 'keep-alive, X-Hop', 'Keep-Alive', 'timeout=5', 'Proxy-Authenticate', 'Basic', 'Proxy-Authorization', 'Basic eDp5',
  'Proxy-Connection', 'close', 'TE', 'trailers', 'Trailer', 'X-Sum', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c',
  'X-Hop', '1', 'Set-Cookie', 'a=1', 'Accept', 'a', 'Set-Cookie', 'b=2', 'accept', 'b', 'Expect', '100-continue', 'Referer', 'https://x/',
];

describe('headers', () => {
  for (const [form, raw] of [['strings', RAW], ['Buffers', RAW.map((s) => Buffer.from(s, 'latin1'))]] as const) {
    it(`keeps only end-to-end fields, in order, from ${form}`, () => {
      assert.deepEqual(endToEnd(raw), ['Set-Cookie', 'a=1', 'Accept', 'a', 'Set-Cookie', 'b=2', 'accept', 'b', 'Expect', '100-continue', 'Referer', 'https://x/']);
      assert.deepEqual(headersOf(endToEnd(raw)), { 'set-cookie': ['a=1', 'b=2'], accept: 'a, b', expect: '100-continue', referer: 'https://x/' });
      assert.deepEqual(requestHeaders(raw, { referer: 'https://servicewechat.com/' }),
        ['Set-Cookie', 'a=1', 'Accept', 'a', 'Set-Cookie', 'b=2', 'accept', 'b', 'referer', 'https://servicewechat.com/']);
    });
  }

  it('writes a head with every field on its own line', () => {
    assert.equal(rawHead(403, undefined, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']), 'HTTP/1.1 403 Forbidden\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n');
    assert.equal(rawHead(200, 'OK', { 'content-length': '0' }), 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  });
});
