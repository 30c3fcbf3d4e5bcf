import { randomBytes } from 'node:crypto';
import { open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, YAMLSeq, type Document, type YAMLMap } from 'yaml';
import { BadInputError, DirectoryUnavailableError } from '../errors.js';
import { foldName, hashPassword, ntHashOf, parseUsers, USERS_FILE_HEADER, UsersFileProblem } from './file-directory.js';

/**
 * Changes to the users file (`enrollgate users …`), made while the gateway may be reading
 * it: FileDirectory reads the file at every login and keeps nothing between, so the next
 * login sees the change, and the file is replaced by rename(2), so a login reads either
 * the old file or the new one, never half of it.
 *
 * The file is edited as a YAML document, not rewritten from its values, so the admin's
 * comments and the other people's entries stay as they were. It must be valid before a
 * change (a broken file is the admin's to fix, not ours to guess at), and the result is
 * parsed again before it replaces it.
 */

/** One person as `users list` shows them: never a hash. */
export interface UsersFileEntry {
  readonly username: string;
  readonly displayName?: string;
  readonly groups: readonly string[];
  /** Whether an nt_hash is kept (PEAP). */
  readonly ntHash: boolean;
}

/** What `users add` writes. */
export interface NewUser {
  readonly username: string;
  readonly password: string;
  readonly displayName?: string;
  readonly groups: readonly string[];
  /** Keep the NT hash too (PEAP; password-equivalent). */
  readonly ntHash: boolean;
}

/** NIST SP 800-63B §5.1.1.2: memorized secrets of at least 8 characters. */
export const MIN_PASSWORD_LENGTH = 8;

// What `users add` accepts as a username: what people can type on a phone's keyboard and
// what every login path reads the same way. No blanks (trimmed away at login), no "\"
// (PEAP drops a "DOMAIN\" in front), no ":" or "," (the audit CSV and DNs).
const USERNAME = /^[\p{L}\p{N}][\p{L}\p{N}._@-]{0,63}$/u;

/** Why `name` cannot be a new username, or undefined when it can. */
export function usernameProblem(name: string): string | undefined {
  if (USERNAME.test(name)) return undefined;
  return `${JSON.stringify(name)} is not a valid username: use 1 to 64 letters, digits, ".", "_", "-" or "@", starting with a letter or digit (no blanks)`;
}

/** Why `password` cannot be set, or undefined when it can. The password itself is never in the text. */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  // A control character is a paste gone wrong (or a terminal's escape), not something to type at the portal.
  if (/\p{Cc}/u.test(password)) return 'the password must not contain control characters';
  return undefined;
}

/** The people in the users file, in file order; with `missingIsEmpty`, none when there is no file yet. */
export async function listUsers(path: string, o: { missingIsEmpty: boolean } = { missingIsEmpty: false }): Promise<UsersFileEntry[]> {
  const { text } = await readUsersFile(path, o);
  return [...checked(path, text).values()].map((u) => ({
    username: u.username,
    ...(u.displayName === undefined ? {} : { displayName: u.displayName }),
    groups: u.groups,
    ntHash: u.ntHash !== undefined,
  }));
}

/** Adds a person; creates the file (mode 0600, with its explaining header) when there is none. */
export async function addUser(path: string, user: NewUser): Promise<{ created: boolean }> {
  const problem = usernameProblem(user.username) ?? passwordProblem(user.password);
  if (problem !== undefined) throw new BadInputError(problem);
  const password = await hashPassword(user.password);
  const ntHash = user.ntHash ? ntHashOf(user.password) : undefined;
  return edit(path, { missingIsEmpty: true }, (doc, users, seq) => {
    const existing = users.get(foldName(user.username));
    if (existing !== undefined) throw new BadInputError(`there is already a user ${existing.username} in ${path} (usernames are compared without case); change the password with \`enrollgate users passwd ${existing.username}\``);
    const entry = doc.createNode({
      username: user.username,
      ...(user.displayName === undefined ? {} : { display_name: user.displayName }),
      groups: [...user.groups],
      password,
      ...(ntHash === undefined ? {} : { nt_hash: ntHash }),
    });
    const groups = entry.get('groups', true);
    if (isSeq(groups)) groups.flow = true;
    quote(entry, 'password');
    seq.add(entry);
  });
}

/**
 * Sets a new password. The NT hash is password-equivalent to the old password, so when the
 * entry keeps one it is replaced too (a stale one would let the old password in over PEAP);
 * `addNtHash` adds one to an entry without. Returns the name as the file spells it and what
 * happened to the NT hash.
 */
export async function changePassword(path: string, username: string, password: string, options: { addNtHash: boolean }): Promise<{ username: string; ntHash: 'replaced' | 'added' | 'none' }> {
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new BadInputError(problem);
  const hash = await hashPassword(password);
  let result: { username: string; ntHash: 'replaced' | 'added' | 'none' } = { username, ntHash: 'none' };
  await edit(path, { missingIsEmpty: false }, (doc, _users, seq) => {
    const { entry, name } = find(path, seq, username);
    const had = entry.has('nt_hash');
    entry.set('password', doc.createNode(hash));
    quote(entry, 'password');
    if (had || options.addNtHash) entry.set('nt_hash', ntHashOf(password));
    result = { username: name, ntHash: had ? 'replaced' : options.addNtHash ? 'added' : 'none' };
  });
  return result;
}

/** Removes a person's entry. Returns the name as the file spelled it. */
export async function removeUser(path: string, username: string): Promise<{ username: string }> {
  let removed = username;
  await edit(path, { missingIsEmpty: false }, (_doc, _users, seq) => {
    const { index, name } = find(path, seq, username);
    seq.items.splice(index, 1);
    removed = name;
  });
  return { username: removed };
}

