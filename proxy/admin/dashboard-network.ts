/**
 * The dashboard's network section (docs/network.md): its markup, with the preset and fault names as the
 * proxy knows them. The behaviour is `networkView` in client/panels.ts, which reads and writes
 * `/api/network` only.
 */
import { FAULT_TYPES, PRESET_NAMES } from '../../config/network.js';

const options = (kind: string, names: readonly string[]) => names.map((n) => `<option value="${kind}:${n}">${n}</option>`).join('');

export const NETWORK_SECTION = `
<section aria-labelledby="h-network">
<h2 id="h-network">Network</h2>
<div class="filters">
<select id="n-client" aria-label="network conditions for"><option value="">all clients</option></select>
<input id="n-host" type="text" placeholder="every host (or host, *.domain)" aria-label="network host">
<select id="n-condition" aria-label="network condition"><optgroup label="presets">${options('preset', PRESET_NAMES)}</optgroup><optgroup label="faults">${options('fault', FAULT_TYPES)}</optgroup></select>
<button type="button" id="n-apply">Apply</button>
</div>
<p id="n-default" class="muted"></p>
<table><tbody id="n-rules"></tbody></table>
</section>`;
