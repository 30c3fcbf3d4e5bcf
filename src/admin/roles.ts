/**
 * Who may do what in the admin console and API. Pure: the role comes from the
 * person's directory groups (config `admin.roles`) or from an API token's role, and
 * every operation names the permission it needs (admin-service.ts checks it on the
 * server for every call, whatever a page showed).
 */
import type { ClientFields } from '../audit/events.js';
import type { AdminConfig } from '../config/load.js';
import { groupMatches } from '../devices/policy.js';

export type Role = 'admin' | 'helpdesk' | 'auditor';

export type Permission =
  | 'dashboard.view'
  | 'devices.view'
  | 'devices.unenroll'
  | 'devices.block'
  | 'devices.unblock'
  | 'certificates.revoke'
  | 'sessions.view'
  | 'sessions.revoke'
  | 'nas.view'
  | 'audit.view'
  | 'audit.export';

/** The roles holding each permission. Helpdesk works on devices and sessions; auditors read the audit trail only. */
export const PERMISSIONS: Readonly<Record<Permission, readonly Role[]>> = {
  'dashboard.view': ['admin', 'helpdesk', 'auditor'],
  'devices.view': ['admin', 'helpdesk'],
  'devices.unenroll': ['admin', 'helpdesk'],
  'devices.block': ['admin', 'helpdesk'],
  'devices.unblock': ['admin'],
  // Like blocking: cuts one EAP-TLS certificate of a device (a leaked profile, say).
  'certificates.revoke': ['admin', 'helpdesk'],
  'sessions.view': ['admin', 'helpdesk'],
  'sessions.revoke': ['admin', 'helpdesk'],
  'nas.view': ['admin', 'helpdesk'],
  'audit.view': ['admin', 'auditor'],
  'audit.export': ['admin', 'auditor'],
};

/** Strongest first: a member of several configured groups gets the first that matches. */
const STRENGTH: readonly Role[] = ['admin', 'helpdesk', 'auditor'];

/** Who is acting: a person logged into the console, or an API token. */
export interface Actor {
  /** The username, or api:<token name>: what the audit trail records as the acting admin. */
  readonly name: string;
  readonly role: Role;
  /** Where they act from (the console or the API, address, user agent): recorded with what they do. */
  readonly client?: ClientFields;
}

export function may(actor: Actor, permission: Permission): boolean {
  return PERMISSIONS[permission].includes(actor.role);
}

/** The person's role from their directory groups, or undefined: not an admin at all. */
export function roleFor(groups: readonly string[], roles: AdminConfig['roles']): Role | undefined {
  return STRENGTH.find((role) => roles[role].some((configured) => groups.some((g) => groupMatches(configured, g))));
}
