import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  createUsersFile,
  FileDirectory,
  hashPassword,
  ntHashOf,
  verifyPassword,
} from '../../../src/directory/file-directory.js';
import { generateAuthenticatorResponse, generateNtResponse, hashNtPasswordHash, ntPasswordHash } from '../../../src/directory/mschapv2.js';
import { DirectoryUnavailableError, InvalidCredentialsError, NoNtHashError, NotAllowedError } from '../../../src/errors.js';

let dir: string;
let aliceHash: string;
let bobHash: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-file-directory-'));
  [aliceHash, bobHash] = await Promise.all([hashPassword('alice-pass-1'), hashPassword('bob-pass-2')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function usersFile(text: string): Promise<string> {
  const path = join(dir, `users-${++fileCount}.yaml`);
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

function standardFile(): Promise<string> {
  return usersFile(`# test users
users:
  - username: Alice.Example
    display_name: Alice Example
    groups: [wifi-users, staff]
    password: "${aliceHash}"
  - username: bob
    password: "${bobHash}"
`);
}

describe('hashPassword / verifyPassword', () => {
  it('produces scrypt$16384$8$1$salt$hash with a 16-byte salt and a 32-byte key', async () => {
    const parts = aliceHash.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(parts[4] ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5] ?? '', 'base64')).toHaveLength(32);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('alice-pass-1')).not.toBe(aliceHash);
  });

  it('accepts the right password and refuses others', async () => {
    expect(await verifyPassword('alice-pass-1', aliceHash)).toBe(true);
    expect(await verifyPassword('alice-pass-2', aliceHash)).toBe(false);
    expect(await verifyPassword('', aliceHash)).toBe(false);
    expect(await verifyPassword('alice-pass-1', bobHash)).toBe(false);
  });

  it('treats a malformed hash as no match, without throwing', async () => {
    const [, n, r, p, salt, hash] = aliceHash.split('$');
    const malformed = [
      '',
      'alice-pass-1',
      'scrypt$',
      `scrypt$${n}$${r}$${p}$${salt}`,
      `bcrypt$${n}$${r}$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$${hash}$extra`,
      `scrypt$12345$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$1073741824$${r}$${p}$${salt}$${hash}`, // N = 2^30: would need 1 GiB per try
      `scrypt$${n}$0$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$-1$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$not*base64$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$${hash?.slice(0, 10)}`,
      `scrypt$0x4000$${r}$${p}$${salt}$${hash}`,
    ];
    for (const encoded of malformed) {
      await expect(verifyPassword('alice-pass-1', encoded), encoded).resolves.toBe(false);
    }
  });
});