// ---------------------------------------------------------------------------

function quote(entry: YAMLMap, key: string): void {
  const node = entry.get(key, true);
  if (isScalar(node)) node.type = 'QUOTE_DOUBLE';
}

/** The entry of `username` (folded as at login), or BadInputError naming the file. */
function find(path: string, seq: YAMLSeq, username: string): { entry: YAMLMap; index: number; name: string } {
  const wanted = foldName(username);
  const index = seq.items.findIndex((item) => isMap(item) && typeof item.get('username') === 'string' && foldName(item.get('username') as string) === wanted);
  if (index < 0) throw new BadInputError(`there is no user ${username} in ${path} (\`enrollgate users list\` shows who there is)`);
  const entry = seq.items[index] as YAMLMap;
  return { entry, index, name: (entry.get('username') as string).trim() };
}

function checked(path: string, text: string): ReturnType<typeof parseUsers> {
  try {
    return parseUsers(text);
  } catch (err) {
    // As FileDirectory says it: a position or a key, never the content (which holds hashes).
    const problem = err instanceof UsersFileProblem ? err.message : 'it could not be parsed';
    throw new DirectoryUnavailableError(`The users file ${path} is not valid: ${problem}. Fix it by hand first; nothing was changed.`);
  }
}

async function readUsersFile(path: string, o: { missingIsEmpty: boolean }): Promise<{ text: string; stats?: Stats; target: string }> {
  let target: string;
  try {
    // Write beside the real file: renaming over a symlink would replace the link, not the file.
    target = await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && o.missingIsEmpty) return { text: USERS_FILE_HEADER, target: path };
    throw unreadable(path, err);
  }
  try {
    return { text: await readFile(target, 'utf8'), stats: await stat(target), target };
  } catch (err) {
    throw unreadable(path, err);
  }
}

function unreadable(path: string, err: unknown): DirectoryUnavailableError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'ENOENT' ? ' (no such file: `enrollgate users add NAME` creates it)' : code === 'EACCES' ? ' (permission denied: run as the user the gateway runs as, or root)' : '';
  return new DirectoryUnavailableError(`The users file ${path} cannot be read: ${code ?? (err as Error).message}${hint}.`, { cause: err });
}

/**
 * Read, check, change, check again, replace: under a lock file, so that two `users`
 * commands at once cannot each write the file without the other's change.
 */
async function edit(path: string, o: { missingIsEmpty: boolean }, change: (doc: Document, users: ReturnType<typeof parseUsers>, seq: YAMLSeq) => void): Promise<{ created: boolean }> {
  const unlock = await lock(path);
  try {
    const { text: read, stats, target } = await readUsersFile(path, o);
    const users = checked(path, read);
    const doc: Document = parseDocument(withCurrentHeader(read));
    if (!isMap(doc.contents)) doc.contents = doc.createNode({}); // only comments, or empty
    let seq = doc.get('users');
    if (!isSeq(seq)) {
      seq = new YAMLSeq();
      doc.set('users', seq);
    }
    change(doc, users, seq as YAMLSeq);
    // lineWidth 0: a hash on one line, not folded inside its quotes.
    const next = doc.toString({ lineWidth: 0 });
    checked(path, next);
    await replaceFile(target, next, stats);
    return { created: stats === undefined };
  } finally {
    await unlock();
  }
}

// What the header of files written before `enrollgate users` said to do instead: call functions in the sources.
const OLD_HEADER_LINES: ReadonlyArray<readonly [string, string]> = [
  ['# Make one with hashPassword() from src/directory/file-directory.ts.\n', '# Make one with `enrollgate users add NAME` or `enrollgate users passwd NAME`.\n'],
  ['# who must use PEAP; make one with ntHashOf() from the same file.\n', '# who must use PEAP (`enrollgate users add|passwd NAME --nt-hash`).\n'],
];

/** The text with an old header's advice to call source functions replaced by the commands. */
function withCurrentHeader(text: string): string {
  return OLD_HEADER_LINES.reduce((t, [old, now]) => t.replace(old, now), text);
}

async function lock(path: string): Promise<() => Promise<void>> {
  const lockFile = `${path}.lock`;
  try {
    const handle = await open(lockFile, 'wx', 0o600);
    await handle.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new DirectoryUnavailableError(`${lockFile} exists: another \`enrollgate users\` command is changing the users file. If none is running (one was killed), remove ${lockFile}.`);
    }
    throw unreadable(path, err);
  }
  return () => unlink(lockFile).catch(() => undefined);
}

/**
 * Replaces the file the durable way: a temporary file beside it with the same mode and
 * owner (the gateway may run as another user than the admin's root shell), fsync,
 * rename over the file, fsync of the directory so that the rename outlives a power cut.
 */
async function replaceFile(target: string, text: string, like: Stats | undefined): Promise<void> {
  const dir = dirname(target);
  const temporary = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    if (like !== undefined) {
      await handle.chmod(like.mode & 0o777);
      if (like.uid !== process.getuid?.() || like.gid !== process.getgid?.()) {
        try {
          await handle.chown(like.uid, like.gid);
        } catch (err) {
          throw new DirectoryUnavailableError(`The users file ${target} belongs to uid ${like.uid}, gid ${like.gid}, which this user cannot give a file to: run the command as that user or as root (nothing was changed).`, { cause: err });
        }
      }
    }
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    await rename(temporary, target);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
