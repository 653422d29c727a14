/** The result of auditing one upstream host:port (docs/rules.md "`mgproxy audit --json`"), also the JSON report's `tls` entries. */
import type { Severity, TlsRuleId } from '../../config/vocabulary.js';

export interface ChainEntry {
  subject: string;
  issuer: string;
  notAfter: string;
  keyType: string;
  keyBits: number;
  signature: string;
}

export interface AuditFinding {
  rule: TlsRuleId;
  severity: Exclude<Severity, 'info'>;
  message: string;
  /** One line: what to change on the server. */
  fix: string;
}

export interface HostAudit {
  host: string;
  /** The port the client asked for, not an `upstream.hosts` mapping. */
  port: number;
  protocol: string | null;
  cipher: string | null;
  chain: ChainEntry[];
  trustedVia: 'system' | 'extraCaFiles' | null;
  findings: AuditFinding[];
}
