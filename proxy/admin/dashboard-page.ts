/**
 * The dashboard (docs/dashboard.md `GET /`): one self-contained page, its style and script inline, nothing
 * from other origins. It reads the admin API only: `/api/config` once, `/api/violations?limit=`
 * and the SSE stream `/api/events` for the live list, `/api/stats` every second for counts,
 * in-flight load and the background state; `POST /api/background` for the "Background" control.
 *
 * The list is bounded: the page keeps the newest MAX_KEPT events and draws one page of them,
 * redrawn at most every 100 ms however fast events come, so 10,000 violations stay cheap. Event
 * text goes into the DOM with textContent only. The script is `client/*.ts`, compiled by tsc with
 * the DOM types and inlined here as one module script (its top-level names stay its own).
 */
import fs from 'node:fs';
import { NETWORK_SECTION } from './dashboard-network.js';
import { HEALTH_SECTION } from './dashboard-health.js';
import { MAP_SECTION, MAP_STYLE } from './dashboard-map.js';
import { packageFile } from '../package-files.js';

export const DASHBOARD_STYLE = String.raw`
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--box:#f6f8fa;--line:#d0d7de;--accent:#0b5cad;--err:#cf222e;--warn:#9a6700;--info:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--box:#161b22;--line:#30363d;--accent:#58a6ff;--err:#ff7b72;--warn:#d29922;--info:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--box)}
header h1{font-size:1.15rem;margin:0}
.badge{border:1px solid var(--line);border-radius:1rem;padding:.05rem .55rem;font-size:.85rem}
#live.on{color:#1a7f37}#live.off{color:var(--err)}
.spacer{flex:1}
button,select,input{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.3rem .6rem}
button{cursor:pointer}button:disabled{opacity:.6;cursor:default}
#background[aria-pressed=true]{background:#d29922;border-color:#9a6700;color:#111;font-weight:600}
a{color:var(--accent)}
main{display:grid;grid-template-columns:minmax(0,1fr) 22rem;gap:1rem;padding:1rem;align-items:start}
@media (max-width:900px){main{grid-template-columns:minmax(0,1fr)}}
section{border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;margin-bottom:1rem;min-width:0}
h2{font-size:1rem;margin:0 0 .5rem}h2 .muted{font-weight:normal;font-size:.85rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.85rem}
.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}
.filters{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.5rem}
.filters input{flex:1;min-width:8rem}
.pager{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem;margin:.5rem 0}
#list td{font-size:.88rem}
#list .url{word-break:break-all}
.sev-error{color:var(--err);font-weight:600}.sev-warning{color:var(--warn);font-weight:600}.sev-info{color:var(--info)}
.rule{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
#counts button{border:0;padding:0;background:none;color:var(--accent);text-align:left}
meter{width:3rem;vertical-align:middle}.load-scroll{overflow-x:auto}#svg-ns{display:none}
#health-score.ok{color:var(--ok,#2f7d32);font-weight:700}#health-score.bad{color:var(--err);font-weight:700}#health-checks{padding-left:1rem;margin:.3rem 0}#health-checks .rule{word-break:break-all}
.qr svg{display:block;width:11rem;height:auto;margin:.3rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .6rem;margin:0}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
#error{color:var(--err);margin:.5rem 1rem 0}#error:empty{display:none}
#ca-notice{border-left:4px solid var(--err);margin:.5rem 1rem 0;padding:.3rem .7rem}
#list .rule{white-space:nowrap}
.chart svg{display:block;width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
.tl-cap{stroke-dasharray:4 3;stroke-width:1;stroke:var(--muted)}.tl-line{fill:none;stroke-width:2}
.tl-request{stroke:var(--info)}.tl-uploadFile{stroke:#8250df}.tl-downloadFile{stroke:#bc4c00}.tl-socket{stroke:#1a7f37}
.tl-label{font-size:10px;fill:var(--muted)}.tl-marker{cursor:pointer}.tl-refused{fill:var(--err)}.tl-queued{fill:#d4a72c}
.wf-wait{fill:var(--muted);opacity:.5}.wf-recv{fill:var(--info)}.wf-bad{fill:var(--err)}
#ex-scroll{position:relative;height:22rem;overflow:auto;border:1px solid var(--line);border-radius:6px}
#ex-rows{position:absolute;top:0;left:0;right:0}
.ex-row,.ex-head{display:grid;grid-template-columns:4rem minmax(0,1fr) 6.5rem 3.5rem 4.5rem 5rem 11rem;gap:.4rem;font-size:.85rem;padding:0 .4rem}
.ex-row{position:absolute;left:0;right:0;height:26px;line-height:26px;border-bottom:1px solid var(--line);cursor:pointer;white-space:nowrap}
.ex-row span,.ex-head span{overflow:hidden;text-overflow:ellipsis}.ex-row:hover{background:var(--box)}
.ex-head{color:var(--muted);font-weight:600}
#list .msg{overflow-wrap:anywhere}.tl-inflight{word-break:break-all;padding-left:1.4rem}#ex-scroll,.ex-head{max-width:100%}
#ex-detail,#tl-detail{border-top:1px solid var(--line);margin-top:.5rem;padding-top:.4rem}
#ex-detail h3,#tl-detail h3{font-size:.95rem;margin:.2rem 0;word-break:break-all}#ex-detail h4{margin:.4rem 0 .2rem;font-size:.85rem}
#ex-detail pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem;background:var(--box);padding:.3rem;margin:0;max-height:12rem;overflow:auto}
#msg-scroll{position:relative;height:16rem;overflow:auto;border:1px solid var(--line);border-radius:6px}
#msg-rows{position:absolute;top:0;left:0;right:0}
.msg-row,.msg-head{display:grid;grid-template-columns:1rem 6.2rem 5.5rem 4.5rem minmax(0,1fr);gap:.4rem;padding:0 .4rem;font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.msg-row{position:absolute;left:0;right:0;height:20px;line-height:20px;white-space:nowrap;cursor:pointer;border-bottom:1px solid var(--box)}
.msg-row span{overflow:hidden;text-overflow:ellipsis}.msg-row:hover{background:var(--box)}
.msg-head{color:var(--muted);font-weight:600;font-family:inherit}
.msg-send .msg-dir{color:var(--info);font-weight:700}.msg-receive .msg-dir{color:#1a7f37;font-weight:700}
.msg-note{margin:.1rem 0;font-size:.85rem}#msg-full{margin-top:.3rem}#msg-full p{margin:.1rem 0;font-size:.85rem}
@media (max-width:640px){.msg-row,.msg-head{grid-template-columns:1rem 3.5rem 3.8rem minmax(0,1fr)}.msg-row span:nth-child(2),.msg-head span:nth-child(2){display:none}}
@media (max-width:640px){.ex-head{display:none}.ex-row{height:40px;line-height:19px;padding-top:1px;grid-template-columns:3.2rem 3rem 4.5rem minmax(0,1fr);grid-template-areas:"m s t v" "u u u u"}
  .ex-row span:nth-child(1){grid-area:m}.ex-row span:nth-child(2){grid-area:u}.ex-row span:nth-child(4){grid-area:s}.ex-row span:nth-child(5){grid-area:t;text-align:left}.ex-row span:nth-child(7){grid-area:v}
  .ex-row span:nth-child(3),.ex-row span:nth-child(6){display:none}}
@media (max-width:640px){
  main{padding:.5rem}
  #list thead{display:none}
  #list,#list tbody{display:block}
  #list tr{display:block;border-bottom:1px solid var(--line);padding:.3rem 0}
  #list td{display:inline;border:0;padding:0 .4rem 0 0;overflow-wrap:anywhere}
  #list td.msg,#list td.url{display:block}
}
${MAP_STYLE}
`;

