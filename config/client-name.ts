/** What a client's name may be (docs/dashboard.md): checked for `--client-name`, config `clients` and `POST /api/clients`. */
import { ipFamily } from './net-address.js';

/** Names are short labels: a phone model, a tester, a device id. */
export const MAX_CLIENT_NAME_LENGTH = 64;

/** Why `ip` cannot be given `name`, or undefined when it can. */
export function clientNameProblem(ip: string, name: string): string | undefined {
  if (ipFamily(ip) === 0) return `${JSON.stringify(ip)} is not an IP address`;
  if (name.trim() === '') return `the name of ${ip} is empty`;
  if (name.length > MAX_CLIENT_NAME_LENGTH) return `the name of ${ip} is longer than ${MAX_CLIENT_NAME_LENGTH} characters`;
  // Control characters would break log lines, terminal output and the JUnit XML.
  if (/\p{Cc}/u.test(name)) return `the name of ${ip} holds control characters`;
  return undefined;
}
