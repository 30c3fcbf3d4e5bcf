import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** RADIUS State (RFC 2865 §5.24): an Access-Request without it begins an EAP conversation. */
const ATTR_STATE = 24;

/**
 * A UDP relay between one RADIUS client (eapol_test) and the server, that can hold a new
 * EAP conversation back: before it forwards the Access-Request that begins conversation
 * n (the first without State, then the next, …), it waits for `beforeConversation(n)`.
 * eapol_test re-authenticates (`-r`) at once after each success; this is where a test
 * does something in between (unenroll the device, kill a worker), without sleeping.
 * Packets are passed on unchanged (RADIUS authenticators are end to end); a copy of the
 * held request that eapol_test sends again meanwhile is dropped.
 */
export class HoldingRelay {
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private client: RemoteInfo | undefined;
  private conversations = 0;
  private held: Buffer | undefined;

  private constructor(
    private readonly server: { host: string; port: number },
    private readonly beforeConversation: (n: number) => Promise<void>,
  ) {
    this.front.on('message', (packet, from) => {
      this.client = from;
      void this.forward(packet);
    });
    this.back.on('message', (packet) => {
      if (this.client) this.front.send(packet, this.client.port, this.client.address);
    });
  }

  static async start(server: { host: string; port: number }, beforeConversation: (n: number) => Promise<void>): Promise<HoldingRelay> {
    const relay = new HoldingRelay(server, beforeConversation);
    await new Promise<void>((resolve) => relay.front.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => relay.back.bind(0, '127.0.0.1', resolve));
    return relay;
  }

  get port(): number {
    return (this.front.address() as AddressInfo).port;
  }

  close(): void {
    this.front.close();
    this.back.close();
  }

  private async forward(packet: Buffer): Promise<void> {
    if (this.held?.equals(packet)) return;
    if (packet[0] === 1 && !hasAttribute(packet, ATTR_STATE)) {
      this.held = packet;
      await this.beforeConversation(++this.conversations);
      this.held = undefined;
    }
    this.back.send(packet, this.server.port, this.server.host);
  }
}

function hasAttribute(packet: Buffer, type: number): boolean {
  const end = Math.min(packet.length, packet.readUInt16BE(2));
  for (let at = 20; at + 2 <= end && packet[at + 1]! >= 2; at += packet[at + 1]!) if (packet[at] === type) return true;
  return false;
}
