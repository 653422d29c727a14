/** Which API an exchange is (docs/rules.md "Classification"): it decides the domain list, the timeout and the errMsg prefix. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Api } from '../../config/schema.js';
import type { RuntimeConfig } from '../../config/load.js';

const MULTIPART = /^\s*multipart\/form-data/i;

export function classifyApi(config: RuntimeConfig, req: { readonly method?: string; readonly headers: IncomingHttpHeaders }, host: string, upgrade: boolean): Api {
  if (upgrade) return 'connectSocket';
  const type = req.headers['content-type'];
  if (type !== undefined && MULTIPART.test(type)) return 'uploadFile';
  if (req.method === 'GET' && config.allowed.downloadFile.has(host) && !config.allowed.request.has(host)) return 'downloadFile';
  return 'request';
}
