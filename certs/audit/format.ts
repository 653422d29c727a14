/** The readable table `mgproxy audit` prints: one block per host, each finding with its fix. */
import type { AuditOutcome } from './audit.js';
import { DAY_MS } from '../x509.js';


function expiry(notAfter: Date | undefined, now: number): string {
  if (!notAfter) return '-';
  const days = Math.floor((notAfter.getTime() - now) / DAY_MS);
  const date = notAfter.toISOString().slice(0, 10);
  return days < 0 ? `expired ${-days} days ago (${date})` : `in ${days} days (${date})`;
}

function chainLine(o: AuditOutcome): string {
  const d = o.details;
  if (!d.chainNames) return '-';
  const trust = o.audit.trustedVia === 'extraCaFiles' ? `trusted via extraCaFiles (${d.trustFile})`
    : o.audit.trustedVia === 'system' ? 'trusted via the system roots' : 'not trusted';
  return `${o.audit.chain.length} sent: ${d.chainNames.join(' ← ')}; ${trust}`;
}

export function formatOutcome(o: AuditOutcome, now = Date.now()): string {
  const a = o.audit;
  const d = o.details;
  const target = `${a.host}:${a.port}`;
  const lines = [`${target}${d.route === target ? '' : ` → ${d.route}`}`];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(10)} ${value}`);
  row('protocol', a.protocol ? `${a.protocol} (TLS 1.2 ${d.tls12 ? 'accepted' : 'refused'})` : '-');
  row('cipher', a.cipher ?? '-');
  row('key', d.leafKey ?? '-');
  row('signature', d.leafSignature ?? '-');
  row('expires', expiry(d.leafNotAfter, now));
  row('chain', chainLine(o));
  if (a.findings.length === 0) {
    row('findings', 'none');
  } else {
    const errors = a.findings.filter((f) => f.severity === 'error').length;
    const warnings = a.findings.length - errors;
    row('findings', [errors && `${errors} error${errors > 1 ? 's' : ''}`, warnings && `${warnings} warning${warnings > 1 ? 's' : ''}`].filter(Boolean).join(', '));
    const width = Math.max(...a.findings.map((f) => f.rule.length));
    for (const f of a.findings) {
      lines.push(`    ${f.severity.padEnd(7)} ${f.rule.padEnd(width)}  ${f.message}`);
      lines.push(`    ${''.padEnd(7)} ${''.padEnd(width)}  fix: ${f.fix}`);
    }
  }
  return lines.join('\n');
}

export function formatSummary(outcomes: readonly AuditOutcome[]): string {
  const withErrors = outcomes.filter((o) => o.audit.findings.some((f) => f.severity === 'error')).length;
  const withWarnings = outcomes.filter((o) => o.audit.findings.length > 0).length - withErrors;
  const clean = outcomes.length - withErrors - withWarnings;
  return `${outcomes.length} host${outcomes.length === 1 ? '' : 's'} audited: ${withErrors} with errors, ${withWarnings} with warnings only, ${clean} clean`;
}
