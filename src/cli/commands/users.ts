import type { AuditEvent } from '../../audit/events.js';
import type { Config } from '../../config/load.js';
import { addUser, changePassword, listUsers, passwordProblem, removeUser, usernameProblem } from '../../directory/users-file-editor.js';
import { foldName } from '../../directory/file-directory.js';
import { BadInputError } from '../../errors.js';
import { operator } from './devices.js';
import { USERS_SUBCOMMANDS } from '../usage.js';


export type UsersSubcommand = (typeof USERS_SUBCOMMANDS)[number];

export interface UsersFlags {
  readonly displayName?: string;
  readonly groups?: readonly string[];
  readonly ntHash?: boolean;
}

export interface UsersIo {
  print(line: string): void;
  /** Asks for a password without echo (read-password.ts); undefined when none was given. */
  readPassword(prompt: string): Promise<string | undefined>;
  /** Whether the password comes from a person at a terminal (then it is asked twice). */
  readonly interactive: boolean;
  /** Records what the command changed in the audit trail. */
  audit(event: AuditEvent): Promise<void>;
}

/**
 * `enrollgate users …` on the users file that `directory.file.path` names. Bad arguments,
 * a duplicate and a missing user are BadInputError (exit 2); a file that cannot be read or
 * is not valid is DirectoryUnavailableError. Passwords are only hashed: never printed.
 */
export async function usersCommand(config: Config, sub: UsersSubcommand, args: readonly string[], flags: UsersFlags, io: UsersIo): Promise<void> {
  if (config.directory.kind !== 'file') {
    throw new BadInputError(`users ${sub}: directory.kind is ${config.directory.kind}; people are managed in the LDAP directory itself (\`enrollgate test user NAME\` checks one)`);
  }
  const path = config.directory.file.path;
  const takes: Record<UsersSubcommand, readonly (keyof UsersFlags)[]> = { list: [], add: ['displayName', 'groups', 'ntHash'], passwd: ['ntHash'], remove: [] };
  const flagName: Record<keyof UsersFlags, string> = { displayName: '--display-name', groups: '--group', ntHash: '--nt-hash' };
  const wrong = (Object.keys(flags) as (keyof UsersFlags)[]).filter((k) => flags[k] !== undefined && !takes[sub].includes(k));
  if (wrong.length > 0) throw new BadInputError(`users ${sub} does not take ${wrong.map((k) => flagName[k]).join(', ')}`);

  if (sub === 'list') {
    if (args.length > 0) throw new BadInputError(`users list takes no arguments, got: ${args.join(' ')}`);
    const users = await listUsers(path);
    io.print(`${path}: ${users.length} user(s)${config.directory.file.required_group ? `; only members of ${config.directory.file.required_group} may log in` : ''}`);
    for (const u of users) {
      io.print(`  ${u.username}${u.displayName && u.displayName !== u.username ? ` (${u.displayName})` : ''}  groups: ${u.groups.length > 0 ? u.groups.join(', ') : '-'}${u.ntHash ? '  nt_hash (PEAP)' : ''}`);
    }
    return;
  }

  if (args.length !== 1 || args[0]!.trim() === '') throw new BadInputError(`users ${sub} takes one username`);
  const name = args[0]!;
  const by = `cli:${operator()}`;

  // The name first: a bad, missing or duplicate name should not cost the admin typing a password.
  const problem = sub === 'add' ? usernameProblem(name) : undefined;
  if (problem !== undefined) throw new BadInputError(`users add: ${problem}`);
  const known = (await listUsers(path, { missingIsEmpty: sub === 'add' })).find((u) => foldName(u.username) === foldName(name));
  if (sub !== 'add' && known === undefined) throw new BadInputError(`there is no user ${name} in ${path} (\`enrollgate users list\` shows who there is)`);

  if (sub === 'remove') {
    const removed = await removeUser(path, name);
    await io.audit({ type: 'user.removed', user: removed.username, by });
    io.print(`Removed ${removed.username} from ${path}: the next login as ${removed.username} is refused.`);
    io.print(`Their enrolled devices keep today's session, and are not renewed after it ("the owner is no longer in the directory"); \`enrollgate sessions revoke --user ${removed.username}\` ends them now.`);
    return;
  }

  if (sub === 'add') {
    if (known !== undefined) throw new BadInputError(`there is already a user ${known.username} in ${path} (usernames are compared without case); change the password with \`enrollgate users passwd ${known.username}\``);
    const groups = (flags.groups ?? []).map((g) => g.trim());
    if (groups.some((g) => g === '')) throw new BadInputError('users add --group: a group name must not be empty');
    const password = await askPassword(io, name);
    const { created } = await addUser(path, { username: name, password, groups, ntHash: flags.ntHash === true, ...(flags.displayName ? { displayName: flags.displayName } : {}) });
    await io.audit({ type: 'user.added', user: name, by, nt_hash: flags.ntHash === true });
    io.print(`${created ? 'Created' : 'Updated'} ${path}: added ${name}${groups.length > 0 ? ` (groups: ${groups.join(', ')})` : ''}${flags.ntHash ? ', with an NT hash for PEAP (password-equivalent: keep the file private)' : ''}.`);
    const required = config.directory.file.required_group;
    if (required !== undefined && !groups.some((g) => g.toLowerCase() === required.toLowerCase())) {
      io.print(`Note: directory.file.required_group is ${required}, and ${name} is not in it: ${name} cannot log in until added to it (\`enrollgate test user ${name}\` shows it).`);
    }
    return;
  }

  const password = await askPassword(io, name);
  const changed = await changePassword(path, name, password, { addNtHash: flags.ntHash === true });
  await io.audit({ type: 'user.password_changed', user: changed.username, by, nt_hash: changed.ntHash });
  const nt = { replaced: '; its NT hash (PEAP) changed with it', added: '; an NT hash for PEAP was added (password-equivalent: keep the file private)', none: '' }[changed.ntHash];
  io.print(`Changed the password of ${changed.username} in ${path}${nt}. The next login uses it.`);
}

/** The new password: asked twice at a terminal, once from stdin; checked before anything is written. */
async function askPassword(io: UsersIo, name: string): Promise<string> {
  const password = await io.readPassword(`New password for ${name}: `);
  if (password === undefined || password === '') throw new BadInputError('no password given');
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new BadInputError(problem);
  if (io.interactive) {
    const again = await io.readPassword('The same again: ');
    if (again !== password) throw new BadInputError('the two passwords differ; nothing was changed');
  }
  return password;
}
