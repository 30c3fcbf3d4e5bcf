/**
 * The floor of a RADIUS server on Node, for bench:radius: what answering the C
 * generator's MAC authentications costs with nothing of the gateway's. As many
 * worker processes as the gateway's (node:cluster, one shared socket), each
 * datagram's Message-Authenticator checked, its User-Name looked up in a Set of the
 * known MACs, and a signed Access-Accept (Message-Authenticator first, Session-Timeout,
 * VLAN 10 in Tunnel-* attributes) or Access-Reject sent back, at the end of the turn as the
 * gateway sends its answers (src/radius/outbox.ts). No store, no RFC 5080
 * cache, no audit trail, no metrics, no logging, no checks on the packet's structure.
 *
 *   tsx bench/node-floor.ts PORT SECRET MAC_FILE WORKERS
 *
 * Prints "listening" once every worker is bound; runs until killed. Loopback only.
 */
import cluster from 'node:cluster';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Outbox } from '../src/radius/outbox.js';

const [port, secret, macFile, workers] = process.argv.slice(2) as [string, string, string, string];

if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < Number(workers); i++) {
    cluster.fork().on('message', () => {
      if (++ready === Number(workers)) console.log('listening');
    });
  }
} else {
  const known = new Set(readFileSync(macFile, 'utf8').split('\n').filter(Boolean));
  // Session-Timeout 79200 (22 hours, as the seeded sessions), Tunnel-Type VLAN, Tunnel-Medium-Type IEEE-802, Tunnel-Private-Group-Id "10", each with tag 0.
  const acceptAttributes = Buffer.from([27, 6, 0, 1, 0x35, 0x60, 64, 6, 0, 0, 0, 13, 65, 6, 0, 0, 0, 6, 81, 5, 0, 0x31, 0x30]);
  const socket = createSocket('udp4');
  // Answers leave as the gateway's do: together at the end of the turn (src/radius/outbox.ts).
  const outbox = new Outbox((err) => console.error(err));
  socket.on('message', (raw, peer) => {
    if (raw.length < 38 || raw[20] !== 80 || raw[21] !== 18) return;
    const length = raw.readUInt16BE(2);
    const received = Buffer.from(raw.subarray(22, 38));
    raw.fill(0, 22, 38);
    if (!timingSafeEqual(createHmac('md5', secret).update(raw.subarray(0, length)).digest(), received)) return;
    // User-Name: the C generator sends it right after the Message-Authenticator.
    const userName = raw[38] === 1 ? raw.toString('latin1', 40, 38 + raw[39]!) : '';
    const accept = known.has(userName);
    const body = accept ? acceptAttributes : Buffer.alloc(0);
    const answer = Buffer.alloc(38 + body.length);
    answer[0] = accept ? 2 : 3;
    answer[1] = raw[1]!;
    answer.writeUInt16BE(answer.length, 2);
    raw.copy(answer, 4, 4, 20);
    answer[20] = 80;
    answer[21] = 18;
    body.copy(answer, 38);
    createHmac('md5', secret).update(answer).digest().copy(answer, 22);
    createHash('md5').update(answer).update(secret).digest().copy(answer, 4);
    outbox.send(socket, answer, peer.port, peer.address);
  });
  socket.bind(Number(port), '127.0.0.1', () => process.send?.('ready'));
}
