import { userInfo } from 'node:os';
import type { Config } from '../../config/load.js';
import type { Device } from '../../devices/device.js';
import type { BlockEntry } from '../../devices/device-registry.js';
import { macProblem, parseMac, type Mac } from '../../mac.js';
import { BadInputError } from '../../errors.js';
import { administer, nasLines } from '../administration.js';
import { DEVICES_SUBCOMMANDS } from '../usage.js';


export type DevicesSubcommand = (typeof DEVICES_SUBCOMMANDS)[number];

/**
 * `enrollgate devices …`, through the admin console's services (administration.ts); the
 * gateway may be running. Throws BadInputError for a bad MAC or a missing argument (the
 * CLI exits 2).
 */
export async function devicesCommand(
  config: Config,
  sub: DevicesSubcommand,
  args: readonly string[],
  flags: { user?: string; reason?: string },
  print: (line: string) => void,
): Promise<void> {
  const expected = sub === 'block' || sub === 'unblock' || sub === 'unenroll' ? 1 : 0;
  if (args.length !== expected) {
    throw new BadInputError(expected === 1 ? `devices ${sub} takes one MAC address, such as aa:bb:cc:dd:ee:ff` : `devices ${sub} takes no arguments, got: ${args.join(' ')}`);
  }
  if (flags.user !== undefined && sub !== 'list') throw new BadInputError(`devices ${sub} does not take --user`);
  if (flags.reason !== undefined && sub !== 'block' && sub !== 'unenroll') throw new BadInputError(`devices ${sub} does not take --reason`);
  const mac = expected === 1 ? macArgument(args[0]!) : undefined;

  const by = `cli:${operator()}`;
  await administer(config, async ({ devices, administration }) => {
    switch (sub) {
      case 'list': {
        const list = flags.user !== undefined ? await devices.listByOwner(flags.user) : await devices.list();
        const blocked = new Set((await devices.listBlocked()).map((b) => b.mac));
        if (list.length === 0) return print(flags.user !== undefined ? `No devices enrolled to ${flags.user}.` : 'No devices enrolled.');
        for (const d of list) print(deviceLine(d, blocked.has(d.mac)));
        return;
      }
      case 'block': {
        const entry = await administration.block(mac!, by, flags.reason ?? 'blocked from the command line');
        const device = await devices.get(mac!);
        print(`Blocked ${entry.mac}${device ? ` (enrolled to ${device.owner})` : ' (not enrolled)'}.`);
        return;
      }
      case 'unenroll': {
        const device = await devices.get(mac!);
        if (!device || !(await administration.unenrollAsAdmin(mac!, by, flags.reason ?? 'unenrolled from the command line'))) return print(`${mac} is not enrolled.`);
        print(`Unenrolled ${mac} (it was ${device.owner}'s).`);
        return;
      }
      case 'unblock': {
        const had = await administration.unblock(mac!, by);
        print(had ? `Unblocked ${mac}. It can enroll or log in again.` : `${mac} was not blocked.`);
        return;
      }
      case 'blocked': {
        const entries = await devices.listBlocked();
        if (entries.length === 0) return print('No devices are blocked.');
        for (const e of entries) print(blockLine(e));
        return;
      }
    }
  }).then(({ recorded }) => {
    if (sub !== 'block' && sub !== 'unenroll') return;
    if (!recorded.some((e) => e.type === 'session.revoked')) return print('It had no session.');
    print('Its session is ended: RADIUS refuses its next request.');
    for (const line of nasLines(recorded)) print(line);
  });
}

function macArgument(value: string): Mac {
  const mac = parseMac(value);
  if (mac === null) throw new BadInputError(`${JSON.stringify(value)}: ${macProblem(value) ?? 'not a MAC address'}`);
  return mac;
}

/** Who runs the command line: the audit trail's acting admin for it (cli:<OS user>). */
export function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function deviceLine(d: Device, blocked: boolean): string {
  const parts = [
    d.mac,
    d.owner,
    d.platform + (d.osVersion ? ` ${d.osVersion}` : ''),
    d.model ?? '-',
    `enrolled ${d.enrolledAt}`,
    `via ${d.via ?? 'portal'}`,
    ...(d.randomisedMac ? ['randomised MAC'] : []),
    ...(blocked ? ['BLOCKED'] : []),
  ];
  return parts.join('  ');
}

function blockLine(e: BlockEntry): string {
  return `${e.mac}  blocked ${e.at} by ${e.by}: ${e.reason}`;
}
