import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Outbox } from '../../../src/radius/outbox.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A socket that records what it was asked to send, and can be made to throw. */
function recordingSocket(throwFor?: string) {
  const sent: string[] = [];
  const socket = {
    send(bytes: Buffer, port: number, address: string) {
      const text = bytes.toString();
      if (text === throwFor) throw new Error(`cannot send ${text}`);
      sent.push(`${text}->${address}:${port}`);
    },
  } as unknown as Socket;
  return { socket, sent };
}

describe('Outbox', () => {
  it('sends nothing in the turn an answer is made, then everything of the turn, in order', async () => {
    const { socket, sent } = recordingSocket();
    const outbox = new Outbox(() => expect.unreachable());
    for (let i = 0; i < 5; i++) outbox.send(socket, Buffer.from(`a${i}`), 1000 + i, '127.0.0.1');
    expect(sent).toEqual([]);
    expect(outbox.size).toBe(5);
    await nextTurn();
    expect(sent).toEqual(['a0->127.0.0.1:1000', 'a1->127.0.0.1:1001', 'a2->127.0.0.1:1002', 'a3->127.0.0.1:1003', 'a4->127.0.0.1:1004']);
    expect(outbox.size).toBe(0);
    // The next turn's answers are a new batch, sent once.
    outbox.send(socket, Buffer.from('b'), 2000, '::1');
    await nextTurn();
    await nextTurn();
    expect(sent.slice(5)).toEqual(['b->::1:2000']);
  });

  it('a send that throws is handed to failed; the answers after it still go', async () => {
    const { socket, sent } = recordingSocket('bad');
    const failures: unknown[] = [];
    const outbox = new Outbox((err) => failures.push(err));
    outbox.send(socket, Buffer.from('one'), 1, '127.0.0.1');
    outbox.send(socket, Buffer.from('bad'), 2, '127.0.0.1');
    outbox.send(socket, Buffer.from('three'), 3, '127.0.0.1');
    await nextTurn();
    expect(sent).toEqual(['one->127.0.0.1:1', 'three->127.0.0.1:3']);
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe('cannot send bad');
  });

  it('flush() sends what waits at once, and the turn-end flush then sends nothing twice', async () => {
    const { socket, sent } = recordingSocket();
    const outbox = new Outbox(() => expect.unreachable());
    outbox.send(socket, Buffer.from('x'), 1, '127.0.0.1');
    outbox.flush();
    expect(sent).toEqual(['x->127.0.0.1:1']);
    await nextTurn();
    await nextTurn();
    expect(sent).toEqual(['x->127.0.0.1:1']);
  });

  it('on a real socket closed before the turn ends: the failure is reported, nothing is thrown', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const receiver = createSocket('udp4');
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', () => resolve()));
    onTestFinished(() => void receiver.close());
    const got = new Promise<string>((resolve) => receiver.once('message', (m) => resolve(m.toString())));
    const failures: unknown[] = [];
    const outbox = new Outbox((err) => failures.push(err));
    outbox.send(socket, Buffer.from('before'), receiver.address().port, '127.0.0.1');
    await nextTurn();
    expect(await got).toBe('before');
    outbox.send(socket, Buffer.from('after close'), receiver.address().port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    await nextTurn();
    expect(failures).toHaveLength(1);
    expect((failures[0] as NodeJS.ErrnoException).code).toBe('ERR_SOCKET_DGRAM_NOT_RUNNING');
  });
});
