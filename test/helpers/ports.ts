import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * Free ports for peers the tests start themselves. The OS picks an unused port
 * when we bind port 0; we read it and let it go again. Another process could
 * take it in between, but on a test machine that race is rare, and it beats
 * hard-coded ports that other suites or services may already hold.
 */

/** A TCP port on 127.0.0.1 that nobody listened on a moment ago. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('net.Server.address() did not return a port'));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

/** A UDP port on 127.0.0.1 that nobody was bound to a moment ago (RADIUS peers). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Same as freeTcpPort(): most peers (slapd, Redis, HTTP) listen on TCP. */
export function freePort(): Promise<number> {
  return freeTcpPort();
}
