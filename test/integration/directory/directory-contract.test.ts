import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Directory } from '../../../src/directory/directory.js';
import { FileDirectory, hashPassword } from '../../../src/directory/file-directory.js';
import { LdapDirectory } from '../../../src/directory/ldap-directory.js';
import { InvalidCredentialsError, NotAllowedError } from '../../../src/errors.js';
import { SLAPD_USERS, startSlapd, type Slapd } from '../../helpers/slapd.js';

/**
 * One set of expectations for every Directory: what the portal relies on must
 * not depend on where the users live. Both hold the same people (SLAPD_USERS).
 */

const { alice, bob, obrien } = SLAPD_USERS;
const PEOPLE = [alice, bob, obrien];

let slapd: Slapd;
let dir: string;
let usersFile: string;

beforeAll(async () => {
  [slapd, dir] = await Promise.all([startSlapd(), mkdtemp(join(tmpdir(), 'enrollgate-directory-contract-'))]);
  usersFile = join(dir, 'users.yaml');
  const users = await Promise.all(
    PEOPLE.map(async (u) => ({
      username: u.uid,
      display_name: u.cn,
      groups: u.groups.length > 0 ? ['wifi-users'] : [],
      password: await hashPassword(u.password),
    })),
  );
  await writeFile(usersFile, stringify({ users }), { mode: 0o600 });
});

afterAll(async () => {
  await slapd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Subject {
  name: string;
  /** A directory holding PEOPLE; with `requireGroup`, only members of wifi-users may log in. */
  make(requireGroup: boolean): Directory;
}

const subjects: Subject[] = [
  {
    name: 'FileDirectory',
    make: (requireGroup) => new FileDirectory(usersFile, requireGroup ? { requiredGroup: 'wifi-users' } : {}),
  },
  {
    name: 'LdapDirectory',
    make: (requireGroup) =>
      new LdapDirectory({
        url: slapd.ldapsUrl,
        startTls: false,
        ca: slapd.ca,
        bindDn: slapd.bindDn,
        bindPassword: slapd.bindPassword,
        baseDn: slapd.baseDn,
        userAttribute: 'uid',
        displayNameAttribute: 'cn',
        ...(requireGroup ? { requiredGroup: slapd.groupDn } : {}),
        timeoutMs: 2_000,
        connectTimeoutMs: 2_000,
      }),
  },
];

describe.each(subjects)('Directory contract: $name', (subject) => {
  it('logs a person in with the right password', async () => {
    const directory = subject.make(false);
    const user = await directory.authenticate('alice', alice.password);
    expect(user.username).toBe('alice');
    expect(user.displayName).toBe('Alice Example');
    expect(user.groups).toHaveLength(1);
    await directory.close();
  });

  it('answers with the canonical username whatever case was typed', async () => {
    await expect(subject.make(false).authenticate('ALICE', alice.password)).resolves.toMatchObject({ username: 'alice' });
  });

  it("copes with a quote in the username and punctuation in the name", async () => {
    await expect(subject.make(false).authenticate("o'brien", obrien.password)).resolves.toMatchObject({
      username: "o'brien",
      displayName: "O'Brien, Pat (Contractor*)",
    });
  });

  it('refuses a wrong password', async () => {
    await expect(subject.make(false).authenticate('alice', bob.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('refuses an empty password', async () => {
    await expect(subject.make(false).authenticate('alice', '')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('refuses an unknown user exactly like a wrong password', async () => {
    const directory = subject.make(false);
    const unknown = await directory.authenticate('mallory', alice.password).catch((e: unknown) => e);
    const wrong = await directory.authenticate('alice', bob.password).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidCredentialsError);
    expect(unknown).toEqual(wrong);
  });

  it('does not treat * as a wildcard', async () => {
    await expect(subject.make(false).authenticate('*', alice.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('enforces a required group only after the password is right', async () => {
    const directory = subject.make(true);
    await expect(directory.authenticate('alice', alice.password)).resolves.toMatchObject({ username: 'alice' });
    await expect(directory.authenticate('bob', bob.password)).rejects.toBeInstanceOf(NotAllowedError);
    await expect(directory.authenticate('bob', alice.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('looks a person up without a password (802.1X renewal): still there, still in the required group', async () => {
    const open = subject.make(false);
    await expect(open.lookup('ALICE')).resolves.toMatchObject({ username: 'alice', displayName: 'Alice Example' });
    await expect(open.lookup('mallory')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(open.lookup('*')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(open.lookup(' ')).rejects.toBeInstanceOf(InvalidCredentialsError);
    const grouped = subject.make(true);
    await expect(grouped.lookup('alice')).resolves.toMatchObject({ username: 'alice' });
    await expect(grouped.lookup('bob')).rejects.toBeInstanceOf(NotAllowedError);
  });

  it('pings', async () => {
    await expect(subject.make(false).ping()).resolves.toBeUndefined();
  });
});
