/** Table test of the streaming validator: every way of splitting a body gives the whole-body answer. */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import { Utf8Check } from '../../proxy/rules/body/utf8-check.js';

const SAMPLES: Buffer[] = [
  Buffer.from('plain ascii'), Buffer.from('中文 ✓ 😀 é'), Buffer.from([0xff]), Buffer.from([0xe4, 0xb8]), Buffer.from('a\u00e9b'),
  Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from([0x61, 0x80]),
  Buffer.concat([Buffer.from('😀'), Buffer.from([0xf0])]), Buffer.alloc(0),
];

describe('Utf8Check', () => {
  for (const sample of SAMPLES) {
    it(`agrees with isUtf8 for ${sample.toString('hex') || '(empty)'} split every way`, () => {
      for (let a = 0; a <= sample.length; a++) {
        for (let b = a; b <= sample.length; b++) {
          const check = new Utf8Check();
          check.write(sample.subarray(0, a));
          check.write(sample.subarray(a, b));
          check.write(sample.subarray(b));
          assert.equal(check.end(), isUtf8(sample), `split at ${a}, ${b}`);
        }
      }
    });
  }
});
