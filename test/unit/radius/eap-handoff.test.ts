import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHandoff, encodeHandoff, HandoffSocket, newHandoffKey, type HandoffResult, type Peer } from '../../../src/radius/eap-handoff.js';
import { createLogger } from '../../../src/logger.js';

const key = newHandoffKey();
const raw = Buffer.from('01a1001412345678901234567890123456789012', 'hex');
const nas: Peer = { address: '10.1.2.3', port: 40123 };

describe('a hand-off datagram', () => {
  it('carries the request and its NAS (IPv4 and IPv6) back out with the same key', () => {
    expect(decodeHandoff(key, encodeHandoff(key, raw, nas))).toEqual({ raw, peer: nas });
    const v6 = { address: '2001:db8::1%eth0', port: 1 };
    expect(decodeHandoff(key, encodeHandoff(key, raw, v6))).toEqual({ raw, peer: v6 });
  });

  it('is refused under another key, with any octet changed, cut short, or of another version', () => {
    const good = encodeHandoff(key, raw, nas);
    expect(decodeHandoff(newHandoffKey(), good)).toBeUndefined();
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      expect(decodeHandoff(key, bad), `octet ${i} changed`).toBeUndefined();
    }
    for (const length of [0, 1, 17, 20, good.length - raw.length]) expect(decodeHandoff(key, good.subarray(0, length)), `${length} octets`).toBeUndefined();
    expect(decodeHandoff(key, Buffer.alloc(200))).toBeUndefined();
  });

  it('refuses a signed one whose address length is 0 or runs past the end', () => {
    // Signed with the right key, so only the length check stands between it and a bad parse.
    const sign = (addressLength: number, body: Buffer) => {
      const d = encodeHandoff(key, body, { address: 'x', port: 1 });
      d[1 + 16 + 2] = addressLength;
      return resign(d);
    };
    expect(decodeHandoff(key, resign(encodeHandoff(key, raw, nas))), 'resign signs as the key holder does').toEqual({ raw, peer: nas });
    expect(decodeHandoff(key, sign(0, raw))).toBeUndefined();
    expect(decodeHandoff(key, sign(1 + raw.length, raw))).toBeUndefined();
    expect(decodeHandoff(key, sign(65, Buffer.alloc(100)))).toBeUndefined();
  });

  it('will not carry an address longer than any real one', () => {
    expect(() => encodeHandoff(key, raw, { address: 'a'.repeat(65), port: 1 })).toThrow(/address too long/);
  });
});

/** The datagram with its tag made right again for its changed contents, as the key's holder would sign it. */
function resign(d: Buffer): Buffer {
  const out = Buffer.from(d);
  createHmac('sha256', key).update(out.subarray(0, 1)).update(out.subarray(17)).digest().subarray(0, 16).copy(out, 1);
  return out;
}

describe('the socket between workers', () => {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  async function worker(): Promise<{ socket: HandoffSocket; got: Array<{ raw: Buffer; peer: Peer }>; counts: HandoffResult[]; next: () => Promise<void> }> {
    const got: Array<{ raw: Buffer; peer: Peer }> = [];
    const counts: HandoffResult[] = [];
    let wake: (() => void) | undefined;
    const socket = await HandoffSocket.open({
      receive: (r, peer) => got.push({ raw: r, peer }),
      count: (result) => {
        counts.push(result);
        wake?.();
      },
      log: createLogger('silent'),
    });
    open.push(socket);
    // Resolves at the next count of this worker: a datagram taken or refused.
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    return { socket, got, counts, next };
  }

  it('hands a request to the owner, which gets it with its NAS; an unsigned datagram is counted as forged and goes nowhere', async () => {
    const a = await worker();
    const b = await worker();
    a.socket.setRoutes(key, [[1, a.socket.port], [2, b.socket.port]]);
    b.socket.setRoutes(key, [[1, a.socket.port], [2, b.socket.port]]);
    const arrived = b.next();
    expect(a.socket.send(2, raw, nas)).toBe(true);
    await arrived;
    expect(b.got).toEqual([{ raw, peer: nas }]);
    expect(a.counts).toEqual(['sent']);
    expect(b.counts).toEqual(['received']);

    // Anyone on the machine can send to the port: without the key it is refused.
    const stranger = createSocket('udp4');
    open.push(stranger);
    const refused = b.next();
    stranger.send(encodeHandoff(newHandoffKey(), raw, nas), b.socket.port, '127.0.0.1');
    await refused;
    expect(b.counts).toEqual(['received', 'forged']);
    expect(b.got).toHaveLength(1);
  });

  it('sends nothing to an owner it has no port for (exited), nor before it has a key', async () => {
    const a = await worker();
    expect(a.socket.send(2, raw, nas)).toBe(false);
    a.socket.setRoutes(key, [[1, a.socket.port]]);
    expect(a.socket.send(2, raw, nas)).toBe(false);
    expect(a.counts).toEqual(['no_owner', 'no_owner']);
  });

  it('takes nothing before it has a key', async () => {
    const b = await worker();
    const sender = createSocket('udp4');
    open.push(sender);
    const refused = b.next();
    sender.send(encodeHandoff(key, raw, nas), b.socket.port, '127.0.0.1');
    await refused;
    expect(b.counts).toEqual(['forged']);
    expect(b.got).toEqual([]);
  });
});
