/// <reference lib="dom" />
/**
 * The side panels: in flight per client against the caps, the Background control, the config
 * summary and the mode badge, the phones' QR codes, and the network conditions (docs/network.md: a
 * preset or fault for all clients or one, every host or one).
 */
import type { NetworkConfig, NetworkRule } from '../../../config/network.js';
import { $, clientLabel, el, errorText, getJson, pickedClient, showError, type View } from './dom.js';

// ---- In flight per client, against the caps.

type Capped = 'request' | 'uploadFile' | 'downloadFile' | 'socket';
const CAPPED: readonly Capped[] = ['request', 'uploadFile', 'downloadFile', 'socket'];
let caps: Record<Capped, number> = { request: 10, uploadFile: 10, downloadFile: 10, socket: 5 };
export const loadView: View = {
  config: (c) => {
    const k = c.concurrency;
    caps = { request: k.request, uploadFile: k.uploadFile, downloadFile: k.downloadFile, socket: k.socket };
    // One cap per API, as on a device (docs/device.md); a written `http` is one cap shared by the HTTP APIs.
    const http = k.http === undefined ? '' : `, ${k.http} shared by HTTP APIs without their own`;
    $('caps').textContent = `(caps: request ${caps.request}, uploadFile ${caps.uploadFile}, downloadFile ${caps.downloadFile}, sockets ${caps.socket}${http}; over a cap: ${k.overflow})`;
  },
  stats: (s) => {
    const picked = pickedClient();
    const load = document.createDocumentFragment(), clients = Object.keys(s.inFlight).filter((c) => !picked || c === picked).sort();
    for (const c of clients) {
      const tr = el('tr');
      tr.appendChild(el('td', clientLabel(c)));
      for (const k of CAPPED) {
        const td = el('td'), m = el('meter'), n = s.inFlight[c]![k];
        m.min = 0; m.max = caps[k]; m.value = n; m.high = caps[k] - 0.5; m.optimum = 0;
        td.appendChild(m); td.appendChild(document.createTextNode(` ${n}/${caps[k]}`));
        tr.appendChild(td);
      }
      tr.appendChild(el('td', networkFor(c), 'rule'));
      load.appendChild(tr);
    }
    $('load-rows').replaceChildren(load);
    $('no-load').hidden = clients.length > 0;
  },
};

// ---- The Background control.

let background = false;
let bgPending = false;
/** Bumped when a Background click starts and ends: a stats poll started before must not undo it. */
let bgSeq = 0;
export const backgroundSeq = () => bgSeq;
export const backgroundSettled = (seq: number) => seq === bgSeq && !bgPending;
function setBackground(on: boolean): void {
  background = on;
  $('background').setAttribute('aria-pressed', String(on));
  $('bg-state').textContent = on ? 'on: new requests get 403 background-call' : 'off';
}
export const backgroundView: View = {
  stats: (s, settled) => { if (settled) setBackground(s.background); },
};
$('background').addEventListener('click', () => {
  const btn = $<HTMLButtonElement>('background'), want = !background;
  btn.disabled = true;
  bgPending = true;
  bgSeq++;
  fetch('/api/background', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ background: want }) })
    .then(async (r) => { if (!r.ok) throw new Error(`POST /api/background: HTTP ${r.status}`); return (await r.json()) as { background: boolean }; })
    .then((b) => { setBackground(b.background); showError(); }, (err) => showError(errorText(err)))
    .finally(() => { btn.disabled = false; bgPending = false; bgSeq++; });
});

// ---- The mode badge, the config summary and the phones' QR codes.

