/// <reference lib="dom" />
/**
 * The exchange view's toolkit buttons (docs/toolkit.md): "Replay" sends the exchange again through
 * the proxy (`POST /api/replay`; the new exchange appears in the list from client `replay`), "Copy
 * as cURL" fetches its command line (`/api/exchange?id=N&as=curl`), shows it and copies it when the
 * browser lets the page write the clipboard.
 */
import { el, errorText } from './dom.js';

export function exchangeActions(id: number): HTMLElement {
  const box = el('div');
  const bar = el('div', undefined, 'filters');
  const replay = el('button', 'Replay'), copy = el('button', 'Copy as cURL'), note = el('span', '', 'muted');
  const command = el('pre');
  replay.type = 'button'; copy.type = 'button';
  replay.id = 'ex-replay'; copy.id = 'ex-copy-curl'; note.id = 'ex-action'; command.id = 'ex-curl';
  command.hidden = true;
  replay.addEventListener('click', () => {
    replay.disabled = true;
    fetch('/api/replay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) })
      .then(async (r) => {
        const body = (await r.json()) as { id?: number; error?: string };
        if (!r.ok) throw new Error(body.error ?? `POST /api/replay: HTTP ${r.status}`);
        note.textContent = `replayed as #${body.id}`;
      })
      .catch((err) => { note.textContent = errorText(err); })
      .finally(() => { replay.disabled = false; });
  });
  copy.addEventListener('click', () => {
    fetch(`/api/exchange?id=${id}&as=curl`, { cache: 'no-store' })
      .then(async (r) => {
        const text = await r.text();
        if (!r.ok) throw new Error((JSON.parse(text) as { error?: string }).error ?? `HTTP ${r.status}`);
        command.textContent = text;
        command.hidden = false;
        return navigator.clipboard.writeText(text).then(() => { note.textContent = 'copied'; }, () => { note.textContent = 'select the command below to copy it'; });
      })
      .catch((err) => { note.textContent = errorText(err); });
  });
  bar.append(replay, copy, note);
  box.append(bar, command);
  return box;
}
