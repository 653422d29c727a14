/**
 * proxy/rules/body/textual.ts: what a Content-Type value says (textual or not, its charset), the same
 * on the first reading of a value, on later ones (kept per value), and after more distinct values
 * than it keeps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { charsetOf, isTextual } from '../../proxy/rules/body/textual.js';

const CASES: [string | undefined, boolean, string | undefined][] = [
  [undefined, false, undefined],
  ['', false, undefined],
  ['text/plain', true, undefined],
  ['Text/HTML; Charset="GBK"', true, 'gbk'],
  ['application/json; charset=utf-8', true, 'utf-8'],
  ['application/vnd.api+json', true, undefined],
  ['image/svg+xml;charset=UTF-8', true, 'utf-8'],
  ['application/x-www-form-urlencoded', true, undefined],
  ['application/octet-stream; charset=binary', false, 'binary'],
  ['image/png', false, undefined],
];

describe('Content-Type reading', () => {
  it('tells textual types and the charset, the same on every reading', () => {
    for (let round = 0; round < 2; round++) {
      for (const [type, textual, charset] of CASES) {
        assert.equal(isTextual(type), textual, `${type} textual (round ${round})`);
        assert.equal(charsetOf(type), charset, `${type} charset (round ${round})`);
      }
    }
  });

  it('answers the same after more distinct values than it keeps', () => {
    for (let i = 0; i < 600; i++) {
      assert.equal(charsetOf(`text/x-${i}; charset=iso-8859-${i % 16}`), `iso-8859-${i % 16}`);
      assert.equal(isTextual(`image/x-${i}`), false);
    }
    for (const [type, textual, charset] of CASES) {
      assert.equal(isTextual(type), textual, String(type));
      assert.equal(charsetOf(type), charset, String(type));
    }
  });
});
