import { connect, createServer, type Socket } from 'node:net';

/** A command as a client sent it: its name and arguments, as text. */
export type RedisCommand = readonly string[];

/**
 * A TCP proxy in front of a test Redis that reads the commands its clients send, for a
 * test that needs a gateway to stop at one exact point of what it does in Redis while
 * another gateway goes on. It can hold a connection's commands back from one it names:
 * the client waits for that reply as it would for a slow server. Replies pass unchanged.
 */
export interface RedisTap {
  /** redis://127.0.0.1:<port> of the proxy. */
  readonly url: string;
  /**
   * Holds back everything its connection sends from the first command `match` accepts
   * on. `held` resolves when that command has come; `release()` sends it and what
   * followed to Redis, and lets the connection through again (once: calling it again
   * does nothing).
   */
  holdAt(match: (command: RedisCommand) => boolean): { held: Promise<void>; release(): void };
  /** Resolves with the first command sent from now on that `match` accepts. */
  next(match: (command: RedisCommand) => boolean): Promise<RedisCommand>;
  /**
   * Delivers every reply that comes from Redis from now on `ms` late (0: at once, after
   * those still on their way): a Redis that answers, but slowly, as over a congested link.
   * Replies keep their order on each connection.
   */
  slowReplies(ms: number): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

/** Whether `command` is `name` (any case) on the key `key` (its first argument). */
export function isCommand(command: RedisCommand, name: string, key: string): boolean {
  return command[0]?.toUpperCase() === name && command[1] === key;
}

export async function startRedisTap(redisPort: number): Promise<RedisTap> {
  const sockets = new Set<Socket>();
  const watchers: Array<{ match: (command: RedisCommand) => boolean; found: (command: RedisCommand) => void }> = [];
  let hold: { match: (command: RedisCommand) => boolean; held: () => void; release?: () => void } | undefined;
  let replyDelayMs = 0;

  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // Replies in order, each held until its time (when it came + the delay then, never before the one ahead of it).
    const late: Array<{ at: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const deliver = () => {
      timer = undefined;
      while (late.length > 0 && late[0]!.at <= performance.now()) client.write(late.shift()!.chunk);
      if (late.length > 0) timer = setTimeout(deliver, late[0]!.at - performance.now());
    };
    upstream.on('data', (chunk: Buffer) => {
      const at = Math.max(performance.now() + replyDelayMs, late.at(-1)?.at ?? 0);
      if (late.length === 0 && replyDelayMs === 0) return void client.write(chunk);
      late.push({ at, chunk });
      timer ??= setTimeout(deliver, at - performance.now());
    });
    client.on('close', () => clearTimeout(timer));

    let pending = Buffer.alloc(0);
    let held: Buffer[] | undefined;
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let parsed = parseCommand(pending); parsed; parsed = parseCommand(pending)) {
        const bytes = pending.subarray(0, parsed.length);
        pending = pending.subarray(parsed.length);
        for (const w of watchers.filter((x) => x.match(parsed!.command))) {
          watchers.splice(watchers.indexOf(w), 1);
          w.found(parsed.command);
        }
        if (held) held.push(bytes);
        else if (hold && !hold.release && hold.match(parsed.command)) {
          const queue: Buffer[] = [bytes];
          held = queue;
          hold.release = () => {
            if (held !== queue) return;
            held = undefined;
            upstream.write(Buffer.concat(queue));
          };
          hold.held();
        } else upstream.write(bytes);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the Redis tap has no port');

  return {
    url: `redis://127.0.0.1:${address.port}`,
    holdAt(match) {
      let held!: () => void;
      const heldPromise = new Promise<void>((resolve) => (held = resolve));
      const mine: NonNullable<typeof hold> = { match, held };
      hold = mine;
      return {
        held: heldPromise,
        release() {
          // Not come yet: nothing is held, and nothing will be.
          if (hold === mine) hold = undefined;
          mine.release?.();
        },
      };
    },
    next(match) {
      return new Promise((found) => watchers.push({ match, found }));
    },
    slowReplies(ms) {
      replyDelayMs = ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The first whole command at the start of `buf` (RESP: an array of bulk strings, which is
 * how clients send commands) and how many bytes it takes; undefined until all of it has come.
 */
function parseCommand(buf: Buffer): { command: string[]; length: number } | undefined {
  let at = 0;
  const line = (): string | undefined => {
    const end = buf.indexOf('\r\n', at);
    if (end < 0) return undefined;
    const text = buf.toString('latin1', at, end);
    at = end + 2;
    return text;
  };
  const head = line();
  if (head === undefined) return undefined;
  if (!head.startsWith('*')) throw new Error(`the Redis tap reads RESP arrays only, not ${JSON.stringify(head)}`);
  const command: string[] = [];
  for (let n = Number(head.slice(1)); command.length < n; ) {
    const size = line();
    if (size === undefined) return undefined;
    if (!size.startsWith('$')) throw new Error(`the Redis tap reads bulk strings only, not ${JSON.stringify(size)}`);
    const length = Number(size.slice(1));
    if (buf.length < at + length + 2) return undefined;
    command.push(buf.toString('utf8', at, at + length));
    at += length + 2;
  }
  return { command, length: at };
}
