/**
 * `mgproxy audit [HOST[:PORT]…]` (docs/commands.md, docs/tls-audit.md, docs/rules.md): audits the TLS and certificate of each host,
 * default every configured domain of every list, honouring `upstream.hosts` and `extraCaFiles`.
 * Prints a table (or `--json`, docs/rules.md's shape); exit 1 if any error finding, 0 otherwise, 2 on
 * bad usage or a config with errors.
 */
import type { CommandModule } from 'yargs';
import type { AuditArgs } from './audit-handler.js';
import { withConfigOption, withUpstreamProxyOption } from './options.js';

export const auditCommand: CommandModule<object, AuditArgs> = {
  command: 'audit [hosts..]',
  describe: "audit each host's TLS and certificate against the platform's requirements (default: every configured domain)",
  builder: (y) => withUpstreamProxyOption(withConfigOption(y))
    .positional('hosts', { type: 'string', array: true, describe: 'HOST or HOST:PORT (port 443 when omitted)' })
    .option('json', { type: 'boolean', describe: 'print {"hosts": [...]} as JSON instead of the table' }) as never,
  // The probe, chain and report code is loaded when the command runs, not by every other command's start.
  handler: async (argv) => { await (await import('./audit-handler.js')).audit(argv); },
};
