/**
 * `node:http2`, loaded by the first h2 connection rather than at start: Node compiles its HTTP/2
 * modules on first load (10-25 ms on a small machine), and a proxy whose clients speak HTTP/1.1,
 * or whose first CONNECT is still being answered, needs none of it (docs/startup.md).
 */
import { createRequire } from 'node:module';
import type Http2 from 'node:http2';

let http2: typeof Http2 | undefined;

export function loadHttp2(): typeof Http2 {
  return (http2 ??= createRequire(import.meta.url)('node:http2') as typeof Http2);
}
