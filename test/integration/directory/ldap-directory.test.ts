import { createServer, connect, type Server, type Socket } from 'node:net';
import { InvalidCredentialsError as LdapInvalidCredentialsError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapDirectory, type LdapDirectoryOptions } from '../../../src/directory/ldap-directory.js';
import {
  ConfigError,
  DirectoryUnavailableError,
  InvalidCredentialsError,
  NotAllowedError,
} from '../../../src/errors.js';
import { freeTcpPort } from '../../helpers/ports.js';
import {
  SLAPD_AMBIGUOUS_UID,
  SLAPD_LEGACY_GROUP_DN,
  SLAPD_USERS,
  SLAPD_WIFI_USERS_DN,
  startSlapd,
  type Slapd,
} from '../../helpers/slapd.js';

const { alice, bob, obrien, patx, carol } = SLAPD_USERS;

let slapd: Slapd;

beforeAll(async () => {
  slapd = await startSlapd();
});

afterAll(async () => {
  await slapd?.stop();
});

/** ldaps:// with the test CA unless overridden. */
function options(overrides: Partial<LdapDirectoryOptions> = {}): LdapDirectoryOptions {
  return {
    url: slapd.ldapsUrl,
    startTls: false,
    ca: slapd.ca,
    bindDn: slapd.bindDn,
    bindPassword: slapd.bindPassword,
    baseDn: slapd.baseDn,
    userAttribute: 'uid',
    displayNameAttribute: 'cn',
    timeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    ...overrides,
  };
}

