/**
 * Network presets (SPEC §11), each with the published numbers it comes from. kbps are 1000 bits
 * per second, as Chrome DevTools and the Network Link Conditioner count them.
 */

/** A link's shape. A rate left out is not limited; latency, jitter and loss default to 0. */
export interface Profile {
  /** Bytes to the client, in kbps (1000 bits per second). */
  downKbps?: number;
  /** Bytes from the client, in kbps. */
  upKbps?: number;
  /** Added once per HTTP exchange before the response head, and to each WebSocket chunk. */
  latencyMs?: number;
  /** Each latency is drawn uniformly from latencyMs ± jitterMs (never below 0, order kept). */
  jitterMs?: number;
  /** Share of chunks delayed by one TCP retransmission timeout: max(200 ms, 2 × latency). */
  lossPercent?: number;
}

export const PRESETS = {
  // Chrome DevTools "Slow 3G" (front_end/core/sdk/NetworkManager.ts: 400 kbps each way, 2000 ms).
  'slow-3g': { downKbps: 400, upKbps: 400, latencyMs: 2000 },
  // Chrome DevTools "Slow 4G", formerly "Fast 3G" (NetworkManager.ts: 1.44 Mbps / 675 kbps, 562.5 ms).
  'slow-4g': { downKbps: 1440, upKbps: 675, latencyMs: 562.5 },
  // Chrome DevTools "Fast 4G" (NetworkManager.ts: 8.1 Mbps / 1.35 Mbps, 165 ms).
  'fast-4g': { downKbps: 8100, upKbps: 1350, latencyMs: 165 },
  // Apple Network Link Conditioner "3G" (Additional Tools for Xcode: 780 / 330 kbps, 100 ms).
  '3g': { downKbps: 780, upKbps: 330, latencyMs: 100 },
  // BrowserStack "edge-good" (docs: network simulation profiles: 250 / 150 kbps, 300 ms).
  'edge': { downKbps: 250, upKbps: 150, latencyMs: 300 },
  // BrowserStack "2g-gprs-lossy" (same table: 30 / 20 kbps, 650 ms, 2 % loss).
  '2g-lossy': { downKbps: 30, upKbps: 20, latencyMs: 650, lossPercent: 2 },
  // Apple Network Link Conditioner "Very Bad Network" (1 / 1 Mbps, 500 ms, 10 % loss).
  'very-bad': { downKbps: 1000, upKbps: 1000, latencyMs: 500, lossPercent: 10 },
} as const satisfies Record<string, Profile>;

export type ShapedPreset = keyof typeof PRESETS;
/** `offline`: new connections and requests fail; `none`: no condition. */
export type PresetName = ShapedPreset | 'offline' | 'none';
export const PRESET_NAMES: readonly PresetName[] = [...Object.keys(PRESETS) as ShapedPreset[], 'offline', 'none'];

export const isPresetName = (v: unknown): v is PresetName => typeof v === 'string' && (PRESET_NAMES as readonly string[]).includes(v);
