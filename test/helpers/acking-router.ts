import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';

/**
 * A router's RFC 5176 dynamic-authorization port, for tests of what the gateway sends:
 * keeps every request it gets, with the sender's port, and ACKs it (request code + 1,
 * Response Authenticator per RFC 5176 §3.5 over the request's).
 */
export interface AckingRouter {
  readonly port: number;
  readonly received: Array<{ raw: Buffer; fromPort: number }>;
  close(): Promise<void>;
}

export async function startAckingRouter(secret: string): Promise<AckingRouter> {
  const socket = createSocket('udp4');
  const received: AckingRouter['received'] = [];
  socket.on('message', (raw, peer) => {
    received.push({ raw, fromPort: peer.port });
    const ack = Buffer.alloc(20);
    ack[0] = raw[0]! + 1;
    ack[1] = raw[1]!;
    ack.writeUInt16BE(20, 2);
    raw.copy(ack, 4, 4, 20);
    createHash('md5').update(ack).update(secret).digest().copy(ack, 4);
    socket.send(ack, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
