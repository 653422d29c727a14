/**
 * The dashboard's Map section (docs/toolkit.md "Map rules"): the rules in force and a form to add
 * or edit one. The behaviour is `mapView` in client/map.ts, which reads and writes `/api/map` only;
 * a list the proxy refuses shows its error, with the path of the first problem, and stays unchanged.
 */
export const MAP_STYLE = '#map-rows td{word-break:break-all;font-size:.85rem}#map textarea{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.3rem .6rem;flex:1;min-width:8rem}#map-error:empty{display:none}';

export const MAP_SECTION = `
<section aria-labelledby="h-map" id="map">
<h2 id="h-map">Map <span class="muted">(local, remote, respond; the first match wins)</span></h2>
<table><tbody id="map-rows"></tbody></table>
<p id="map-empty" class="muted">No map rules.</p>
<div class="filters">
<input id="m-url" type="text" placeholder="URL pattern (* = any run of characters)" aria-label="map URL pattern">
<select id="m-type" aria-label="map answer"><option value="local">local</option><option value="remote">remote</option><option value="respond">respond</option></select>
<input id="m-target" type="text" placeholder="file or folder/" aria-label="map target">
</div>
<div class="filters" id="m-respond" hidden>
<input id="m-status" type="number" min="200" max="599" placeholder="status (200)" aria-label="respond status">
<textarea id="m-headers" rows="2" placeholder="Name: value (one a line)" aria-label="respond headers"></textarea>
<textarea id="m-body" rows="3" placeholder="body" aria-label="respond body"></textarea>
</div>
<div class="filters"><button type="button" id="m-save">Add</button><button type="button" id="m-cancel" hidden>Cancel</button></div>
<p id="map-error" class="sev-error" role="alert"></p>
</section>`;
