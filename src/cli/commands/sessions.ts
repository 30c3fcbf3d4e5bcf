import type { Config } from '../../config/load.js';
import { macProblem, parseMac, type Mac } from '../../mac.js';
import { BadInputError } from '../../errors.js';
import { administer, nasLines } from '../administration.js';
import { operator } from './devices.js';
import { SESSIONS_SUBCOMMANDS } from '../usage.js';


export type SessionsSubcommand = (typeof SESSIONS_SUBCOMMANDS)[number];

/** `enrollgate sessions …`, through the admin console's services (administration.ts); the gateway may be running. BadInputError → exit 2. */
export async function sessionsCommand(
  config: Config,
  sub: SessionsSubcommand,
  args: readonly string[],
  flags: { user?: string; reason?: string },
  print: (line: string) => void,
): Promise<void> {
  if (sub === 'list' && args.length > 0) throw new BadInputError(`sessions list takes no arguments, got: ${args.join(' ')}`);
  if (sub === 'list' && flags.reason !== undefined) throw new BadInputError('sessions list does not take --reason');
  if (sub === 'revoke' && (args.length > 1 || (args.length === 1) === (flags.user !== undefined))) {
    throw new BadInputError('sessions revoke takes one MAC address (aa:bb:cc:dd:ee:ff) or --user USER');
  }
  const mac = sub === 'revoke' && args.length === 1 ? macArgument(args[0]!) : undefined;

  const wanted = flags.user?.toLowerCase();
  const { recorded } = await administer(config, async ({ sessions }) => {
    const matching = async () => (await sessions.list()).filter((s) => wanted === undefined || s.user.toLowerCase() === wanted);
    if (sub === 'list') {
      const list = (await matching()).sort((a, b) => a.user.localeCompare(b.user) || a.mac.localeCompare(b.mac));
      if (list.length === 0) return print(flags.user !== undefined ? `No live sessions of ${flags.user}.` : 'No live sessions.');
      for (const s of list) print(`${s.mac}  ${s.user}  ${s.origin}  from ${s.startedAt}  until ${s.endsAt}`);
      return;
    }
    const targets = mac ? [mac] : (await matching()).map((s) => s.mac);
    const reason = flags.reason ?? 'revoked from the command line';
    const by = `cli:${operator()}`;
    let ended = 0;
    for (const m of targets) {
      if (!(await sessions.revoke(m, reason, by))) continue;
      ended++;
      print(`Ended the session of ${m}.`);
    }
    if (ended === 0) print(mac ? `${mac} had no session.` : `${flags.user} had no live session.`);
  });
  if (sub === 'revoke' && recorded.some((e) => e.type === 'session.revoked')) for (const line of nasLines(recorded)) print(line);
}

function macArgument(value: string): Mac {
  const mac = parseMac(value);
  if (mac === null) throw new BadInputError(`${JSON.stringify(value)}: ${macProblem(value) ?? 'not a MAC address'}`);
  return mac;
}
