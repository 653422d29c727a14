/**
 * A loopback port that opens a CONNECT tunnel through the proxy for each connection it accepts and
 * relays both ways: for TLS clients that cannot speak to an HTTP proxy themselves (gnutls-cli,
 * NSS's tstclnt). Port 0; `close()` destroys every socket it holds.
 */
import net, { type AddressInfo } from 'node:net';
import { rawConnect } from './clients.js';

export interface TunnelRelay { port: number; close(): Promise<void> }

export async function tunnelRelay(proxyPort: number, target: string): Promise<TunnelRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    client.pause();
    rawConnect(proxyPort, target).then(({ socket, head }) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => { sockets.delete(socket); client.destroy(); });
      client.on('close', () => socket.destroy());
      if (!head.startsWith('HTTP/1.1 200') || client.destroyed) { client.destroy(); socket.destroy(); return; }
      client.pipe(socket);
      socket.pipe(client);
      client.resume();
    }, () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