/**
 * The compiled browser files (`client/`) joined into one script: each file after the ones it
 * imports, their local `import` lines and `export` keywords taken out (one module scope), and
 * the source-map comments, which would point nowhere. A top-level name declared twice, or an
 * import or export left over, stops the proxy here rather than breaking the page.
 */
export function joinClientScripts(dir: URL, entry: string): string {
  const done = new Set<string>(), parts: string[] = [], names = new Map<string, string>();
  const visit = (file: string, path: string[]) => {
    if (done.has(file)) return;
    if (path.includes(file)) throw new Error(`dashboard script: import cycle ${[...path, file].join(' → ')}`);
    const text = fs.readFileSync(new URL(file, dir), 'utf8').replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
    const body = text.replace(/^import \{[^}]*\} from '\.\/([a-z-]+\.js)';\n/gm, (_l, dep: string) => { visit(dep, [...path, file]); return ''; })
      .replace(/^export \{\};\n/gm, '').replace(/^export (?=(?:async )?(?:const|let|function|class) )/gm, '');
    if (/^\s*(?:import|export)\b/m.test(body)) throw new Error(`dashboard script: ${file} has an import or export the page cannot resolve`);
    for (const [, name] of body.matchAll(/^(?:(?:async )?function\*? ?|const |let |var |class )([A-Za-z_$][\w$]*)/gm)) {
      if (names.has(name!)) throw new Error(`dashboard script: ${name} is declared in both ${names.get(name!)} and ${file}`);
      names.set(name!, file);
    }
    done.add(file);
    parts.push(`// ${file}\n${body}`);
  };
  visit(entry, []);
  return parts.join('\n');
}

