import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import { DirectoryUnavailableError, InvalidCredentialsError, NoNtHashError, NotAllowedError } from '../errors.js';
import type { DirectoryUser, LoginStep, MsChapV2Attempt, MsChapV2Proof, SteppedDirectory } from './directory.js';
import { checkNtResponse, generateAuthenticatorResponse, hashNtPasswordHash, ntPasswordHash, withoutDomain } from './mschapv2.js';

/**
 * People log in against a small YAML users file, for sites without LDAP:
 *
 *   users:
 *     - username: alice
 *       display_name: Alice Example
 *       groups: [wifi-users]
 *       password: "scrypt$16384$8$1$<salt base64>$<hash base64>"
 *       nt_hash: 0123456789abcdef0123456789abcdef   # optional, for PEAP
 *
 * The file is read again at every login so that admins can edit it live.
 *
 * nt_hash (MD4 of the UTF-16LE password, RFC 2759 §8.3) is what PEAP's MSCHAPv2 is
 * checked with. Unlike the scrypt hash it is password-equivalent: whoever reads it
 * can log in as the person over MSCHAPv2 without knowing the password. It is kept
 * only when asked for (init --nt-hash, or written by hand).
 */

// scrypt parameters for new hashes (RFC 7914 §2): N=2^14, r=8, p=1 are the scrypt
// paper's interactive-login figures (~40 ms here). OWASP now suggests N=2^17; each
// hash carries its own parameters, so raising N later keeps old hashes valid.
const SCRYPT_N = 16384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Hashes a password for the users file: `scrypt$N$r$p$<salt base64>$<hash base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, KEY_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P);
  return encodeHash(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, hash);
}

/** Whether `password` matches a hash made by hashPassword(). A malformed hash is simply no match. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = decodeHash(encoded);
  if (parsed === undefined) return false;
  const derived = await scryptAsync(password, parsed.salt, parsed.hash.length, parsed.n, parsed.r, parsed.p);
  return timingSafeEqual(derived, parsed.hash);
}

/** The users file's nt_hash of a password: 32 hex digits (PEAP; password-equivalent, see above). */
export function ntHashOf(password: string): string {
  return ntPasswordHash(password).toString('hex');
}

/**
 * Writes a new users file holding one user with a random password, and returns
 * that password (to print once). Refuses to replace an existing file. With
 * `ntHash`, the user's NT hash is kept too (PEAP), which is password-equivalent.
 */
export async function createUsersFile(path: string, username: string, options: { ntHash?: boolean } = {}): Promise<string> {
  const name = username.trim();
  if (name === '') throw new Error('The first user needs a username.');
  // 18 random bytes: 144 bits, 24 base64url characters that survive any keyboard.
  const password = randomBytes(18).toString('base64url');
  const users = [{ username: name, display_name: name, groups: [], password: await hashPassword(password), ...(options.ntHash ? { nt_hash: ntHashOf(password) } : {}) }];
  const text = USERS_FILE_HEADER + stringify({ users });
  let handle;
  try {
    // 'wx' is O_CREAT|O_EXCL: fails on any existing file or symlink, with no window for a race.
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${path} already exists; refusing to overwrite it.`);
    }
    throw err;
  }
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return password;
}

export interface FileDirectoryOptions {
  /** A group name the user must have in `groups` (compared case-insensitively). */
  requiredGroup?: string;
}

/** One person of the users file, as parsed. */
export interface FileUser {
  username: string;
  displayName?: string;
  groups: string[];
  password: string;
  /** MD4 of the UTF-16LE password, when kept (PEAP). */
  ntHash?: Buffer;
}

export class FileDirectory implements SteppedDirectory {
  readonly #path: string;
  readonly #requiredGroup: string | undefined;

  constructor(path: string, options: FileDirectoryOptions = {}) {
    this.#path = path;
    this.#requiredGroup = options.requiredGroup;
  }

  async authenticate(username: string, password: string): Promise<DirectoryUser> {
    const name = username.trim();
    if (name === '' || password === '') throw new InvalidCredentialsError();
    const users = await this.#load();
    const user = users.get(foldName(name));
    // An unknown user still costs one scrypt, so response times do not tell which usernames exist.
    const matches = await verifyPassword(password, user?.password ?? DUMMY_HASH);
    if (user === undefined || !matches) throw new InvalidCredentialsError();
    return this.#allowed(user);
  }

