/**
 * proxy/engine/relay-memory.ts: relayed chunks, each in a fresh ArrayBuffer as Node's TLS hands them
 * out, do not pile up as garbage. In process: the figure is V8's own count of ArrayBuffer memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELAY_BUDGET_BYTES, relayed } from '../proxy/engine/relay-memory.js';

const MiB = 1024 * 1024;
const RECORD = 16 * 1024;

/** Relays `total` bytes as fresh 16 KiB buffers; the most ArrayBuffer memory seen on the way. */
function relayFresh(total: number, count: (bytes: number) => void): number {
  let peak = 0;
  let sink = 0;
  for (let sent = 0, n = 0; sent < total; sent += RECORD, n++) {
    const chunk = Buffer.allocUnsafeSlow(RECORD);
    chunk[0] = n & 0xff;
    sink ^= chunk[0]!;
    count(chunk.length);
    if (n % 32 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }
  assert.ok(sink >= 0);
  return peak;
}

describe('relay memory', () => {
  it('with every chunk counted, dead chunks stay within a few budgets', () => {
    relayed(RELAY_BUDGET_BYTES); // starts from a scavenge
    const peak = relayFresh(96 * MiB, relayed);
    assert.ok(peak < 3 * RELAY_BUDGET_BYTES, `ArrayBuffer memory peaked at ${(peak / MiB).toFixed(1)} MiB`);
  });

  it('without the budget V8 lets tens of MiB of dead chunks accumulate (the cause)', () => {
    const peak = relayFresh(96 * MiB, () => undefined);
    assert.ok(peak > 24 * MiB, `expected V8 to hold more than 24 MiB of dead buffers, saw ${(peak / MiB).toFixed(1)} MiB`);
  });
});
