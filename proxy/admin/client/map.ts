/// <reference lib="dom" />
/**
 * The Map panel (docs/toolkit.md "Map rules"): lists the rules in force, adds, edits and removes
 * them by posting the whole list to `/api/map`. A refused list leaves the panel's list as it was
 * and shows the proxy's error, which names the first problem's path (`map[2].remote: …`).
 */
import type { MapEntry, MapRespond } from '../../../config/map.js';
import { $, el, errorText, getJson, type View } from './dom.js';

let mapList: MapEntry[] = [];
/** The index of the entry in the form, or undefined when the form adds a new one. */
let mapEditing: number | undefined;

const MAP_PLACEHOLDERS: Record<string, string> = {
  local: 'file or folder/', remote: 'base URL (the part before the last * is replaced)', respond: 'body file (or a body below)',
};

function mapAnswerText(e: MapEntry): string {
  if (e.local !== undefined) return `local → ${e.local}`;
  if (e.remote !== undefined) return `remote → ${e.remote}`;
  const r = e.respond ?? {};
  return `respond ${r.status ?? 200}${r.bodyFile !== undefined ? ` ← ${r.bodyFile}` : r.body ? ` (${r.body.length} chars)` : ''}`;
}

function drawMap(): void {
  const rows = document.createDocumentFragment();
  mapList.forEach((e, i) => {
    const tr = el('tr'), td = el('td');
    tr.appendChild(el('td', e.url));
    tr.appendChild(el('td', mapAnswerText(e), 'rule'));
    const edit = el('button', 'Edit'), remove = el('button', 'Remove');
    edit.type = 'button'; remove.type = 'button';
    edit.title = 'edit this map rule'; remove.title = 'remove this map rule';
    edit.addEventListener('click', () => mapFill(i));
    remove.addEventListener('click', () => postMap(mapList.filter((_x, j) => j !== i)));
    td.append(edit, remove);
    tr.appendChild(td);
    rows.appendChild(tr);
  });
  $('map-rows').replaceChildren(rows);
  $('map-empty').hidden = mapList.length > 0;
}

function mapTypeChanged(): void {
  const type = $<HTMLSelectElement>('m-type').value;
  $('m-respond').hidden = type !== 'respond';
  $<HTMLInputElement>('m-target').placeholder = MAP_PLACEHOLDERS[type] ?? '';
}

/** The form for entry `i` (edit), or empty (add). */
function mapFill(i?: number): void {
  mapEditing = i;
  const e: MapEntry | undefined = i === undefined ? undefined : mapList[i];
  const type = e?.remote !== undefined ? 'remote' : e?.respond !== undefined ? 'respond' : 'local';
  $<HTMLInputElement>('m-url').value = e?.url ?? '';
  $<HTMLSelectElement>('m-type').value = type;
  $<HTMLInputElement>('m-target').value = e?.local ?? e?.remote ?? e?.respond?.bodyFile ?? '';
  $<HTMLInputElement>('m-status').value = e?.respond?.status === undefined ? '' : String(e.respond.status);
  $<HTMLTextAreaElement>('m-headers').value = Object.entries(e?.respond?.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
  $<HTMLTextAreaElement>('m-body').value = e?.respond?.body ?? '';
  $('m-save').textContent = i === undefined ? 'Add' : 'Save';
  $('m-cancel').hidden = i === undefined;
  mapTypeChanged();
}

/** The entry the form describes; the proxy judges it. */
function mapFromForm(): MapEntry {
  const url = $<HTMLInputElement>('m-url').value.trim();
  const type = $<HTMLSelectElement>('m-type').value;
  const target = $<HTMLInputElement>('m-target').value.trim();
  if (type === 'local') return { url, local: target };
  if (type === 'remote') return { url, remote: target };
  const respond: MapRespond = {};
  const status = $<HTMLInputElement>('m-status').value.trim();
  if (status !== '') respond.status = Number(status);
  const headers: Record<string, string> = {};
  for (const line of $<HTMLTextAreaElement>('m-headers').value.split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    headers[(colon < 0 ? line : line.slice(0, colon)).trim()] = colon < 0 ? '' : line.slice(colon + 1).trim();
  }
  if (Object.keys(headers).length > 0) respond.headers = headers;
  const body = $<HTMLTextAreaElement>('m-body').value;
  if (target !== '') respond.bodyFile = target;
  if (body !== '' || target === '') respond.body = body;
  return { url, respond };
}

function postMap(next: MapEntry[], after?: () => void): void {
  $<HTMLButtonElement>('m-save').disabled = true;
  fetch('/api/map', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(next) })
    .then(async (r) => {
      const body = (await r.json()) as MapEntry[] | { error?: string };
      if (!r.ok) throw new Error((body as { error?: string }).error ?? `POST /api/map: HTTP ${r.status}`);
      return body as MapEntry[];
    })
    .then((list) => { mapList = list; drawMap(); $('map-error').textContent = ''; after?.(); }, (err) => { $('map-error').textContent = errorText(err); })
    .finally(() => { $<HTMLButtonElement>('m-save').disabled = false; });
}

export const mapView: View = {
  config: () => {
    getJson<MapEntry[]>('/api/map').then((list) => { mapList = list; drawMap(); }, (err) => { $('map-error').textContent = errorText(err); });
  },
};

$('m-type').addEventListener('change', mapTypeChanged);
$('m-cancel').addEventListener('click', () => { mapFill(); $('map-error').textContent = ''; });
$('m-save').addEventListener('click', () => {
  const entry = mapFromForm();
  const next = mapEditing === undefined ? [...mapList, entry] : mapList.map((e, i) => (i === mapEditing ? entry : e));
  postMap(next, () => mapFill());
});
