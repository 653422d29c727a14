/**
 * The dashboard's Health panel (docs/health.md): the network health score and the checks that fail
 * now, with their offenders. The behaviour is `healthView` in client/health.ts, which reads
 * `/api/health` only (its first read starts the recorder when `--health` did not).
 */
export const HEALTH_SECTION = `
<section aria-labelledby="h-health" id="health">
<h2 id="h-health">Health <span id="health-score" class="muted">…</span></h2>
<p id="health-summary" class="muted"></p>
<ul id="health-checks"></ul>
</section>`;
