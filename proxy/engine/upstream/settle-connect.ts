/**
 * Handing an upstream connection to undici's connect callback once it is ready: once, with its
 * error, or with a timeout, never twice.
 */
import type net from 'node:net';
import type tls from 'node:tls';

/** A TCP connect plus TLS handshake that takes longer is an unreachable upstream (502). */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Raised when an upstream does not accept a connection in time: reported as unreachable. */
export class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

export type ConnectCallback = (err: Error | null, socket: net.Socket | null) => void;

/** Calls back once `socket` is connected (`event`), or with its error or a timeout; never twice. */
export function settleConnect(socket: net.Socket, event: 'connect' | 'secureConnect', callback: ConnectCallback): void {
  const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(`no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  const onError = (err: Error) => {
    clearTimeout(timer);
    socket.off(event, onReady);
    callback(err, null);
  };
  const onReady = () => {
    clearTimeout(timer);
    socket.off('error', onError);
    callback(null, socket);
  };
  socket.once('error', onError);
  socket.once(event, onReady);
}

/** A connection opened ahead: handed at once when its handshake is done, else when it is. */
export function handOver(socket: tls.TLSSocket, ready: boolean, callback: ConnectCallback): void {
  if (ready) process.nextTick(callback, null, socket);
  else settleConnect(socket, 'secureConnect', callback);
}
