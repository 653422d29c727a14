/**
 * The exchange line (docs/ci.md: one `"msg":"exchange"` line per exchange), written from a template
 * instead of through pino's generic serialiser: pino walks the object, picks a serialiser per
 * value and stamps a new ISO time, about a tenth of the proxy's own CPU per request under load
 * (bench/README.md). The line is byte for byte what `log.info(fields, 'exchange')` writes
 * (test/exchange-line.test.ts): same keys, same order, absent values left out.
 */
import type { Exchange } from '../flow/exchange.js';
import { isoNow } from '../log.js';

/** pino's number for `info`. */
export const INFO_LEVEL = 30;

const str = JSON.stringify;

/** The fields of the line, in their order: also what pino logs when the line cannot be written straight. */
export function exchangeFields(ex: Exchange): Record<string, unknown> {
  const clientName = ex.clientName;
  return {
    id: ex.id, client: ex.client, ...(clientName === undefined ? {} : { clientName }), api: ex.api, method: ex.method, url: ex.url,
    status: ex.status ?? null, bytesIn: ex.bytesIn, bytesOut: ex.bytesOut,
    durationMs: Math.round(ex.durationMs! * 10) / 10, outcome: ex.outcome, network: ex.network?.name, protocol: ex.protocol, upstreamAlpn: ex.upstreamAlpn,
    mapped: ex.mapped,
  };
}

/** The whole line, newline included, as pino would write it at `info` with `base: undefined` and ISO time. */
export function exchangeLine(ex: Exchange): string {
  const clientName = ex.clientName;
  const network = ex.network?.name;
  return `{"level":30,"time":"${isoNow()}","id":${ex.id},"client":${str(ex.client)}${clientName === undefined ? '' : `,"clientName":${str(clientName)}`}`
    + `,"api":"${ex.api}","method":${str(ex.method)},"url":${str(ex.url)},"status":${ex.status ?? null},"bytesIn":${ex.bytesIn},"bytesOut":${ex.bytesOut}`
    + `,"durationMs":${Math.round(ex.durationMs! * 10) / 10}${ex.outcome === undefined ? '' : `,"outcome":"${ex.outcome}"`}${network === undefined ? '' : `,"network":${str(network)}`}`
    + `,"protocol":"${ex.protocol}"${ex.upstreamAlpn === undefined ? '' : `,"upstreamAlpn":${str(ex.upstreamAlpn)}`}${ex.mapped === undefined ? '' : `,"mapped":${str(ex.mapped)}`}`
    + ',"msg":"exchange"}\n';
}