  /**
   * PEAP: checks an MS-CHAP-V2 response against the person's nt_hash. The name is the
   * one the peer sent, without a "DOMAIN\" in front. An unknown person and a wrong
   * response are both InvalidCredentialsError (as for a password); a person without
   * nt_hash is NoNtHashError (there is nothing to check, so it is not a guess).
   */
  async verifyMsChapV2(attempt: MsChapV2Attempt): Promise<MsChapV2Proof> {
    const name = withoutDomain(attempt.userName).trim();
    if (name === '') throw new InvalidCredentialsError();
    const user = (await this.#load()).get(foldName(name));
    if (user === undefined) {
      // The same arithmetic as for a known person, so timing does not tell which names exist.
      checkNtResponse(attempt, DUMMY_NT_HASH);
      throw new InvalidCredentialsError();
    }
    if (user.ntHash === undefined) throw new NoNtHashError();
    if (!checkNtResponse(attempt, user.ntHash)) throw new InvalidCredentialsError();
    const allowed = this.#allowed(user);
    return {
      user: allowed,
      authenticatorResponse: generateAuthenticatorResponse(user.ntHash, attempt.ntResponse, attempt.peerChallenge, attempt.authenticatorChallenge, attempt.userName),
      ntHashHash: hashNtPasswordHash(user.ntHash),
    };
  }

  async lookup(username: string): Promise<DirectoryUser> {
    const user = (await this.#load()).get(foldName(username.trim()));
    if (user === undefined) throw new InvalidCredentialsError();
    return this.#allowed(user);
  }

  /**
   * The steps of a login, told one by one (`enrollgate test user`): the file is read, the
   * user found, the group checked, then, with a password, the password. It stops at the
   * first that fails. For an admin at the console, so unlike authenticate it says which
   * usernames exist.
   */
  async walk(username: string, password: string | undefined, report: (step: LoginStep) => void): Promise<DirectoryUser> {
    const name = username.trim();
    let users: Map<string, FileUser>;
    try {
      users = await this.#load();
    } catch (err) {
      report({ step: 'users file', ok: false, reason: (err as Error).message });
      throw err;
    }
    report({ step: 'users file', ok: true, reason: `${this.#path}: ${users.size} user(s)` });
    const user = users.get(foldName(name));
    if (user === undefined) {
      report({ step: 'user', ok: false, reason: `not found: no user ${name} in the users file` });
      throw new InvalidCredentialsError();
    }
    report({ step: 'user', ok: true, reason: `found ${user.username}` });
    let allowed: DirectoryUser;
    try {
      allowed = this.#allowed(user);
    } catch (err) {
      report({ step: 'group check', ok: false, reason: `not in required_group ${this.#requiredGroup}` });
      throw err;
    }
    report({ step: 'group check', ok: true, reason: this.#requiredGroup === undefined ? 'no required_group configured' : `in ${this.#requiredGroup}` });
    if (password !== undefined) {
      if (password === '' || !(await verifyPassword(password, user.password))) {
        report({ step: 'password', ok: false, reason: 'wrong password: it does not match the hash in the users file' });
        throw new InvalidCredentialsError();
      }
      report({ step: 'password', ok: true, reason: 'the password is right' });
    }
    return allowed;
  }

  #allowed(user: { username: string; displayName?: string; groups: readonly string[] }): DirectoryUser {
    if (this.#requiredGroup !== undefined) {
      const wanted = foldName(this.#requiredGroup);
      if (!user.groups.some((g) => foldName(g) === wanted)) throw new NotAllowedError();
    }
    return {
      username: user.username,
      ...(user.displayName === undefined ? {} : { displayName: user.displayName }),
      groups: [...user.groups],
    };
  }

  async ping(): Promise<void> {
    await this.#load();
  }

  async close(): Promise<void> {
    // Nothing held open: the file is read per call.
  }

  /** Reads and checks the whole file; users keyed by folded username. */
  async #load(): Promise<Map<string, FileUser>> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
      throw new DirectoryUnavailableError(`The users file ${this.#path} cannot be read (${reason}).`, { cause: err });
    }
    try {
      return parseUsers(text);
    } catch (err) {
      // The reason names a position or a key, never the content (which holds hashes).
      const problem = err instanceof UsersFileProblem ? err.message : 'it could not be parsed';
      throw new DirectoryUnavailableError(`The users file ${this.#path} is not valid: ${problem}.`);
    }
  }
}

/** The comment at the top of a users file written by init or `users add`: what it holds and how to change it. */
export const USERS_FILE_HEADER = `# enrollgate users file: the people who may log in to the Wi-Fi portal.
# It is read again at every login, so edits take effect without a restart.
#
# users:
#   - username: alice               # what people type; compared case-insensitively
#     display_name: Alice Example   # optional; shown on pages
#     groups: [wifi-users]          # optional; checked when a required group is configured
#     password: "scrypt$16384$8$1$<salt base64>$<hash base64>"
#     nt_hash: <32 hex digits>      # optional: only for 802.1X PEAP (MSCHAPv2)
#
# password is always an scrypt hash, never the password itself (an entry with
# anything else makes the whole file invalid, so the mistake shows at once).
# Manage people with the command line, which hashes the password it asks for:
#   enrollgate users add NAME [--display-name TEXT] [--group GROUP]... [--nt-hash]
#   enrollgate users passwd NAME      enrollgate users remove NAME      enrollgate users list
#
# nt_hash is the MD4 of the password in UTF-16LE, which PEAP's MSCHAPv2 needs.
# It is PASSWORD-EQUIVALENT: anyone who reads it can log in as that person over
# PEAP without the password, and MD4 is fast to guess at. Add it only for people
# who must use PEAP (users add --nt-hash, or users passwd --nt-hash); users passwd
# changes it together with the password.
# Keep this file readable by the gateway only (mode 0600).

`;

/** A problem in the users file, described without quoting the file. */
export class UsersFileProblem extends Error {}

const USER_KEYS = new Set(['username', 'display_name', 'groups', 'password', 'nt_hash']);

/** The users of a users file's text, keyed by folded username; throws UsersFileProblem for anything not valid. */
export function parseUsers(text: string): Map<string, FileUser> {
  const doc = parseDocument(text);
  const first = doc.errors[0];
  if (first !== undefined) {
    const at = first.linePos?.[0];
    throw new UsersFileProblem(`YAML ${first.code}${at ? ` at line ${at.line}, column ${at.col}` : ''}`);
  }
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (root === null || root === undefined) return new Map();
  if (!isRecord(root)) throw new UsersFileProblem('the top level must be a mapping with a `users` list');
  for (const key of Object.keys(root)) {
    if (key !== 'users') throw new UsersFileProblem(`unknown top-level key \`${key}\``);
  }
  const list = root['users'] ?? [];
  if (!Array.isArray(list)) throw new UsersFileProblem('`users` must be a list');

  const users = new Map<string, FileUser>();
  list.forEach((item: unknown, i) => {
    const at = `users[${i}]`;
    if (!isRecord(item)) throw new UsersFileProblem(`${at}: must be a mapping`);
    for (const key of Object.keys(item)) {
      if (!USER_KEYS.has(key)) throw new UsersFileProblem(`${at}: unknown key \`${key}\``);
    }
    const { username, display_name: displayName, password } = item;
    // `groups:` with nothing after it is null in YAML: the same as no groups.
    const groups = item['groups'] ?? [];
    if (typeof username !== 'string' || username.trim() === '') {
      throw new UsersFileProblem(`${at}.username: must be a non-empty string (quote it if it looks like a number)`);
    }
    if (displayName !== undefined && displayName !== null && typeof displayName !== 'string') {
      throw new UsersFileProblem(`${at}.display_name: must be a string`);
    }
    if (!Array.isArray(groups) || !groups.every((g): g is string => typeof g === 'string')) {
      throw new UsersFileProblem(`${at}.groups: must be a list of strings`);
    }
    if (typeof password !== 'string' || decodeHash(password) === undefined) {
      throw new UsersFileProblem(`${at}.password: must be an scrypt hash (scrypt$N$r$p$salt$hash), not a plain password`);
    }
    const ntHash = item['nt_hash'];
    if (ntHash !== undefined && (typeof ntHash !== 'string' || !/^[0-9a-fA-F]{32}$/.test(ntHash))) {
      throw new UsersFileProblem(`${at}.nt_hash: must be 32 hex digits (the MD4 of the UTF-16LE password)`);
    }
    const key = foldName(username);
    if (users.has(key)) throw new UsersFileProblem(`${at}.username: the same username appears twice`);
    users.set(key, {
      username: username.trim(),
      ...(typeof displayName === 'string' ? { displayName } : {}),
      groups,
      password,
      ...(typeof ntHash === 'string' ? { ntHash: Buffer.from(ntHash, 'hex') } : {}),
    });
  });
  return users;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How usernames and group names are compared: trimmed, NFC, lower case. */
export function foldName(name: string): string {
  return name.trim().normalize('NFC').toLowerCase();
}

function encodeHash(n: number, r: number, p: number, salt: Buffer, hash: Buffer): string {
  return `scrypt$${n}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parameters an admin-edited file may carry: bounded so a typo cannot exhaust memory or CPU. */
function decodeHash(encoded: string): { n: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [n, r, p] = parts.slice(1, 4).map((s) => (/^[1-9][0-9]{0,7}$/.test(s) ? Number(s) : NaN)) as [number, number, number];
  if (!(n >= 1024 && n <= 1048576 && (n & (n - 1)) === 0)) return undefined;
  if (!(r >= 1 && r <= 32 && p >= 1 && p <= 16 && 128 * n * r <= 256 * 1024 * 1024)) return undefined;
  const salt = strictBase64(parts[4] ?? '');
  const hash = strictBase64(parts[5] ?? '');
  if (salt === undefined || hash === undefined) return undefined;
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { n, r, p, salt, hash };
}

/** Buffer.from(…, 'base64') skips junk silently; accept only canonical base64. */
function strictBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function scryptAsync(password: string, salt: Buffer, keylen: number, n: number, r: number, p: number): Promise<Buffer> {
  // Node refuses when 128·N·r exceeds maxmem (32 MiB by default); allow twice that.
  const options: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

// An NT hash of nothing in particular: unknown people's MSCHAPv2 responses are checked against it.
const DUMMY_NT_HASH = Buffer.alloc(16);

// A well-formed hash of nothing: unknown users are checked against it so they cost the same scrypt.
const DUMMY_HASH = encodeHash(SCRYPT_N, SCRYPT_R, SCRYPT_P, Buffer.alloc(SALT_BYTES), Buffer.alloc(KEY_BYTES));
