/// <reference lib="dom" />
/**
 * A socket's messages in its exchange's details (docs/dashboard.md): the ones the proxy keeps, then each new
 * one live from the SSE stream while the details are open. Oldest first, as in DevTools; the list
 * follows the newest while it is scrolled to the end. Virtualised: only the rows in view are in
 * the DOM, so the page keeps up to MAX_MESSAGES (100,000) for the open socket at the cost of one
 * screen. A click on a row shows the whole message as the proxy keeps it (text, or base64 for
 * binary and ping/pong; cut at 64 KiB).
 */
import type { SocketTally } from '../../sockets/messages.js';
import type { WsMessage } from '../../sockets/observer.js';
import { clock, el, size } from './dom.js';

export const MAX_MESSAGES = 100_000;
const MSG_ROW_H = 20;
const OPCODES: Record<number, string> = { 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

interface Open {
  socket: number;
  /** Streamed in before the details arrived. */
  pending: WsMessage[] | undefined;
  list: WsMessage[];
  /** Dropped from the page's list (past MAX_MESSAGES). */
  dropped: number;
  tally: SocketTally | null;
  box?: { scroll: HTMLElement; spacer: HTMLElement; rows: HTMLElement; count: HTMLElement; full: HTMLElement };
  follow: boolean;
  timer: number;
}
let current: Open | undefined;

/** The details of `socket` are being fetched (undefined: no socket's details are shown). */
export function expectSocket(socket: number | undefined): void {
  if (current?.timer) clearTimeout(current.timer);
  current = socket === undefined ? undefined : { socket, pending: [], list: [], dropped: 0, tally: null, follow: true, timer: 0 };
}

/** Messages from the SSE stream (any socket's). */
export function liveMessages(batch: WsMessage[]): void {
  const o = current;
  if (!o) return;
  let added = false;
  for (const m of batch) {
    if (m.socket !== o.socket) continue;
    if (o.pending) { o.pending.push(m); continue; }
    o.list.push(m);
    added = true;
  }
  if (added) schedule(o);
}

function schedule(o: Open): void {
  if (!o.timer) o.timer = window.setTimeout(() => { o.timer = 0; if (current === o) draw(o); }, 100);
}

/** Builds the message list in `parent` from what the proxy keeps, then what streamed in meanwhile. */
export function showSocket(parent: HTMLElement, socket: number, kept: WsMessage[], tally: SocketTally | null): void {
  if (current?.socket !== socket) expectSocket(socket);
  const o = current!;
  const last = kept.length ? kept[kept.length - 1]!.seq ?? -1 : -1;
  o.list = [...kept, ...(o.pending ?? []).filter((m) => (m.seq ?? 0) > last)];
  o.pending = undefined;
  o.tally = tally;
  const count = el('h4', undefined, 'msg-count');
  const notes: string[] = [];
  if (tally?.observedSince) notes.push(`observed since ${clock(tally.observedSince)} (the socket was open before the dashboard)`);
  for (const [type, why] of Object.entries(tally?.stopped ?? {})) notes.push(`${type === 'send' ? 'sent' : 'received'}: not observed: ${why}`);
  if (!tally) notes.push('no message observed yet: messages show from the first one that begins now');
  const head = el('div', undefined, 'msg-head');
  for (const t of ['', 'time', 'type', 'size', 'data']) head.appendChild(el('span', t));
  const scroll = el('div'), spacer = el('div'), rows = el('div'), full = el('div', undefined, 'msg-full');
  scroll.id = 'msg-scroll'; spacer.id = 'msg-spacer'; rows.id = 'msg-rows'; full.id = 'msg-full';
  scroll.append(spacer, rows);
  full.hidden = true;
  parent.append(count, ...notes.map((n) => el('p', n, 'muted msg-note')), head, scroll, full);
  o.box = { scroll, spacer, rows, count, full };
  scroll.addEventListener('scroll', () => {
    // Scrolled to the end: follow the newest; scrolled up: stay put while messages arrive.
    o.follow = scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - MSG_ROW_H;
    drawRows(o);
  }, { passive: true });
  rows.addEventListener('click', (e) => {
    const row = (e.target as HTMLElement).closest<HTMLElement>('.msg-row');
    if (row) showFull(o, Number(row.dataset.i));
  });
  draw(o);
}

function draw(o: Open): void {
  const t0 = performance.now(), b = o.box;
  if (!b) return;
  if (o.list.length > MAX_MESSAGES + 5000) {
    const cut = o.list.length - MAX_MESSAGES;
    o.list.splice(0, cut);
    o.dropped += cut;
    if (!o.follow) b.scroll.scrollTop = Math.max(0, b.scroll.scrollTop - cut * MSG_ROW_H);
  }
  const t = o.tally;
  const total = t ? ` · the proxy keeps the newest 10,000 of each socket` : '';
  b.count.textContent = `messages: ${o.list.length.toLocaleString()} shown${o.dropped ? ` (${o.dropped.toLocaleString()} older left the page, which keeps ${MAX_MESSAGES.toLocaleString()})` : ''}${total}`;
  b.spacer.style.height = `${o.list.length * MSG_ROW_H}px`;
  if (o.follow) b.scroll.scrollTop = b.scroll.scrollHeight;
  drawRows(o);
  (window as unknown as { mgproxyMsgDrawMs: number }).mgproxyMsgDrawMs = performance.now() - t0;
}

/** One line: what, when, how large, and the start of the payload. */
function summary(m: WsMessage): string {
  if (m.opcode === 8) return `${m.code ?? ''} ${m.reason ?? ''}`.trim();
  return m.data.length > 300 ? `${m.data.slice(0, 300)}…` : m.data;
}

function drawRows(o: Open): void {
  const b = o.box!;
  const first = Math.max(0, Math.floor(b.scroll.scrollTop / MSG_ROW_H) - 1), count = Math.ceil(b.scroll.clientHeight / MSG_ROW_H) + 3;
  const frag = document.createDocumentFragment();
  for (let i = first; i < Math.min(o.list.length, first + count); i++) {
    const m = o.list[i]!, row = el('div', undefined, `msg-row msg-${m.type}`);
    row.style.top = `${i * MSG_ROW_H}px`;
    row.dataset.i = String(i);
    row.title = m.type === 'send' ? 'sent by the client' : 'received from the server';
    row.appendChild(el('span', m.type === 'send' ? '↑' : '↓', 'msg-dir'));
    row.appendChild(el('span', clock(m.time * 1000), 'muted'));
    row.appendChild(el('span', `${OPCODES[m.opcode] ?? m.opcode}${m.compressed ? ' (deflate)' : ''}`));
    row.appendChild(el('span', size(m.size), 'num'));
    row.appendChild(el('span', summary(m), 'msg-data'));
    frag.appendChild(row);
  }
  b.rows.replaceChildren(frag);
}

function showFull(o: Open, i: number): void {
  const m = o.list[i], b = o.box!;
  if (!m) return;
  b.full.hidden = false;
  const what = `${m.type === 'send' ? 'sent' : 'received'} at ${clock(m.time * 1000)}, ${OPCODES[m.opcode] ?? `opcode ${m.opcode}`}, ${size(m.size)}`
    + `${m.compressed ? ', compressed' : ''}${m.opcode !== 1 && m.opcode !== 8 ? ', shown as base64' : ''}${m.truncated ? ', cut at 64 KiB' : ''}`;
  b.full.replaceChildren(el('p', what, 'muted'), el('pre', m.opcode === 8 ? `${m.code ?? ''} ${m.reason ?? ''}` : m.data));
}