/** The page's script: `client/main.ts` and what it imports. */
export const DASHBOARD_SCRIPT = joinClientScripts(packageFile('dist/proxy/admin/client/'), 'main.js');
// Inlined: the text must not close its own element.
if (/<\/script/i.test(DASHBOARD_SCRIPT)) throw new Error('the dashboard script must not contain "</script"');

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `caNotice`: the CA was replaced at this start (docs/tls-audit.md); shown until the proxy restarts. */
export function renderDashboardPage(caNotice?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>mgproxy dashboard</title>
<style>${DASHBOARD_STYLE}</style></head>
<body>
<header>
<h1>mgproxy</h1>
<span class="badge" id="mode" title="mode">…</span>
<span class="badge" id="live">connecting…</span>
<span class="muted"><span id="t-requests">0</span> requests, <span id="t-violations">0</span> violations</span>
<select id="f-client" aria-label="client"><option value="">every client</option></select>
<span class="spacer"></span>
<button type="button" id="background" aria-pressed="false" title="Background mode: requests that start get 403 background-call; those in flight are cut after 5 s">Background</button>
<span id="bg-state" class="muted">off</span>
<a href="/ca.pem" id="ca-link" download>CA certificate (ca.pem)</a>
</header>
${caNotice ? `<p id="ca-notice" role="alert">${escapeHtml(caNotice)}</p>
` : ''}<p id="error" role="alert"></p>
<main>
<div>
<section aria-labelledby="h-violations">
<h2 id="h-violations">Violations</h2>
<div class="filters">
<select id="f-rule" aria-label="rule"><option value="">every rule</option></select>
<select id="f-severity" aria-label="severity"><option value="">every severity</option><option value="error">error</option><option value="warning">warning</option><option value="info">info</option></select>
<input id="f-host" type="search" placeholder="host contains…" aria-label="host">
</div>
<div class="pager"><button type="button" id="newest">Newest</button><button type="button" id="newer">Newer</button><button type="button" id="older">Older</button><span id="page" class="muted"></span></div>
<table id="list"><thead><tr><th>time</th><th>severity</th><th>rule</th><th>api</th><th>url</th><th>client</th><th>action</th><th>message</th></tr></thead>
<tbody id="rows"></tbody></table>
<p id="empty" class="muted">No violations yet. They appear here as they happen.</p>
</section>
<section aria-labelledby="h-timeline">
<h2 id="h-timeline">In flight over time: <span id="tl-client" class="muted">no traffic yet</span></h2>
<div id="timeline" class="chart"></div><svg id="svg-ns" hidden></svg>
<p id="tl-legend" class="muted"></p>
<div id="tl-detail" hidden></div>
</section>
<section aria-labelledby="h-exchanges">
<h2 id="h-exchanges">Exchanges <span id="ex-count" class="muted"></span></h2>
<div class="filters"><input id="f-exchange" type="search" placeholder="method, URL, API, status or rule contains…" aria-label="exchange filter"></div>
<div class="ex-head"><span>method</span><span>url</span><span>api</span><span>status</span><span>time</span><span>size</span><span>violations</span></div>
<div id="ex-scroll"><div id="ex-spacer"></div><div id="ex-rows"></div></div>
<div id="ex-detail" hidden></div>
</section>
<section aria-labelledby="h-waterfall">
<h2 id="h-waterfall">Waterfall <span class="muted">(last 30: waiting, then receiving)</span></h2>
<div id="waterfall" class="chart"></div>
<p id="wf-legend" class="muted"></p>
</section>
</div>
<div>
<section aria-labelledby="h-counts" id="counts">
<h2 id="h-counts">By rule</h2>
<table><tbody id="count-rows"></tbody></table>
<p id="no-counts" class="muted">None yet.</p>
</section>
<section aria-labelledby="h-platforms" id="platforms">
<h2 id="h-platforms">By platform</h2>
<table><thead><tr><th>platform</th><th>violations</th><th>errors</th></tr></thead><tbody id="platform-rows"></tbody></table>
</section>
<section aria-labelledby="h-load">
<h2 id="h-load">In flight per client <span id="caps" class="muted"></span></h2>
<div class="load-scroll"><table><thead><tr><th>client</th><th title="request">request</th><th title="uploadFile">upload</th><th title="downloadFile">download</th><th>sockets</th><th>network</th></tr></thead><tbody id="load-rows"></tbody></table></div>
<p id="no-load" class="muted">Nothing in flight.</p>
</section>${HEALTH_SECTION}${NETWORK_SECTION}${MAP_SECTION}
<section aria-labelledby="h-phones">
<h2 id="h-phones">Phones</h2>
<div id="phones"></div>
</section>
<section aria-labelledby="h-config">
<h2 id="h-config">Config</h2>
<dl id="config"></dl>
</section>
</div>
</main>
<script type="module">${DASHBOARD_SCRIPT}</script>
</body></html>
`;
}
