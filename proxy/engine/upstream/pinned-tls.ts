/**
 * Forwarding connections to a host whose TLS the audit found wanting but that the run still
 * forwards to (warnings, or anything in `report` mode): OpenSSL's default would refuse SHA-1,
 * small keys or TLS < 1.2, and strict verification would refuse an expired or untrusted chain.
 * So the handshake runs at security level 0 without verification, and the connection is handed
 * to the request only when the server presents the very leaf the audit checked (same SHA-256
 * fingerprint): relaxing the checks never lets a different server in. The server proved it holds
 * that leaf's key in the handshake, so the pin is as strong as the audit's own look.
 *
 * No session is resumed (no `session` option), so every connection shows its certificate.
 */
import tls from 'node:tls';
import { lenientContext } from '../../../certs/audit/lenient.js';

export class PinMismatchError extends Error {
  /** Carries `CERT` so forward.ts reports it as `upstream-tls`. */
  readonly code = 'ERR_TLS_CERT_PIN_MISMATCH';
}

/**
 * Connects like `tls.connect(options)` and calls back once the server showed the leaf with
 * fingerprint `pin` (any leaf when `pin` is undefined: `skipVerification`, the developer tools'
 * option), or with the error.
 */
export function connectPinned(
  options: tls.ConnectionOptions,
  pin: string | undefined,
  callback: (err: Error | null, socket: tls.TLSSocket) => void,
): tls.TLSSocket {
  const socket = tls.connect({ ...options, secureContext: lenientContext('any'), rejectUnauthorized: false, session: undefined });
  const onError = (err: Error) => callback(err, socket);
  socket.once('error', onError);
  socket.once('secureConnect', () => {
    socket.off('error', onError);
    const seen = socket.getPeerX509Certificate()?.fingerprint256;
    if (pin !== undefined && seen !== pin) {
      const err = new PinMismatchError(`${options.servername || options.host}:${options.port} presented a certificate (${seen ?? 'none'}) other than the one the TLS audit checked (${pin})`);
      socket.on('error', () => undefined);
      socket.destroy();
      callback(err, socket);
      return;
    }
    callback(null, socket);
  });
  return socket;
}
