import { userInfo } from 'node:os';
import { auditKey, AuditLockedError, AuditLog, spoolAuditEvent } from '../../audit/audit-log.js';
import type { AuditEvent } from '../../audit/events.js';
import { systemClock } from '../../clock.js';
import type { Config } from '../../config/load.js';
import type { Device } from '../../devices/device.js';
import { DeviceRegistry, type BlockEntry } from '../../devices/device-registry.js';
import { macProblem, parseMac, type Mac } from '../../mac.js';
import { BadInputError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { SessionStore } from '../../sessions/session-store.js';
import { openStateStore } from '../../store/open-state-store.js';

/** The `devices` subcommands and their help (printed by `enrollgate help`). */
export const DEVICES_USAGE = `  enrollgate devices list [--user USER] [--config FILE]
      List enrolled devices (all, or USER's).
  enrollgate devices block MAC [--reason TEXT] [--config FILE]
      Block a lost or stolen device: it can no longer enroll or log in, and its session
      ends in the state file, so RADIUS refuses its next request. A running gateway does
      not send the router a Disconnect-Request for a block made here (the admin API will):
      a device already online stays online until its router asks RADIUS again.
  enrollgate devices unenroll MAC [--reason TEXT] [--config FILE]
      Unenroll a device whoever owns it; its session ends in the state file.
  enrollgate devices unblock MAC [--config FILE]
      Take a MAC off the block list.
  enrollgate devices blocked [--config FILE]
      Show the block list.
`;

export const DEVICES_SUBCOMMANDS = ['list', 'block', 'unblock', 'unenroll', 'blocked'] as const;
export type DevicesSubcommand = (typeof DEVICES_SUBCOMMANDS)[number];

/**
 * `enrollgate devices …`: works on the state file directly (the gateway may be
 * running: SQLite in WAL mode takes a second connection). Throws BadInputError for a
 * bad MAC or a missing argument (the CLI exits 2).
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

  const store = await openStateStore(config, createLogger('silent'));
  try {
    const registry = new DeviceRegistry(store.kv, store.withLock);
    switch (sub) {
      case 'list': {
        const devices = flags.user !== undefined ? await registry.listByOwner(flags.user) : await registry.list();
        const blocked = new Set((await registry.listBlocked()).map((b) => b.mac));
        if (devices.length === 0) return print(flags.user !== undefined ? `No devices enrolled to ${flags.user}.` : 'No devices enrolled.');
        for (const d of devices) print(deviceLine(d, blocked.has(d.mac)));
        return;
      }
      case 'block': {
        const entry = await registry.block(mac!, { by: `cli:${operator()}`, reason: flags.reason ?? 'blocked from the command line', at: new Date().toISOString() });
        const ended = await new SessionStore(store.kv.sessions).revoke(mac!);
        await auditFromCli(config, { type: 'device.blocked', mac: entry.mac, by: entry.by, reason: entry.reason });
        if (ended) await auditFromCli(config, { type: 'session.revoked', mac: entry.mac, reason: 'blocked', by: entry.by });
        const device = await registry.get(mac!);
        print(`Blocked ${entry.mac}${device ? ` (enrolled to ${device.owner})` : ' (not enrolled)'}.`);
        print(
          ended
            ? 'Its session is ended: RADIUS refuses its next request. A running gateway does not send the router a Disconnect-Request for a block made here.'
            : 'It had no session.',
        );
        return;
      }
      case 'unenroll': {
        const device = await registry.get(mac!);
        if (!device || !(await registry.unenroll(mac!))) return print(`${mac} is not enrolled.`);
        const reason = flags.reason ?? 'unenrolled from the command line';
        const by = `cli:${operator()}`;
        const ended = await new SessionStore(store.kv.sessions).revoke(mac!);
        await auditFromCli(config, { type: 'device.unenrolled', mac: mac!, user: device.owner, reason, by });
        if (ended) await auditFromCli(config, { type: 'session.revoked', mac: mac!, reason: `unenrolled: ${reason}`, by });
        print(`Unenrolled ${mac} (it was ${device.owner}'s)${ended ? '; its session is ended' : ''}.`);
        return;
      }
      case 'unblock': {
        const had = await registry.unblock(mac!);
        if (had) await auditFromCli(config, { type: 'device.unblocked', mac: mac!, by: `cli:${operator()}` });
        print(had ? `Unblocked ${mac}. It can enroll or log in again.` : `${mac} was not blocked.`);
        return;
      }
      case 'blocked': {
        const entries = await registry.listBlocked();
        if (entries.length === 0) return print('No devices are blocked.');
        for (const e of entries) print(blockLine(e));
        return;
      }
    }
  } finally {
    await store.close();
  }
}

/**
 * Records what the command line changed. The audit trail has one writer: a running
 * gateway records the spooled event within seconds; without one, this process takes
 * the writer's lock and records it itself.
 */
export async function auditFromCli(config: Config, event: AuditEvent): Promise<void> {
  spoolAuditEvent(config.audit.dir, event);
  try {
    const key = auditKey(config);
    const log = AuditLog.open({ dir: config.audit.dir, ...(key ? { key } : {}), clock: systemClock, log: createLogger('silent') });
    await log.close();
  } catch (err) {
    if (!(err instanceof AuditLockedError)) throw err;
  }
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
