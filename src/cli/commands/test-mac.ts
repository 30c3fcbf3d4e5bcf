import { systemClock } from '../../clock.js';
import type { Config } from '../../config/load.js';
import type { Device } from '../../devices/device.js';
import { DeviceRegistry, type BlockEntry } from '../../devices/device-registry.js';
import { BadInputError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { macProblem, parseMac, type Mac } from '../../mac.js';
import { nasClient, type NasClient } from '../../radius/clients.js';
import { codeName } from '../../radius/packet.js';
import { decideAccess, type AccessDecision } from '../../radius/policy.js';
import type { AttributeTuple } from '../../radius/radius-lib.js';
import { SessionService } from '../../sessions/session-service.js';
import type { Session } from '../../sessions/session.js';
import { openStateStore } from '../../store/open-state-store.js';
import { accessSettings, sessionSettings } from '../../session-wiring.js';


/** What `enrollgate test mac` found, as `--json` prints it. */
export interface MacReport {
  readonly mac: Mac;
  readonly nas: { readonly name: string; readonly profile: string };
  readonly at: string;
  readonly decision: { readonly code: string; readonly outcome: AccessDecision['outcome']; readonly reason: string; readonly user?: string };
  readonly attributes: readonly ReportedAttribute[];
  readonly enrolled: { readonly owner: string; readonly platform: string; readonly osVersion?: string; readonly enrolledAt: string; readonly via: string } | null;
  readonly blocked: { readonly by: string; readonly reason: string; readonly at: string } | null;
  readonly session: { readonly user: string; readonly origin: Session['origin']; readonly startedAt: string; readonly endsAt: string } | null;
}

/** One attribute of the answer: a vendor's (in its Vendor-Specific) names the vendor's number; a tagged one its tag (RFC 2868). */
export interface ReportedAttribute {
  readonly name: string;
  readonly value: string | number;
  readonly vendor?: number;
  readonly tag?: number;
}

/**
 * `enrollgate test mac`: the decision the RADIUS access handler would make now, made the
 * same way (the live session through SessionService, decideAccess with the NAS and the
 * config's access settings), plus what the device registry knows of the device.
 * BadInputError (exit 2) for a bad MAC or an unknown NAS.
 */
export async function testMacCommand(config: Config, args: readonly string[], flags: { nas?: string; json?: boolean }, print: (line: string) => void): Promise<void> {
  if (args.length !== 1) throw new BadInputError('test mac takes one MAC address, such as aa:bb:cc:dd:ee:ff');
  const mac = parseMac(args[0]!);
  if (mac === null) throw new BadInputError(`${JSON.stringify(args[0])}: ${macProblem(args[0]!) ?? 'not a MAC address'}`);
  const nas = chooseNas(config, flags.nas);

  const log = createLogger('silent');
  const store = await openStateStore(config, log);
  try {
    const clock = systemClock;
    const sessions = new SessionService(sessionSettings(config, store, clock, log));
    const devices = new DeviceRegistry(store.kv, store.withLock);
    const now = clock.now();
    const session = await sessions.live(mac);
    const decision = decideAccess(mac, session, nas, { now, ...accessSettings(config) });
    const report = macReport(mac, nas, now, decision, session, await devices.get(mac), await devices.blocked(mac));
    if (flags.json) print(JSON.stringify(report, null, 2));
    else for (const line of macLines(report)) print(line);
  } finally {
    await store.close();
  }
}

/** The NAS named by --nas, or the first configured; an unknown name lists the configured ones. */
function chooseNas(config: Config, name: string | undefined): NasClient {
  const clients = config.radius.clients;
  const chosen = name === undefined ? clients[0] : clients.find((c) => c.name === name);
  if (chosen !== undefined) return nasClient(chosen);
  if (name === undefined) throw new BadInputError('test mac: radius.clients is empty; there is no NAS to ask through');
  throw new BadInputError(`--nas: no NAS named ${JSON.stringify(name)} in radius.clients; the names are: ${clients.map((c) => c.name).join(', ')}`);
}

function macReport(mac: Mac, nas: NasClient, now: Date, d: AccessDecision, session: Session | undefined, device: Device | undefined, block: BlockEntry | undefined): MacReport {
  return {
    mac,
    nas: { name: nas.name, profile: nas.profile },
    at: now.toISOString(),
    decision: { code: codeName(d.code), outcome: d.outcome, reason: d.reason, ...(d.user !== undefined ? { user: d.user } : {}) },
    attributes: d.attributes.flatMap(reportedAttributes),
    enrolled: device
      ? { owner: device.owner, platform: device.platform, ...(device.osVersion ? { osVersion: device.osVersion } : {}), enrolledAt: device.enrolledAt, via: device.via ?? 'portal' }
      : null,
    blocked: block ? { by: block.by, reason: block.reason, at: block.at } : null,
    session: session ? { user: session.user, origin: session.origin, startedAt: session.startedAt, endsAt: session.endsAt } : null,
  };
}

/** policy.ts's tuples: [name, value], [name, tag, value], or ['Vendor-Specific', vendor, [[name, value], …]]. */
function reportedAttributes(tuple: AttributeTuple): ReportedAttribute[] {
  const [name, ...rest] = tuple;
  if (name === 'Vendor-Specific') {
    const [vendor, inner] = rest as [number, Array<[string, string | number]>];
    return inner.map(([n, value]) => ({ name: n, value, vendor }));
  }
  if (rest.length === 2) return [{ name: String(name), tag: rest[0] as number, value: rest[1] as string | number }];
  return [{ name: String(name), value: rest[0] as string | number }];
}

/** The plain report: one fact a line, the same whether or not stdout is a terminal. */
function macLines(r: MacReport): string[] {
  const d = r.decision;
  const lines = [
    `Device ${r.mac} asking through NAS ${r.nas.name} (profile ${r.nas.profile}), at ${r.at}`,
    `Decision: ${d.code} (${d.outcome}: ${d.reason})`,
  ];
  if (r.attributes.length === 0) lines.push('Attributes: none');
  else {
    lines.push('Attributes:');
    for (const a of r.attributes) lines.push(`  ${a.name}${a.tag !== undefined ? `:${a.tag}` : ''} = ${a.value}${a.vendor !== undefined ? `  (vendor ${a.vendor})` : ''}`);
  }
  const e = r.enrolled;
  lines.push(e ? `Enrolled: yes, to ${e.owner} (${e.platform}${e.osVersion ? ` ${e.osVersion}` : ''}), on ${e.enrolledAt} via ${e.via}` : 'Enrolled: no');
  lines.push(r.blocked ? `Blocked: yes, by ${r.blocked.by} on ${r.blocked.at}: ${r.blocked.reason}` : 'Blocked: no');
  const s = r.session;
  lines.push(s ? `Session: ${s.origin} for ${s.user}, from ${s.startedAt}, ends at ${s.endsAt}` : 'Session: none live');
  return lines;
}
