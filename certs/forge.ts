/**
 * node-forge, loaded on first use. A start with an existing CA needs none of it (Node's own
 * X509Certificate loads the CA); only minting and CA creation do, and loading it costs ~15 ms of
 * every start.
 */
import { createRequire } from 'node:module';
import type Forge from 'node-forge';

let forge: typeof Forge | undefined;

export function loadForge(): typeof Forge {
  return (forge ??= createRequire(import.meta.url)('node-forge') as typeof Forge);
}