function recordingLog(): { warn(obj: object, msg: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (obj, msg) => lines.push(`${msg} ${JSON.stringify(obj)}`) };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

/** Everything an error says, including its causes: where a leaked password would show. */
function allText(err: Error): string {
  let text = '';
  for (let e: unknown = err; e instanceof Error; e = e.cause) text += `${e.name}: ${e.message}\n${e.stack ?? ''}\n`;
  return text;
}

/** A TCP server on a free port that accepts connections and never says a word. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  return listen((socket) => socket.on('data', () => undefined));
}

async function listen(onConnection: (socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('LdapDirectory against slapd', () => {
  it('logs alice in over ldaps with her canonical name, display name and groups', async () => {
    const user = await new LdapDirectory(options()).authenticate('alice', alice.password);
    expect(user).toEqual({ username: 'alice', displayName: 'Alice Example', groups: [SLAPD_WIFI_USERS_DN] });
  });

  it('matches the username case-insensitively and answers with the directory spelling', async () => {
    const user = await new LdapDirectory(options()).authenticate('  ALICE ', alice.password);
    expect(user.username).toBe('alice');
  });

  it('refuses a wrong password and an unknown user with the same error', async () => {
    const directory = new LdapDirectory(options());
    const wrong = await rejection(directory.authenticate('alice', bob.password));
    const unknown = await rejection(directory.authenticate('mallory', alice.password));
    expect(wrong).toBeInstanceOf(InvalidCredentialsError);
    expect(unknown).toBeInstanceOf(InvalidCredentialsError);
    expect(unknown.message).toBe(wrong.message);
  });

  it('refuses an empty password (an anonymous bind) before any network activity', async () => {
    // Nothing listens there: any attempt to connect would be DirectoryUnavailableError.
    const dead = new LdapDirectory(options({ url: `ldap://127.0.0.1:${await freeTcpPort()}` }));
    await expect(dead.authenticate('alice', '')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(dead.authenticate('', alice.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(dead.authenticate(' \t ', alice.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
    // And against the live server too.
    await expect(new LdapDirectory(options()).authenticate('alice', '')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it("logs o'brien in (quote in the uid; comma, parentheses and star in the cn)", async () => {
    const user = await new LdapDirectory(options()).authenticate("o'brien", obrien.password);
    expect(user).toEqual({ username: "o'brien", displayName: "O'Brien, Pat (Contractor*)", groups: [SLAPD_WIFI_USERS_DN] });
  });

  it('logs in a uid made of filter metacharacters as itself only', async () => {
    const directory = new LdapDirectory(options());
    await expect(directory.authenticate('pat(x)*', patx.password)).resolves.toMatchObject({ username: 'pat(x)*' });
    await expect(directory.authenticate('pat(x)*', alice.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(directory.authenticate('pat(x)', patx.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('treats *, ( and ) in a username literally: no wildcard, no filter injection', async () => {
    const directory = new LdapDirectory(options());
    // Unescaped, `(uid=*)` would match every user: an ambiguity error or, worse, a login.
    const attempts = ['*', 'a*', 'alice*', '*)(uid=*', 'alice)(uid=*', 'alice)(|(uid=*', '*)(objectClass=*', 'alice\\', '\\2a'];
    for (const username of attempts) {
      for (const password of [alice.password, bob.password, obrien.password]) {
        const err = await rejection(directory.authenticate(username, password));
        expect(err, `${username} / ${password}`).toBeInstanceOf(InvalidCredentialsError);
      }
    }
  });

  it('refuses a username two entries share, says why, and logs it without the password', async () => {
    const log = recordingLog();
    const directory = new LdapDirectory(options(), log);
    const err = await rejection(directory.authenticate(SLAPD_AMBIGUOUS_UID, SLAPD_USERS.twinPeople.password));
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    expect(err.message).toMatch(/ambiguous/);
    expect(log.lines.join('\n')).toMatch(/ambiguous/);
    expect(log.lines.join('\n')).not.toContain(SLAPD_USERS.twinPeople.password);
    expect(allText(err)).not.toContain(SLAPD_USERS.twinPeople.password);
  });

  it('requires the group when configured: bob is not allowed, alice is (DNs compared case-insensitively)', async () => {
    const directory = new LdapDirectory(options({ requiredGroup: 'CN=WiFi-Users, OU=Groups, DC=example, DC=org' }));
    await expect(directory.authenticate('alice', alice.password)).resolves.toMatchObject({ username: 'alice' });
    await expect(directory.authenticate('bob', bob.password)).rejects.toBeInstanceOf(NotAllowedError);
    // The group is only told after the password is right.
    await expect(directory.authenticate('bob', alice.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('lets bob in when no group is required', async () => {
    await expect(new LdapDirectory(options()).authenticate('bob', bob.password)).resolves.toEqual({
      username: 'bob',
      displayName: 'Bob Example',
      groups: [],
    });
  });

  it('without memberOf, checks the group entry itself (uniqueMember)', async () => {
    const directory = new LdapDirectory(options({ requiredGroup: SLAPD_LEGACY_GROUP_DN }));
    await expect(directory.authenticate('carol', carol.password)).resolves.toMatchObject({ username: 'carol', groups: [] });
    await expect(directory.authenticate('bob', bob.password)).rejects.toBeInstanceOf(NotAllowedError);
    // alice has memberOf (wifi-users only), which is then the answer.
    await expect(directory.authenticate('alice', alice.password)).rejects.toBeInstanceOf(NotAllowedError);
  });

  it('a required group that does not exist is a directory problem, not a refusal', async () => {
    const directory = new LdapDirectory(options({ requiredGroup: `cn=no-such-group,ou=groups,${slapd.baseDn}` }));
    await expect(directory.authenticate('bob', bob.password)).rejects.toBeInstanceOf(DirectoryUnavailableError);
  });

  it('adds the configured objectClass to the filter', async () => {
    await expect(
      new LdapDirectory(options({ userObjectClass: 'inetOrgPerson' })).authenticate('alice', alice.password),
    ).resolves.toMatchObject({ username: 'alice' });
    await expect(
      new LdapDirectory(options({ userObjectClass: 'posixAccount' })).authenticate('alice', alice.password),
    ).rejects.toBeInstanceOf(InvalidCredentialsError);
  });
});

describe('LdapDirectory transport security', () => {
  it('refuses an ldaps server whose certificate it cannot verify (no ca given)', async () => {
    const { ca: _ca, ...withoutCa } = options();
    const err = await rejection(new LdapDirectory(withoutCa).authenticate('alice', alice.password));
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    expect(String((err.cause as Error | undefined)?.message)).toMatch(/certificate/i);
  });

  it('logs in over StartTLS with the ca', async () => {
    const directory = new LdapDirectory(options({ url: slapd.url, startTls: true }));
    await expect(directory.authenticate('alice', alice.password)).resolves.toMatchObject({ username: 'alice' });
    await expect(directory.ping()).resolves.toBeUndefined();
  });

  it('refuses StartTLS to a server whose certificate it cannot verify', async () => {
    const { ca: _ca, ...withoutCa } = options({ url: slapd.url, startTls: true });
    const err = await rejection(new LdapDirectory(withoutCa).authenticate('alice', alice.password));
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    expect(String((err.cause as Error | undefined)?.message)).toMatch(/certificate/i);
  });

  it('never sends a password in clear with StartTLS (and the sniffer does see them without it)', async () => {
    const slapdPort = Number(new URL(slapd.url).port);
    const seen: Buffer[] = [];
    const proxy = await listen((client) => {
      const upstream = connect(slapdPort, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('data', (chunk: Buffer) => {
        seen.push(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
    });
    const wire = (): string => Buffer.concat(seen).toString('latin1');
    try {
      const viaProxy = { url: `ldap://127.0.0.1:${proxy.port}` };
      await new LdapDirectory(options({ ...viaProxy, startTls: true })).authenticate('alice', alice.password);
      await new LdapDirectory(options({ ...viaProxy, startTls: true })).ping();
      expect(wire()).not.toContain(alice.password);
      expect(wire()).not.toContain(slapd.bindPassword);

      // Control: the same sniffer sees both passwords when there is no TLS.
      const log = recordingLog();
      await new LdapDirectory(options({ ...viaProxy, startTls: false }), log).authenticate('alice', alice.password);
      expect(wire()).toContain(alice.password);
      expect(wire()).toContain(slapd.bindPassword);
      expect(log.lines.join('\n')).toMatch(/in clear/);
    } finally {
      await proxy.close();
    }
  });

  it('refuses impossible settings at construction', () => {
    expect(() => new LdapDirectory(options({ url: slapd.ldapsUrl, startTls: true }))).toThrow(ConfigError);
    expect(() => new LdapDirectory(options({ url: 'http://127.0.0.1:389' }))).toThrow(ConfigError);
    expect(() => new LdapDirectory(options({ timeoutMs: 0 }))).toThrow(ConfigError);
    expect(() => new LdapDirectory(options({ connectTimeoutMs: Number.NaN }))).toThrow(ConfigError);
  });
});

describe('LdapDirectory when the directory is unavailable', () => {
  /**
   * Timeouts a refused connection must never wait for. "Fails fast" is this: the refusal
   * ends the call (3 ms here), not a timer, so the bound is the timeout itself, set far
   * above what any machine takes to be refused.
   */
  const UNREACHED_TIMEOUT_MS = 5_000;
  const UNREACHED_TIMEOUTS = { timeoutMs: UNREACHED_TIMEOUT_MS, connectTimeoutMs: UNREACHED_TIMEOUT_MS };

  it('a wrong service-account password is unavailability, and the password is nowhere in the error', async () => {
    const badPassword = 'not-the-service-password-42';
    const directory = new LdapDirectory(options({ bindPassword: badPassword }));
    const err = await rejection(directory.authenticate('alice', alice.password));
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    expect(err.cause).toBeInstanceOf(LdapInvalidCredentialsError);
    expect(err.message).toMatch(/service account/);
    expect(allText(err)).not.toContain(badPassword);
    expect(allText(err)).not.toContain(alice.password);
    await expect(directory.ping()).rejects.toBeInstanceOf(DirectoryUnavailableError);
  });

  it('a dead port fails fast', async () => {
    for (const url of [`ldap://127.0.0.1:${await freeTcpPort()}`, `ldaps://127.0.0.1:${await freeTcpPort()}`]) {
      const directory = new LdapDirectory(options({ url, ...UNREACHED_TIMEOUTS }));
      const started = Date.now();
      const err = await rejection(directory.authenticate('alice', alice.password));
      expect(err).toBeInstanceOf(DirectoryUnavailableError);
      expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      await expect(directory.ping()).rejects.toBeInstanceOf(DirectoryUnavailableError);
      // Ended by the refusal: both calls together within one connect timeout.
      expect(Date.now() - started).toBeLessThan(UNREACHED_TIMEOUT_MS);
    }
  });

  it('a stopped server fails fast', async () => {
    const gone = await startSlapd();
    const directory = new LdapDirectory(options({ url: gone.ldapsUrl, ca: gone.ca, bindPassword: gone.bindPassword, ...UNREACHED_TIMEOUTS }));
    await expect(directory.ping()).resolves.toBeUndefined();
    await gone.stop();
    const started = Date.now();
    const err = await rejection(directory.authenticate('alice', alice.password));
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await expect(directory.ping()).rejects.toBeInstanceOf(DirectoryUnavailableError);
    expect(Date.now() - started).toBeLessThan(UNREACHED_TIMEOUT_MS);
  });

  it.each([
    ['ldap:// (operation timeout)', 'ldap', false],
    ['ldaps:// (TLS handshake under the connect timeout)', 'ldaps', false],
    ['StartTLS (request under the operation timeout)', 'ldap', true],
  ] as const)('a server that accepts and never answers: %s', async (_name, scheme, startTls) => {
    const hole = await blackHole();
    try {
      const directory = new LdapDirectory(
        options({ url: `${scheme}://127.0.0.1:${hole.port}`, startTls, timeoutMs: 300, connectTimeoutMs: 300 }),
      );
      const started = Date.now();
      const err = await rejection(directory.authenticate('alice', alice.password));
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(DirectoryUnavailableError);
      // The bounds are the point: ended by our 300 ms timer, not before it and not never.
      // The upper one is several times the timer and a few ms of work, for a slower machine.
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2_000);
      await expect(directory.ping()).rejects.toBeInstanceOf(DirectoryUnavailableError);
    } finally {
      await hole.close();
    }
  });

  it('a server that agrees to StartTLS and then stalls the handshake is bounded too', async () => {
    // Answers the first request (the StartTLS extended request) with success, then goes quiet.
    // ldapts puts no timer on the TLS handshake that follows.
    const server = await listen((socket) => {
      socket.once('data', (request: Buffer) => {
        const id = messageId(request);
        socket.write(Buffer.from([0x30, 0x0c, 0x02, 0x01, id, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]));
      });
    });
    try {
      const directory = new LdapDirectory(
        options({ url: `ldap://127.0.0.1:${server.port}`, startTls: true, timeoutMs: 200, connectTimeoutMs: 200 }),
      );
      const started = Date.now();
      const err = await rejection(directory.authenticate('alice', alice.password));
      expect(err).toBeInstanceOf(DirectoryUnavailableError);
      // Our own deadline, not ldapts' request timeout: the StartTLS request was answered.
      expect((err.cause as Error | undefined)?.message).toBe('StartTLS timed out');
      // The bound is the point: our 200 ms deadline ends it; several times that for a slower machine.
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await server.close();
    }
  });
});

describe('LdapDirectory.ping and close', () => {
  it('pings over ldaps and plain ldap, and close() is harmless', async () => {
    const directory = new LdapDirectory(options());
    await expect(directory.ping()).resolves.toBeUndefined();
    await expect(new LdapDirectory(options({ url: slapd.url })).ping()).resolves.toBeUndefined();
    await expect(directory.close()).resolves.toBeUndefined();
    // Connections are per call: the directory still works after close().
    await expect(directory.ping()).resolves.toBeUndefined();
  });
});

/** The messageID of a small BER-encoded LDAPMessage (short-form lengths, one-byte id). */
function messageId(request: Buffer): number {
  const lengthBytes = (request[1] ?? 0) & 0x80 ? ((request[1] ?? 0) & 0x7f) + 1 : 1;
  const at = 1 + lengthBytes;
  if (request[at] !== 0x02 || request[at + 1] !== 0x01) throw new Error('unexpected LDAP request');
  return request[at + 2] ?? 0;
}