describe('FileDirectory.authenticate', () => {
  it('returns the user as the file spells it', async () => {
    const directory = new FileDirectory(await standardFile());
    await expect(directory.authenticate('Alice.Example', 'alice-pass-1')).resolves.toEqual({
      username: 'Alice.Example',
      displayName: 'Alice Example',
      groups: ['wifi-users', 'staff'],
    });
    await expect(directory.authenticate('bob', 'bob-pass-2')).resolves.toEqual({ username: 'bob', groups: [] });
  });

  it('compares usernames case-insensitively and ignores surrounding spaces', async () => {
    const directory = new FileDirectory(await standardFile());
    const user = await directory.authenticate('  alice.EXAMPLE ', 'alice-pass-1');
    expect(user.username).toBe('Alice.Example');
  });

  it('refuses a wrong password', async () => {
    const directory = new FileDirectory(await standardFile());
    await expect(directory.authenticate('Alice.Example', 'alice-pass-2')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(directory.authenticate('Alice.Example', 'alice-pass-1 ')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('refuses an unknown user with the same error as a wrong password', async () => {
    const directory = new FileDirectory(await standardFile());
    const unknown = await directory.authenticate('mallory', 'alice-pass-1').catch((e: unknown) => e);
    const wrong = await directory.authenticate('bob', 'alice-pass-1').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidCredentialsError);
    expect(wrong).toBeInstanceOf(InvalidCredentialsError);
    expect((unknown as Error).message).toBe((wrong as Error).message);
  });

  it('spends a scrypt on unknown users too, so timing does not reveal which usernames exist', async () => {
    const directory = new FileDirectory(await standardFile());
    const time = async (username: string): Promise<number> => {
      const start = performance.now();
      await directory.authenticate(username, 'nope').catch(() => undefined);
      return performance.now() - start;
    };
    const unknown: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 3; i++) {
      unknown.push(await time('mallory'));
      known.push(await time('bob'));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1] ?? 0;
    // Without the dummy hash an unknown user answers in well under 1 % of the time;
    // a loose bound keeps this steady on a busy machine.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.3);
  });

  it('refuses an empty password or username before reading the file', async () => {
    // The file does not exist: reaching it would be DirectoryUnavailableError.
    const directory = new FileDirectory(join(dir, 'missing.yaml'));
    await expect(directory.authenticate('bob', '')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(directory.authenticate('', 'bob-pass-2')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(directory.authenticate('   ', 'bob-pass-2')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('enforces the required group, but only after the password is right', async () => {
    const directory = new FileDirectory(await standardFile(), { requiredGroup: 'WiFi-Users' });
    await expect(directory.authenticate('alice.example', 'alice-pass-1')).resolves.toMatchObject({ username: 'Alice.Example' });
    await expect(directory.authenticate('bob', 'bob-pass-2')).rejects.toBeInstanceOf(NotAllowedError);
    await expect(directory.authenticate('bob', 'wrong')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('sees edits to the file without a restart', async () => {
    const path = await usersFile(`users:\n  - username: bob\n    password: "${bobHash}"\n`);
    const directory = new FileDirectory(path);
    await expect(directory.authenticate('alice.example', 'alice-pass-1')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await writeFile(path, `users:\n  - username: alice.example\n    password: "${aliceHash}"\n`);
    await expect(directory.authenticate('alice.example', 'alice-pass-1')).resolves.toMatchObject({ username: 'alice.example' });
    await expect(directory.authenticate('bob', 'bob-pass-2')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('accepts an empty users list', async () => {
    const directory = new FileDirectory(await usersFile('users:\n'));
    await expect(directory.ping()).resolves.toBeUndefined();
    await expect(directory.authenticate('bob', 'bob-pass-2')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });
});

describe('FileDirectory with a broken file', () => {
  async function unavailable(directory: FileDirectory): Promise<DirectoryUnavailableError> {
    const err = await directory.authenticate('bob', 'bob-pass-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    await expect(directory.ping()).rejects.toBeInstanceOf(DirectoryUnavailableError);
    return err as DirectoryUnavailableError;
  }

  it('names a missing file', async () => {
    const path = join(dir, 'does-not-exist.yaml');
    const err = await unavailable(new FileDirectory(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('ENOENT');
    expect(err.cause).toBeDefined();
  });

  it('names an unreadable path', async () => {
    // A directory: unreadable as a file even for root, where chmod 000 would not stop us.
    const err = await unavailable(new FileDirectory(dir));
    expect(err.message).toContain(dir);
    expect(err.message).toContain('EISDIR');
  });

  it('says where the YAML breaks without quoting it', async () => {
    const path = await usersFile(`users:\n  - username: bob\n    password: "${bobHash}\n   bad: [secret-looking-content\n`);
    const err = await unavailable(new FileDirectory(path));
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/line \d+/);
    expect(err.message).not.toContain('secret-looking-content');
    expect(err.message).not.toContain(bobHash);
  });

  it('refuses a plain password or malformed hash in the file, naming the entry but not the value', async () => {
    const path = await usersFile(`users:\n  - username: bob\n    password: "${bobHash}"\n  - username: carol\n    password: carol-plain-text\n`);
    const err = await unavailable(new FileDirectory(path));
    expect(err.message).toContain('users[1].password');
    expect(err.message).not.toContain('carol-plain-text');
  });

  it.each([
    ['a list at the top', '- bob\n', 'top level'],
    ['users not a list', 'users: bob\n', '`users` must be a list'],
    ['a numeric username', `users:\n  - username: 1234\n    password: "${'x'}"\n`, 'users[0].username'],
    ['a typo in a key', `users:\n  - username: bob\n    displayname: Bob\n    password: "${'x'}"\n`, 'unknown key `displayname`'],
    ['groups not a list', `users:\n  - username: bob\n    groups: wifi-users\n    password: "${'x'}"\n`, 'users[0].groups'],
  ])('refuses %s', async (_name, text, problem) => {
    const err = await unavailable(new FileDirectory(await usersFile(text)));
    expect(err.message).toContain(problem);
  });

  it('refuses the same username twice, whatever the case', async () => {
    const path = await usersFile(
      `users:\n  - username: bob\n    password: "${bobHash}"\n  - username: BOB\n    password: "${aliceHash}"\n`,
    );
    const err = await unavailable(new FileDirectory(path));
    expect(err.message).toContain('users[1].username');
  });
});

describe('createUsersFile', () => {
  it('writes a 0600 file whose printed password logs in, and never overwrites', async () => {
    const path = join(dir, 'created.yaml');
    const password = await createUsersFile(path, 'admin');
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const text = await readFile(path, 'utf8');
    expect(text.startsWith('#')).toBe(true);
    expect(text).not.toContain(password);

    const directory = new FileDirectory(path);
    await expect(directory.ping()).resolves.toBeUndefined();
    await expect(directory.authenticate('admin', password)).resolves.toMatchObject({ username: 'admin' });
    await expect(directory.authenticate('admin', `${password}x`)).rejects.toBeInstanceOf(InvalidCredentialsError);

    await expect(createUsersFile(path, 'other')).rejects.toThrow(/already exists/);
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('keeps the NT hash only when asked, and then MSCHAPv2 logs in with the printed password', async () => {
    const plain = join(dir, 'created-plain.yaml');
    await createUsersFile(plain, 'admin');
    expect(await readFile(plain, 'utf8')).not.toMatch(/^\s+nt_hash:/m);

    const path = join(dir, 'created-nt.yaml');
    const password = await createUsersFile(path, 'admin', { ntHash: true });
    const text = await readFile(path, 'utf8');
    expect(text).toContain(`nt_hash: ${ntHashOf(password)}`);
    expect(text).toMatch(/PASSWORD-EQUIVALENT/);
    await expect(new FileDirectory(path).verifyMsChapV2(mschapv2Attempt('admin', password))).resolves.toMatchObject({ user: { username: 'admin' } });
  });

  it('makes a different password every time', async () => {
    const a = await createUsersFile(join(dir, 'created-a.yaml'), 'admin');
    const b = await createUsersFile(join(dir, 'created-b.yaml'), 'admin');
    expect(a).not.toBe(b);
  });
});

/** What a peer knowing `password` answers to a fresh challenge (RFC 2759 §8.1). */
function mschapv2Attempt(userName: string, password: string) {
  const authenticatorChallenge = randomBytes(16);
  const peerChallenge = randomBytes(16);
  return { userName, authenticatorChallenge, peerChallenge, ntResponse: generateNtResponse(authenticatorChallenge, peerChallenge, userName, ntPasswordHash(password)) };
}

describe('FileDirectory.verifyMsChapV2 (PEAP)', () => {
  async function ntFile(): Promise<string> {
    return usersFile(`users:
  - username: Alice.Example
    groups: [wifi-users]
    password: "${aliceHash}"
    nt_hash: ${ntHashOf('alice-pass-1').toUpperCase()}
  - username: bob
    password: "${bobHash}"
`);
  }

  it('accepts the right response and proves it back: the authenticator response and the NT-hash-hash', async () => {
    const attempt = mschapv2Attempt('alice.example', 'alice-pass-1');
    const proof = await new FileDirectory(await ntFile()).verifyMsChapV2(attempt);
    const hash = ntPasswordHash('alice-pass-1');
    expect(proof.user).toEqual({ username: 'Alice.Example', groups: ['wifi-users'] });
    expect(proof.authenticatorResponse).toBe(generateAuthenticatorResponse(hash, attempt.ntResponse, attempt.peerChallenge, attempt.authenticatorChallenge, 'alice.example'));
    expect(proof.ntHashHash).toEqual(hashNtPasswordHash(hash));
  });

  it('takes a Windows "DOMAIN\\user" name as the user', async () => {
    await expect(new FileDirectory(await ntFile()).verifyMsChapV2(mschapv2Attempt('EXAMPLE\\Alice.Example', 'alice-pass-1'))).resolves.toMatchObject({ user: { username: 'Alice.Example' } });
  });

  it('a wrong password and an unknown person are the same InvalidCredentialsError', async () => {
    const directory = new FileDirectory(await ntFile());
    await expect(directory.verifyMsChapV2(mschapv2Attempt('alice.example', 'alice-pass-2'))).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(directory.verifyMsChapV2(mschapv2Attempt('nobody', 'alice-pass-1'))).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(directory.verifyMsChapV2(mschapv2Attempt('', 'alice-pass-1'))).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('a person without nt_hash cannot use MSCHAPv2, whatever the response', async () => {
    await expect(new FileDirectory(await ntFile()).verifyMsChapV2(mschapv2Attempt('bob', 'bob-pass-2'))).rejects.toBeInstanceOf(NoNtHashError);
  });

  it('enforces the required group after the response is right', async () => {
    const directory = new FileDirectory(await ntFile(), { requiredGroup: 'staff' });
    await expect(directory.verifyMsChapV2(mschapv2Attempt('alice.example', 'alice-pass-1'))).rejects.toBeInstanceOf(NotAllowedError);
    await expect(directory.verifyMsChapV2(mschapv2Attempt('alice.example', 'wrong'))).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('refuses an nt_hash that is not 32 hex digits, without quoting it', async () => {
    const path = await usersFile(`users:\n  - username: carol\n    password: "${bobHash}"\n    nt_hash: not-a-hash-0123\n`);
    const err = await new FileDirectory(path).authenticate('carol', 'bob-pass-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectoryUnavailableError);
    expect((err as Error).message).toContain('users[0].nt_hash: must be 32 hex digits');
    expect((err as Error).message).not.toContain('not-a-hash');
  });
});
