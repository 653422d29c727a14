/**
 * What differs between the two front ends once a response goes to the client (docs/http2.md):
 * how a head is written, how the proxy's own answer is sent, and what a cut cuts. HTTP/1.1 owns
 * the connection: a head names `connection`, a cut closes the socket. Over h2 the connection is
 * shared by every stream: no connection-specific field may be sent (RFC 9113 §8.2.2, Node throws
 * on them), a head has no reason phrase, and a cut resets this stream alone with RST_STREAM
 * CANCEL (RFC 9113 §8.7), leaving the connection's other streams untouched.
 * Everything else (body writes, 'drain', 'finish', 'close') is the same Writable on both sides.
 */
import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';
import type { Writable } from 'node:stream';
import { answerHeaders, type ProxyAnswer, sendAnswer } from './respond.js';
import { loadHttp2 } from './lazy-http2.js';

/** The client's side of an exchange (docs/http2.md: `protocol` on events, exchange lines and the HAR). */
export type ClientProtocol = 'http/1.1' | 'h2';

export type ClientResponse = ServerResponse | Http2ServerResponse;

export interface ResponseWriter {
  readonly protocol: ClientProtocol;
  /** The response body's destination. */
  readonly body: Writable;
  /** Writes the upstream's head: `flat` is name, value, … without hop-by-hop fields. May throw on a value the protocol refuses. */
  head(status: number, statusText: string, flat: readonly string[]): void;
  /** Sends the proxy's own answer, whole (called while nothing was sent). */
  answer(answer: ProxyAnswer): void;
  /** Cuts the response at once: HTTP/1.1 closes the client's connection, h2 resets this stream. */
  cut(): void;
  /** Sends the head if it is not out yet, writes `last`, and cuts once what was written has left (the `reset` fault). */
  cutAfter(last?: Buffer): void;
}

/** HTTP/1.1: the client's connection is this exchange's, kept alive or closed as the client asked. */
class Http1Writer implements ResponseWriter {
  readonly protocol = 'http/1.1';

  constructor(private readonly res: ServerResponse, private readonly wantsClose: boolean) {}

  get body(): Writable {
    return this.res;
  }

  head(status: number, statusText: string, flat: readonly string[]): void {
    // An h2 origin (or a map answer) has no reason phrase: the standard one goes in its place.
    // Node takes the raw list as it is; the head is written at once, so the list is not copied for it.
    const fields = flat as string[];
    fields.push('connection', this.wantsClose ? 'close' : 'keep-alive');
    try {
      this.res.writeHead(status, statusText || STATUS_CODES[status] || '', fields);
    } finally {
      fields.length -= 2;
    }
  }

  answer(answer: ProxyAnswer): void {
    this.res.setHeader('connection', this.wantsClose ? 'close' : 'keep-alive');
    sendAnswer(this.res, answer);
  }

  cut(): void {
    this.res.socket?.destroy();
  }

  cutAfter(last?: Buffer): void {
    const { res } = this;
    if (last && last.length > 0) res.write(last);
    // The head goes out first, as the fault says: then the connection drops.
    res.flushHeaders();
    const socket = res.socket;
    socket?.end();
    setTimeout(() => socket?.destroy(), 50).unref();
  }
}

/**
 * Fields HTTP/2 forbids (RFC 9113 §8.2.2) that an HTTP/1.1 upstream may still send; the hop-by-hop
 * ones are gone already (proxy/engine/dispatch.ts HOP_BY_HOP).
 */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);

const EMPTY = Buffer.alloc(0);

/** h2: one stream of a shared connection. */
class H2Writer implements ResponseWriter {
  readonly protocol = 'h2';

  constructor(private readonly res: Http2ServerResponse) {}

  get body(): Writable {
    return this.res;
  }

  head(status: number, _statusText: string, flat: readonly string[]): void {
    const headers: OutgoingHttpHeaders = {};
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i]!.toLowerCase();
      if (H2_FORBIDDEN.has(name)) continue;
      const seen = headers[name];
      if (seen === undefined) headers[name] = flat[i + 1]!;
      else if (Array.isArray(seen)) seen.push(flat[i + 1]!);
      else headers[name] = [String(seen), flat[i + 1]!];
    }
    this.res.writeHead(status, headers);
  }

  answer(answer: ProxyAnswer): void {
    const { res } = this;
    if (res.stream.destroyed || res.headersSent) return;
    res.writeHead(answer.status, answerHeaders(answer));
    res.end(answer.body);
  }

  cut(): void {
    const { stream } = this.res;
    if (!stream.destroyed) stream.close(loadHttp2().constants.NGHTTP2_CANCEL);
  }

  cutAfter(last?: Buffer): void {
    const { res } = this;
    if (res.stream.destroyed) return;
    // RST_STREAM overtakes DATA still queued for the stream, so the reset waits for the write
    // callback of the last bytes: the client gets exactly `afterBytes`, then the reset.
    res.write(last ?? EMPTY, () => this.cut());
  }
}

export function writerFor(res: ClientResponse, wantsClose: boolean): ResponseWriter {
  // Told apart by the HTTP/1.1 class, so that a proxy without h2 clients never loads node:http2.
  return res instanceof ServerResponse ? new Http1Writer(res, wantsClose) : new H2Writer(res);
}
