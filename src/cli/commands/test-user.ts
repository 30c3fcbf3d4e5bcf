import type { Config } from '../../config/load.js';
import type { DirectoryUser, LoginStep, SteppedDirectory } from '../../directory/directory.js';
import { BadInputError, GatewayError } from '../../errors.js';


/**
 * `enrollgate test user`: the configured directory's walk (SteppedDirectory), each step
 * printed as it ends. Returns the exit status: 0 when every step passed, 1 when one failed.
 * The password is only handed to the directory: never printed, never logged.
 */
export async function testUserCommand(
  config: Config,
  directory: SteppedDirectory,
  args: readonly string[],
  flags: { password: boolean },
  io: { print: (line: string) => void; readPassword: (prompt: string) => Promise<string | undefined> },
): Promise<number> {
  if (args.length !== 1 || args[0]!.trim() === '') throw new BadInputError('test user takes one username');
  const name = args[0]!;
  let password: string | undefined;
  if (flags.password) {
    password = await io.readPassword(`Password for ${name}: `);
    if (password === undefined || password === '') throw new BadInputError('test user --password: no password given');
  }

  const d = config.directory;
  io.print(`Directory: ${d.kind === 'ldap' && d.ldap ? `LDAP ${d.ldap.url}, base ${d.ldap.base_dn}` : `users file ${d.file.path}`}; user ${name}${password === undefined ? ' (password not checked: add --password)' : ''}`);
  let failed = false;
  const report = (s: LoginStep): void => {
    if (!s.ok) failed = true;
    io.print(`  ${s.ok ? 'ok    ' : 'failed'}  ${s.step}: ${s.reason}`);
  };
  let user: DirectoryUser;
  try {
    user = await directory.walk(name, password, report);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    // A refusal no step explained (none should): its message at least.
    if (!failed) io.print(`  failed  ${err.message}`);
    io.print(`Result: ${name} cannot log in.`);
    return 1;
  } finally {
    await directory.close();
  }
  io.print(`Result: ${user.username}${user.displayName ? ` (${user.displayName})` : ''} ${password === undefined ? 'is in the directory and allowed' : 'can log in'}.`);
  return 0;
}