export const configView: View = {
  config: (c) => {
    $('mode').textContent = c.mode;
    const pairs: [string, string][] = [['appid', c.appid], ['version', c.version], ['mode', c.mode], ['config', c.file ?? 'built-in defaults']];
    for (const k of ['request', 'uploadFile', 'downloadFile', 'socket'] as const) pairs.push([k, c.domains[k].length ? c.domains[k].join(', ') : '(none)']);
    pairs.push(['proxy', c.proxy ? c.proxy.url : '?']);
    const dl = $('config');
    dl.replaceChildren();
    for (const [k, v] of pairs) { dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
  },
};

export const phonesView: View = {
  config: (c) => {
    const box = $('phones');
    box.replaceChildren();
    if (!c.phones.length) {
      box.appendChild(el('p', `The proxy listens on ${c.proxy ? c.proxy.host : '?'}: phones cannot reach it. Start it with --host 0.0.0.0 for phones on this Wi-Fi.`, 'muted'));
    }
    for (const p of c.phones) {
      const fig = el('div', undefined, 'qr');
      fig.innerHTML = p.qrSvg; // drawn by the proxy (proxy/phones/qr.ts): only rect and path elements
      box.appendChild(fig);
      const d = el('dl');
      for (const [k, v] of [['Wi-Fi proxy', p.proxy], ['PAC', p.pac], ['page', p.onboarding]] as const) { d.appendChild(el('dt', k)); d.appendChild(el('dd', v)); }
      box.appendChild(d);
    }
    if (c.onboarding) {
      const a = el('a', "this computer's onboarding page"); a.href = c.onboarding; a.id = 'onboarding-link';
      const line = el('p'); line.appendChild(a); box.appendChild(line);
    }
  },
};

// ---- Network conditions (docs/network.md).

/** A fault picked here gets these parameters; the API and the config take any others. */
const FAULT_DEFAULTS: Record<string, Record<string, number>> = {
  'error-status': { status: 503, percent: 100 }, reset: { afterBytes: 0 }, 'socket-drop': { afterMs: 0 }, outage: { everyMs: 10000, forMs: 5000 },
};
let network: NetworkConfig = { default: 'none', rules: [] };
let netBusy = false;
const ruleName = (r: NetworkRule) => r.preset ?? r.fault?.type ?? (r.custom ? 'custom' : '?');
const ruleWhere = (r: NetworkRule) => `${r.client ? `client ${r.client}` : 'all clients'}${r.host ? `, host ${r.host}` : ''}`;
/** What applies to a client's requests in general, as the proxy resolves it (the last match wins); host rules are counted apart. */
function networkFor(client: string): string {
  let name: string = network.default, hostRules = 0;
  for (const r of network.rules) {
    if (r.client !== undefined && r.client !== client) continue;
    if (r.host !== undefined) hostRules++;
    else name = ruleName(r);
  }
  return hostRules ? `${name} + ${hostRules} host rule${hostRules > 1 ? 's' : ''}` : name;
}
function drawNetwork(): void {
  $('n-default').textContent = `default: ${network.default}${network.rules.length ? '; rules, the last match wins:' : '; no rules'}`;
  const rows = document.createDocumentFragment();
  network.rules.forEach((r, i) => {
    const tr = el('tr'), td = el('td'), b = el('button', 'Remove');
    tr.appendChild(el('td', ruleWhere(r)));
    tr.appendChild(el('td', ruleName(r), 'rule'));
    b.type = 'button'; b.title = 'remove this rule';
    b.addEventListener('click', () => postNetwork({ default: network.default, rules: network.rules.filter((_x, j) => j !== i) }));
    td.appendChild(b); tr.appendChild(td);
    rows.appendChild(tr);
  });
  $('n-rules').replaceChildren(rows);
}
function postNetwork(next: NetworkConfig): void {
  netBusy = true;
  $<HTMLButtonElement>('n-apply').disabled = true;
  fetch('/api/network', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(next) })
    .then(async (r) => {
      const body = (await r.json()) as NetworkConfig & { error?: string };
      if (!r.ok) throw new Error(`POST /api/network: ${body.error ?? `HTTP ${r.status}`}`);
      return body;
    })
    .then((n) => { network = n; drawNetwork(); showError(); }, (err) => showError(errorText(err)))
    .finally(() => { netBusy = false; $<HTMLButtonElement>('n-apply').disabled = false; });
}
export const networkView: View = {
  stats: () => {
    if (netBusy) return;
    getJson<NetworkConfig>('/api/network').then((n) => { if (!netBusy) { network = n; drawNetwork(); } }, (err) => showError(errorText(err)));
    getJson<{ clients: { client: string }[] }>('/api/clients').then((c) => {
      const sel = $<HTMLSelectElement>('n-client'), have = new Set(Array.from(sel.options, (o) => o.value));
      for (const { client } of c.clients) if (!have.has(client)) { const o = el('option', client); o.value = client; sel.appendChild(o); }
    }, () => undefined);
  },
};
$('n-apply').addEventListener('click', () => {
  const client = $<HTMLSelectElement>('n-client').value, host = $<HTMLInputElement>('n-host').value.trim();
  const [kind, name] = $<HTMLSelectElement>('n-condition').value.split(':') as [string, string];
  const rule: NetworkRule = {};
  if (client) rule.client = client;
  if (host) rule.host = host;
  // A new choice for the same clients and hosts replaces the old one.
  const rules = network.rules.filter((r) => r.client !== rule.client || r.host !== rule.host);
  if (kind === 'preset' && !client && !host) { postNetwork({ default: name as NetworkConfig['default'], rules }); return; }
  if (kind === 'preset') rule.preset = name as NetworkConfig['default'];
  else rule.fault = { type: name, ...FAULT_DEFAULTS[name] } as NetworkRule['fault'];
  postNetwork({ default: network.default, rules: [...rules, rule] });
});
