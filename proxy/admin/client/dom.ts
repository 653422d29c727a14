/// <reference lib="dom" />
/**
 * What every part of the dashboard's script uses: the View shape, DOM helpers, the admin API's
 * JSON, formatting, and the client picked in the header (names and the filter). Browser code:
 * see main.ts for how the files become the page's one inline script.
 */
import type { Violation } from '../../flow/events.js';
import type { stats } from '../api.js';
import type { configSummary } from '../dashboard.js';

export type Stats = ReturnType<typeof stats>;
export type DashboardConfig = ReturnType<typeof configSummary>;

/** One part of the page. */
export interface View {
  config?(c: DashboardConfig): void;
  /** `settled` is false while a Background click is under way: the poll may predate it. */
  stats?(s: Stats, settled: boolean): void;
  /** `live`: streamed now, not part of the first load. */
  violation?(v: Violation, live: boolean): void;
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
export function showError(text?: string): void {
  if ($('error').textContent !== (text ?? '')) $('error').textContent = text ?? '';
}
export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** HH:MM:SS.mmm of an ISO time or epoch ms. */
export function clock(t: string | number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
export const size = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

// The SVG namespace, read from an <svg> the HTML parser made (the page names no URL, docs/rules.md).
const SVG = document.getElementById('svg-ns')!.namespaceURI!;
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag) as SVGElementTagNameMap[K];
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// ---- Clients: their names, and the one every view shows.

interface ClientRow { client: string; name: string | null; requests: number; violations: number; sockets: number }
export const clientNames = new Map<string, string | null>();
/** The client every view shows ('' = every client). */
export function pickedClient(): string { return $<HTMLSelectElement>('f-client').value; }
export const clientLabel = (ip: string) => { const n = clientNames.get(ip); return n ? `${n} (${ip})` : ip; };
function noteClients(rows: ClientRow[]): void {
  let changed = false;
  for (const r of rows) if (clientNames.get(r.client) !== r.name || !clientNames.has(r.client)) { clientNames.set(r.client, r.name); changed = true; }
  if (!changed) return;
  const sel = $<HTMLSelectElement>('f-client'), keepIt = sel.value;
  const every = el('option', 'every client'); every.value = '';
  sel.replaceChildren(every);
  for (const ip of [...clientNames.keys()].sort()) { const o = el('option', clientLabel(ip)); o.value = ip; sel.appendChild(o); }
  sel.value = keepIt;
}
export function refreshClients(): void {
  getJson<{ clients: ClientRow[] }>('/api/clients').then((b) => noteClients(b.clients), (err) => showError(errorText(err)));
}
