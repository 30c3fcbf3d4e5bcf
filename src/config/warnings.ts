import type { Config } from './load.js';

/**
 * Settings that validate but cannot work as written: `check-config` prints them and
 * `start` logs them (event config.warning). Pure: a config in, the warnings out, each
 * starting with the key path it is about.
 *
 * The one kind so far is a directory group that can never match. With an LDAP
 * directory the groups a person is in are whole DNs (memberOf), such as
 * cn=wifi-admins,ou=groups,dc=example,dc=org. An entry of admin.roles or
 * enrollment.group_limits matches one of them when it is that DN, or, written without
 * "=", the value of its first RDN (wifi-admins). An entry with "=" but no comma is
 * a DN of one RDN (ou=groups): no group lives at the top of a directory tree, so it
 * never matches. That is what an unquoted DN becomes in a YAML flow list:
 * `admin: [cn=wifi-admins,ou=groups,dc=example,dc=org]` is four strings, and the
 * admin is locked out of the console while the config passes validation. A run of
 * such entries in one list is named as the one DN it was meant to be.
 *
 * directory.ldap.required_group is compared as a whole DN, so there anything short
 * of a DN of two RDNs or more never matches either.
 *
 * With the users file (directory.kind file) groups are plain names the admin wrote,
 * and any string can match one: nothing is warned about.
 */

/** The parts of a config the group warnings read (RawConfig and Config both have them). */
export interface GroupSettings {
  readonly directory: { readonly kind: string; readonly ldap?: { readonly required_group?: string | undefined } | undefined };
  readonly admin: { readonly roles: { readonly admin: readonly string[]; readonly helpdesk: readonly string[]; readonly auditor: readonly string[] } };
  readonly enrollment: { readonly group_limits: ReadonlyArray<{ readonly group: string }> };
}

/** A DN's text without its escaped characters (RFC 4514 `\,`, `\=`, `\2C`), so that only real separators remain. */
function unescaped(entry: string): string {
  return entry.replace(/\\(?:[0-9A-Fa-f]{2}|.)/g, '');
}

/** "ou=groups": names an RDN, but has no comma, so it is a DN of one RDN. */
export function isSingleRdn(entry: string): boolean {
  const text = unescaped(entry);
  return text.includes('=') && !text.includes(',');
}

const NEVER = 'can never match a group DN the directory reports';
const FIX = 'give the group\'s whole DN, quoted, or its name without "=" (wifi-admins for cn=wifi-admins,ou=groups,dc=example,dc=org)';

/** Warnings for one list of group entries (admin.roles.admin …), runs of single RDNs named together. */
function listWarnings(path: string, entries: readonly string[]): string[] {
  const warnings: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    if (!isSingleRdn(entries[i]!)) continue;
    let end = i;
    while (end + 1 < entries.length && isSingleRdn(entries[end + 1]!)) end++;
    const run = entries.slice(i, end + 1);
    if (run.length === 1) {
      warnings.push(`${path}[${i}]: "${run[0]}" is a single RDN, not a group's DN, and ${NEVER}; ${FIX}`);
    } else {
      warnings.push(
        `${path}[${i}] to [${end}]: ${run.map((e) => JSON.stringify(e)).join(', ')} look like one DN split at its commas ` +
          `(an unquoted DN inside [ ] splits there) and ${NEVER}; write it quoted: [${JSON.stringify(run.join(','))}]`,
      );
    }
    i = end;
  }
  return warnings;
}

/** Every warning for this config, each starting with the key path it is about. */
export function configWarnings(config: GroupSettings): string[] {
  if (config.directory.kind !== 'ldap') return [];
  const warnings: string[] = [];
  const required = config.directory.ldap?.required_group;
  if (required !== undefined) {
    const path = 'directory.ldap.required_group';
    if (!unescaped(required).includes('=')) {
      warnings.push(`${path}: "${required}" is not a DN and ${NEVER}; give the group's whole DN, such as "cn=${required},ou=groups,dc=example,dc=org"`);
    } else if (isSingleRdn(required)) {
      warnings.push(`${path}: "${required}" is a single RDN, not the group's whole DN, and ${NEVER}; give the whole DN, such as "${required},ou=groups,dc=example,dc=org"`);
    }
  }
  for (const role of ['admin', 'helpdesk', 'auditor'] as const) {
    warnings.push(...listWarnings(`admin.roles.${role}`, config.admin.roles[role]));
  }
  config.enrollment.group_limits.forEach(({ group }, i) => {
    if (isSingleRdn(group)) warnings.push(`enrollment.group_limits[${i}].group: "${group}" is a single RDN, not a group's DN, and ${NEVER}; ${FIX}`);
  });
  return warnings;
}

/** One dangerous switch that is on: its text (a WARNING, the path in it) and, for a NAS's, the NAS's name. */
export interface SwitchWarning {
  readonly text: string;
  readonly nas?: string;
}

/**
 * The safe defaults an admin turned off on purpose (each a `// WARNING:` switch in the
 * schema): start logs them at every start, and check-config prints them, so neither is
 * the only place they are seen.
 */
export function switchWarnings(config: Config): SwitchWarning[] {
  const out: SwitchWarning[] = [];
  for (const c of config.radius.clients) {
    if (c.allow_short_secret) out.push({ nas: c.name, text: 'WARNING: allow_short_secret is on for this NAS: its shared secret may be shorter than 16 characters' });
    if (c.uam?.allow_short_secret) out.push({ nas: c.name, text: 'WARNING: uam.allow_short_secret is on for this NAS: its UAM secret or faskey may be shorter than 16 characters' });
    if (!c.require_message_authenticator) out.push({ nas: c.name, text: 'WARNING: require_message_authenticator is off for this NAS (BlastRADIUS, CVE-2024-3596)' });
  }
  if (config.radius.shared_retransmission_cache && config.store.kind !== 'redis') {
    out.push({ text: 'radius.shared_retransmission_cache needs store.kind: redis; each process keeps its own cache' });
  }
  // A failover promotes a replica; what only the old primary had is lost with it.
  if (config.store.kind === 'redis' && config.store.redis?.sentinel && config.store.redis.min_replicas_ack === 0) {
    out.push({ text: 'WARNING: store.redis.min_replicas_ack is 0 with sentinel: a failover can lose enrollments and sessions people were told are done' });
  }
  if (config.radius.fail_mode === 'open') {
    out.push({
      text: `WARNING: radius.fail_mode is open: while the state store is down, remembered sessions (seen within radius.fail_open_max_age_seconds, ${config.radius.fail_open_max_age_seconds} s) are accepted, revoked ones included`,
    });
  }
  return out;
}

