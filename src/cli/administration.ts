import { auditKey, AuditLockedError, AuditLog, spoolAuditEvent } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/events.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/load.js';
import { DeviceAdministration } from '../devices/device-administration.js';
import { DeviceRegistry } from '../devices/device-registry.js';
import { createLogger } from '../logger.js';
import { Metrics } from '../metrics.js';
import type { SessionService } from '../sessions/session-service.js';
import { openStateStore } from '../store/open-state-store.js';
import { notifyingSessions } from '../session-wiring.js';

/** What the command line acts with: the services the admin console and API use. */
export interface Administration {
  readonly devices: DeviceRegistry;
  readonly administration: DeviceAdministration;
  readonly sessions: SessionService;
}

/** A router told of a change the command line made (RFC 5176), from the audit record of it. */
export type NasTold = Extract<AuditEvent, { type: 'router.notified' }>;

/**
 * Runs a command-line action on devices or sessions through the same services as the
 * admin console and API (DeviceAdministration, SessionService, built by wiring.ts): the
 * same audit records, and the same Disconnect-Request to the device's router, waited for
 * before this returns. The gateway may be running: the state store takes a second
 * connection, and the audit records go to the trail's writer (auditFromCli).
 * Returns what `use` returned and what the audit trail was given.
 */
export async function administer<T>(config: Config, use: (a: Administration) => Promise<T>): Promise<{ result: T; recorded: readonly AuditEvent[] }> {
  const log = createLogger('silent');
  const recorded: AuditEvent[] = [];
  const audit = { record: (event: AuditEvent) => void recorded.push(event) };
  const store = await openStateStore(config, log);
  const clock = systemClock;
  // Counted (the dynamic-authorization client counts its requests), never served: this process has no /metrics.
  const metrics = new Metrics({ parts: ['radius'] });
  const { notifier, dynamicAuthorization, sessions } = notifyingSessions(config, { store, clock, log, audit, metrics });
  try {
    const devices = new DeviceRegistry(store.kv, store.withLock);
    const result = await use({ devices, sessions, administration: new DeviceAdministration({ devices, sessions, clock, log, audit }) });
    await notifier.idle();
    return { result, recorded };
  } finally {
    await dynamicAuthorization.close();
    await store.close();
    await auditFromCli(config, ...recorded);
  }
}

/**
 * Records what the command line changed. The audit trail has one writer: a running
 * gateway records the spooled events within seconds; without one, this process takes
 * the writer's lock and records them itself.
 */
export async function auditFromCli(config: Config, ...events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  for (const event of events) spoolAuditEvent(config.audit.dir, event);
  try {
    const key = auditKey(config);
    const log = AuditLog.open({ dir: config.audit.dir, ...(key ? { key } : {}), clock: systemClock, log: createLogger('silent') });
    await log.close();
  } catch (err) {
    if (!(err instanceof AuditLockedError)) throw err;
  }
}

/** What the command line says of the routers it told (or did not) after a session ended. */
export function nasLines(recorded: readonly AuditEvent[]): string[] {
  const told = recorded.filter((e): e is NasTold => e.type === 'router.notified');
  if (told.length === 0) return ['No router was told: none is known for the device (no accounting, no request seen), or its router has dynamic_authorization off.'];
  const outcome: Record<NasTold['result'], string> = { ack: 'acknowledged it', nak: 'refused it (NAK)', timeout: 'did not answer', error: 'could not be reached' };
  return told.map((e) => `Router ${e.nas} was sent a ${e.kind === 'disconnect' ? 'Disconnect-Request' : 'CoA-Request'} for ${e.mac} and ${outcome[e.result]}.`);
}
